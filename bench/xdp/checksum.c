// Checksum: the ones'-complement sum of the first 64 bytes as 32 16-bit words, the loop unrolled
// (clang unrolls it for both targets), folded to 16 bits; drop when the sum is 0xffff (a valid
// checksum), pass otherwise. TARGETS.md's "16-bit checksum over 64 bytes, unrolled".
#include "xdp_bench.h"

SEC("xdp")
int checksum(struct xdp_md* ctx) {
  const __u16* p = (const __u16*)(long)ctx->data;
  if ((void*)(p + 32) > (void*)(long)ctx->data_end) return XDP_PASS;
  __u64 sum = 0;
#pragma unroll
  for (int i = 0; i < 32; i++) sum += p[i];
  sum = (sum & 0xffff) + (sum >> 16);
  sum += sum >> 16;
  return (sum & 0xffff) == 0xffff ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

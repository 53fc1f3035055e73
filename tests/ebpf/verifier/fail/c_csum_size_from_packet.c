// why: asks bpf_csum_diff to read as many bytes of a 16-byte stack buffer as a packet byte says
// (up to 252 after rounding to 4).
#include "common.h"

SEC("xdp")
int c_csum_size_from_packet(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 1 > data_end) return XDP_DROP;
  __u32 buf[4] = {1, 2, 3, 4};
  __u32 size = *(__u8*)data & ~3u;
  return bpf_csum_diff(0, 0, buf, size, 0) == 0 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// why: spins until the first byte of the packet changes, which nothing in the loop can make
// happen: the same state repeats forever.
#include "common.h"

SEC("xdp")
int c_infinite_loop(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 1 > data_end) return XDP_DROP;
  volatile __u8* p = data;
  while (*p == 0x42) {
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// why: increments a counter inside the packet with an atomic instruction, which the packet memory
// does not support.
#include "common.h"

SEC("xdp")
int c_atomic_on_packet(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 8 > data_end) return XDP_DROP;
  __sync_fetch_and_add((__u64*)data, 1);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

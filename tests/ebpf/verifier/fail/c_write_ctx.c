// why: assigns to a field of struct xdp_md, which programs may only read.
// expect: context
#include "common.h"

SEC("xdp")
int c_write_ctx(struct xdp_md* ctx) {
  ctx->rx_queue_index = 0;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

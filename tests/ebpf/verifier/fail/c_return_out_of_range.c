// why: returns 7, which is no XDP action (0-4): the data plane could not tell what to do.
// strict: root's kernel does not check XDP return values.
// expect: must return an XDP action
#include "common.h"

SEC("xdp")
int c_return_out_of_range(struct xdp_md* ctx) {
  return ctx->ingress_ifindex ? 7 : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// why: hands a packet pointer to a function that reads 20 bytes from it, without any bounds check
// on either side of the call.
#include "common.h"

__attribute__((noinline)) static int ttl_of(struct iphdr* ip) { return ip->ttl; }

SEC("xdp")
int c_subprog_unchecked(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  return ttl_of(data + 14) < 2 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

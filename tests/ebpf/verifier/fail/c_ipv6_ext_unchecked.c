// why: follows IPv6 extension headers by their length field but checks data_end only for the
// fixed IPv6 header: the next header byte of each extension is read unproven.
#include "common.h"

SEC("xdp")
int c_ipv6_ext_unchecked(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ipv6hdr* ip6 = data + 14;
  if ((void*)(ip6 + 1) > data_end) return XDP_DROP;
  __u8 next = ip6->nexthdr;
  __u8* cursor = (__u8*)(ip6 + 1);
  for (int i = 0; i < 4; i++) {
    if (next != IPPROTO_HOPOPTS && next != IPPROTO_DSTOPTS) break;
    next = cursor[0];
    cursor += (cursor[1] + 1) * 8;
  }
  return next == IPPROTO_TCP ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

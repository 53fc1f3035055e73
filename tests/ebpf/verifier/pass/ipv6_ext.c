// Walks IPv6 extension headers (hop-by-hop, routing, destination options, fragment) with a real,
// bounded loop and drops fragments and routing headers of type 0.
#include "common.h"

struct ipv6_opt_hdr_ {
  __u8 nexthdr;
  __u8 hdrlen;
};

SEC("xdp")
int ipv6_ext(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IPV6)) return XDP_PASS;
  struct ipv6hdr* ip6 = (void*)(eth + 1);
  if ((void*)(ip6 + 1) > data_end) return XDP_DROP;
  __u8 next = ip6->nexthdr;
  void* cursor = ip6 + 1;
  for (int i = 0; i < 6; i++) {
    if (next == IPPROTO_FRAGMENT) return XDP_DROP;
    if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS) break;
    struct ipv6_opt_hdr_* opt = cursor;
    if ((void*)(opt + 1) > data_end) return XDP_DROP;
    if (next == IPPROTO_ROUTING) {
      __u8* type = (__u8*)(opt + 1);
      if ((void*)(type + 1) > data_end) return XDP_DROP;
      if (*type == 0) return XDP_DROP;
    }
    next = opt->nexthdr;
    cursor += (opt->hdrlen + 1) * 8;
  }
  if (next == IPPROTO_TCP) {
    struct tcphdr* tcp = cursor;
    if ((void*)(tcp + 1) > data_end) return XDP_DROP;
    if (tcp->dest == bpf_htons(23)) return XDP_DROP;
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// bpf_fib_lookup's full answer written back into the frame, for the differential test against
// the kernel (kernel_diff_test.cc): the return code, the egress interface, the MTU result, the
// route metric and the next hop's MAC address replace the Ethernet addresses; always XDP_TX.
#include "common.h"

#define AF_INET 2
#define AF_INET6 10

SEC("xdp")
int fib_probe(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct bpf_fib_lookup fib = {};
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* ip = (void*)(eth + 1);
    if ((void*)(ip + 1) > data_end) return XDP_DROP;
    fib.family = AF_INET;
    fib.tos = ip->tos;
    fib.l4_protocol = ip->protocol;
    fib.tot_len = bpf_ntohs(ip->tot_len);
    fib.ipv4_src = ip->saddr;
    fib.ipv4_dst = ip->daddr;
  } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6 = (void*)(eth + 1);
    if ((void*)(ip6 + 1) > data_end) return XDP_DROP;
    fib.family = AF_INET6;
    fib.l4_protocol = ip6->nexthdr;
    fib.tot_len = bpf_ntohs(ip6->payload_len);
    __builtin_memcpy(fib.ipv6_src, &ip6->saddr, 16);
    __builtin_memcpy(fib.ipv6_dst, &ip6->daddr, 16);
  } else {
    return XDP_PASS;
  }
  fib.ifindex = ctx->ingress_ifindex;
  long rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
  eth->h_dest[0] = (__u8)rc;
  eth->h_dest[1] = (__u8)fib.ifindex;
  eth->h_dest[2] = (__u8)(fib.mtu_result >> 8);
  eth->h_dest[3] = (__u8)fib.mtu_result;
  eth->h_dest[4] = (__u8)fib.rt_metric;
  eth->h_dest[5] = (__u8)(rc >> 56);
  __builtin_memcpy(eth->h_source, fib.dmac, ETH_ALEN);
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

// Routes IPv4 and IPv6 in XDP, as the kernel's samples/bpf/xdp_fwd does: asks the host's routing
// table (bpf_fib_lookup) for the next hop, rewrites the MAC addresses, decrements the TTL or hop
// limit (with the IPv4 checksum), and redirects out of the route's interface; whatever the table
// cannot answer goes to the stack.
#include "common.h"

#define AF_INET 2
#define AF_INET6 10

static __always_inline void ip_decrease_ttl(struct iphdr* ip) {
  __u32 check = ip->check;
  check += bpf_htons(0x0100);
  ip->check = (__u16)(check + (check >= 0xFFFF));
  --ip->ttl;
}

SEC("xdp")
int fib_forward(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct bpf_fib_lookup fib = {};
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  struct iphdr* ip = 0;
  struct ipv6hdr* ip6 = 0;
  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    ip = (void*)(eth + 1);
    if ((void*)(ip + 1) > data_end) return XDP_DROP;
    if (ip->ttl <= 1) return XDP_PASS;
    fib.family = AF_INET;
    fib.tos = ip->tos;
    fib.l4_protocol = ip->protocol;
    fib.tot_len = bpf_ntohs(ip->tot_len);
    fib.ipv4_src = ip->saddr;
    fib.ipv4_dst = ip->daddr;
  } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
    ip6 = (void*)(eth + 1);
    if ((void*)(ip6 + 1) > data_end) return XDP_DROP;
    if (ip6->hop_limit <= 1) return XDP_PASS;
    fib.family = AF_INET6;
    fib.flowinfo = *(__be32*)ip6 & bpf_htonl(0x0FFFFFFF);
    fib.l4_protocol = ip6->nexthdr;
    fib.tot_len = bpf_ntohs(ip6->payload_len);
    __builtin_memcpy(fib.ipv6_src, &ip6->saddr, 16);
    __builtin_memcpy(fib.ipv6_dst, &ip6->daddr, 16);
  } else {
    return XDP_PASS;
  }
  fib.ifindex = ctx->ingress_ifindex;
  long rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
  if (rc != BPF_FIB_LKUP_RET_SUCCESS) return XDP_PASS;
  if (ip)
    ip_decrease_ttl(ip);
  else if (ip6)
    ip6->hop_limit--;
  __builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
  __builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
  return bpf_redirect(fib.ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";

// Answers TCP SYNs to port 80 with a SYN cookie computed by bpf_tcp_raw_gen_syncookie_ipv4 (only
// the cookie generation and the bounds it needs; the reply itself is built by synproxy.c).
#include "common.h"

__u64 cookies = 0;

SEC("xdp")
int syncookie(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->ihl != 5) return XDP_PASS;
  if (ip->protocol != IPPROTO_TCP) return XDP_PASS;
  struct tcphdr* tcp = (void*)(ip + 1);
  if ((void*)(tcp + 1) > data_end) return XDP_DROP;
  if (!tcp->syn || tcp->ack || tcp->dest != bpf_htons(80)) return XDP_PASS;
  __s64 value = bpf_tcp_raw_gen_syncookie_ipv4(ip, tcp, sizeof(*tcp));
  if (value < 0) return XDP_DROP;
  cookies++;
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

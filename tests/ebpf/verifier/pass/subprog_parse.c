// Parsing split into bpf-to-bpf functions that receive packet pointers and a pointer into the
// caller's stack, and return through it.
#include "common.h"

struct parsed {
  __u32 l4_off;
  __u8 proto;
};

__attribute__((noinline)) static int parse_ipv4(void* data, void* data_end, struct parsed* out) {
  struct iphdr* ip = data + sizeof(struct ethhdr);
  if ((void*)(ip + 1) > data_end) return -1;
  if (ip->ihl < 5) return -1;
  out->proto = ip->protocol;
  out->l4_off = sizeof(struct ethhdr) + ip->ihl * 4;
  return 0;
}

__attribute__((noinline)) static int port_blocked(__u16 port) {
  return port == 23 || port == 2323;
}

SEC("xdp")
int subprog_parse(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct parsed p = {};
  if (parse_ipv4(data, data_end, &p) < 0) return XDP_DROP;
  if (p.proto != IPPROTO_TCP) return XDP_PASS;
  if (p.l4_off > 14 + 60) return XDP_DROP;
  struct tcphdr* tcp = data + p.l4_off;
  if ((void*)(tcp + 1) > data_end) return XDP_DROP;
  return port_blocked(bpf_ntohs(tcp->dest)) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// Evaluates up to 16 port-range rules held in an array map, one lookup per rule inside a bounded
// loop; the first matching rule gives the verdict.
#include "common.h"

struct rule {
  __u16 lo, hi;
  __u32 action;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, struct rule);
} rules SEC(".maps");

SEC("xdp")
int rule_table(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->ihl != 5) return XDP_PASS;
  if (ip->protocol != IPPROTO_UDP) return XDP_PASS;
  struct udphdr* udp = (void*)(ip + 1);
  if ((void*)(udp + 1) > data_end) return XDP_DROP;
  __u16 port = bpf_ntohs(udp->dest);
  for (__u32 i = 0; i < 16; i++) {
    __u32 k = i;
    struct rule* r = bpf_map_lookup_elem(&rules, &k);
    if (!r) break;
    if (r->action == 0) continue;
    if (port >= r->lo && port <= r->hi) return r->action == 1 ? XDP_DROP : XDP_PASS;
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

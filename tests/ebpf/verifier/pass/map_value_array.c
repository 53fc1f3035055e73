// A map value holding an array of 32 per-port counters, indexed by a masked port number: the
// variable offset into the value is bounded by the mask.
#include "common.h"

struct table {
  __u64 count[32];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct table);
} ports SEC(".maps");

SEC("xdp")
int map_value_array(struct xdp_md* ctx) {
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
  __u32 zero = 0;
  struct table* t = bpf_map_lookup_elem(&ports, &zero);
  if (!t) return XDP_ABORTED;
  __u32 slot = bpf_ntohs(udp->dest) & 31;
  t->count[slot]++;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

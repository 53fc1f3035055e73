// Counts TCP segments by flag combination (the low 6 flag bits index a 64-entry array) and drops
// the invalid SYN+FIN and null-flag combinations.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} flags SEC(".maps");

SEC("xdp")
int tcp_flags(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_DROP;
  if (ip->protocol != IPPROTO_TCP) return XDP_PASS;
  struct tcphdr* tcp = (void*)ip + ip->ihl * 4;
  if ((void*)(tcp + 1) > data_end) return XDP_DROP;
  __u32 f = ((__u8*)tcp)[13] & 0x3f;
  __u64* n = bpf_map_lookup_elem(&flags, &f);
  if (n) __sync_fetch_and_add(n, 1);
  if (f == 0 || (f & 0x03) == 0x03) return XDP_DROP;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

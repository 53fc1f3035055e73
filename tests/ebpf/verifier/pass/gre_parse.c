// Counts GRE-encapsulated packets by their inner protocol, skipping the optional checksum, key and
// sequence fields the flags announce.
#include "common.h"

struct gre_base {
  __be16 flags;
  __be16 proto;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} inner SEC(".maps");

SEC("xdp")
int gre_parse(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->ihl != 5) return XDP_PASS;
  if (ip->protocol != IPPROTO_GRE) return XDP_PASS;
  struct gre_base* gre = (void*)(ip + 1);
  if ((void*)(gre + 1) > data_end) return XDP_DROP;
  __u32 skip = 0;
  if (gre->flags & bpf_htons(0x8000)) skip += 4;
  if (gre->flags & bpf_htons(0x2000)) skip += 4;
  if (gre->flags & bpf_htons(0x1000)) skip += 4;
  struct iphdr* in = (void*)(gre + 1) + skip;
  if ((void*)(in + 1) > data_end) return XDP_DROP;
  __u32 key = gre->proto == bpf_htons(ETH_P_IP) ? 0 : 1;
  __u64* n = bpf_map_lookup_elem(&inner, &key);
  if (n) __sync_fetch_and_add(n, 1);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

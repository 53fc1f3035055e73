// IPv6 destination routing table in an LPM trie keyed by /128 prefixes; matching traffic is
// redirected to the interface the value holds.
#include "common.h"

struct key6 {
  __u32 prefixlen;
  __u8 addr[16];
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 256);
  __type(key, struct key6);
  __type(value, __u32);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} routes SEC(".maps");

SEC("xdp")
int ipv6_lpm(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IPV6)) return XDP_PASS;
  struct ipv6hdr* ip6 = (void*)(eth + 1);
  if ((void*)(ip6 + 1) > data_end) return XDP_DROP;
  struct key6 key = {.prefixlen = 128};
  __builtin_memcpy(key.addr, &ip6->daddr, 16);
  __u32* ifindex = bpf_map_lookup_elem(&routes, &key);
  if (!ifindex) return XDP_PASS;
  return bpf_redirect(*ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";

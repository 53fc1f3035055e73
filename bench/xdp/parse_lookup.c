// Parse + lookup: Ethernet, IPv4 (options allowed) and TCP headers parsed with bounds checks, the
// TCP destination port looked up in a hash map of blocked ports (drop when present), and the
// verdict counted in an array map. TARGETS.md's "parse + hash-map lookup + array counter".
#include "xdp_bench.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u32);
} blocked_ports SEC(".maps");

// Packets per XDP action.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, XDP_REDIRECT + 1);
} verdicts SEC(".maps");

// Counts `action`, which the caller then returns: the returned value stays a constant the
// verifier sees (a value read back from the lookup key's stack slot would not be).
static __always_inline void count(__u32 action) {
  __u32 key = action;
  __u64* n = bpf_map_lookup_elem(&verdicts, &key);
  if (n) __sync_fetch_and_add(n, 1);
}

#define VERDICT(action) \
  do {                  \
    count(action);      \
    return action;      \
  } while (0)

SEC("xdp")
int parse_lookup(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) VERDICT(XDP_DROP);
  if (eth->h_proto != bpf_htons(ETH_P_IP)) VERDICT(XDP_PASS);
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) VERDICT(XDP_DROP);
  if (ip->ihl < 5 || ip->protocol != IPPROTO_TCP) VERDICT(XDP_PASS);
  struct tcphdr* tcp = (void*)ip + ip->ihl * 4;
  if ((void*)(tcp + 1) > data_end) VERDICT(XDP_DROP);
  __u32 port = bpf_ntohs(tcp->dest);
  if (bpf_map_lookup_elem(&blocked_ports, &port)) VERDICT(XDP_DROP);
  VERDICT(XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";

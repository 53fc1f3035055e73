// Drops traffic to (destination address, TCP/UDP port) pairs listed in a hash map and counts hits
// in the value.
#include "common.h"

struct flow {
  __u32 daddr;
  __u16 dport;
  __u8 proto;
  __u8 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, struct flow);
  __type(value, __u64);
} blocked SEC(".maps");

SEC("xdp")
int hash_blocklist(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_DROP;
  void* l4 = (void*)ip + ip->ihl * 4;
  struct flow key = {.daddr = ip->daddr, .proto = ip->protocol};
  if (ip->protocol == IPPROTO_TCP) {
    struct tcphdr* tcp = l4;
    if ((void*)(tcp + 1) > data_end) return XDP_DROP;
    key.dport = tcp->dest;
  } else if (ip->protocol == IPPROTO_UDP) {
    struct udphdr* udp = l4;
    if ((void*)(udp + 1) > data_end) return XDP_DROP;
    key.dport = udp->dest;
  } else {
    return XDP_PASS;
  }
  __u64* hits = bpf_map_lookup_elem(&blocked, &key);
  if (!hits) return XDP_PASS;
  __sync_fetch_and_add(hits, 1);
  return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

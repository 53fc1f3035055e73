// Tracks TCP connections by 5-tuple in an LRU hash: a SYN opens an entry, other segments pass
// only if their connection is known.
#include "common.h"

struct tuple {
  __u32 saddr, daddr;
  __u16 sport, dport;
  __u32 proto;
};

struct conn {
  __u64 packets;
  __u64 last_seen;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct tuple);
  __type(value, struct conn);
} conns SEC(".maps");

SEC("xdp")
int lru_conntrack(struct xdp_md* ctx) {
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
  struct tuple t = {ip->saddr, ip->daddr, tcp->source, tcp->dest, IPPROTO_TCP};
  struct conn* c = bpf_map_lookup_elem(&conns, &t);
  if (c) {
    c->packets++;
    c->last_seen = bpf_ktime_get_ns();
    return XDP_PASS;
  }
  if (tcp->syn && !tcp->ack) {
    struct conn fresh = {1, bpf_ktime_get_ns()};
    bpf_map_update_elem(&conns, &t, &fresh, BPF_NOEXIST);
    return XDP_PASS;
  }
  return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

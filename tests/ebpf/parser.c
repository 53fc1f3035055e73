// A header parser: Ethernet (with up to two VLAN tags), IPv4 (with options) or IPv6, then TCP or
// UDP; drops traffic to a few blocked ports and passes everything else. Counts verdicts in an
// array map and packets per (protocol, destination port) in a hash map.
#include "common.h"

struct flow_key {
  __u8 proto;
  __u8 pad;
  __u16 port;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 5);
  __type(key, __u32);
  __type(value, __u64);
} verdicts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, struct flow_key);
  __type(value, __u64);
} ports SEC(".maps");

static __always_inline int blocked(__u16 port) {
  return port == 23 || port == 445 || (port >= 6000 && port < 6100);
}

static __always_inline int verdict(__u32 action) {
  __u64* count = bpf_map_lookup_elem(&verdicts, &action);
  if (count) __sync_fetch_and_add(count, 1);
  return action;
}

SEC("xdp")
int parse(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return verdict(XDP_ABORTED);
  __u16 proto = eth->h_proto;
  void* cursor = eth + 1;
#pragma unroll
  for (int i = 0; i < 2; i++) {
    if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD)) break;
    struct vlan_hdr* vlan = cursor;
    if ((void*)(vlan + 1) > data_end) return verdict(XDP_DROP);
    proto = vlan->proto;
    cursor = vlan + 1;
  }
  __u8 l4;
  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* ip = cursor;
    if ((void*)(ip + 1) > data_end) return verdict(XDP_DROP);
    if (ip->ihl < 5) return verdict(XDP_DROP);
    if (ip->frag_off & bpf_htons(0x1fff)) return verdict(XDP_PASS);
    l4 = ip->protocol;
    cursor = (void*)ip + ip->ihl * 4;
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6 = cursor;
    if ((void*)(ip6 + 1) > data_end) return verdict(XDP_DROP);
    l4 = ip6->nexthdr;
    cursor = ip6 + 1;
  } else {
    return verdict(XDP_PASS);
  }
  __u16 dport;
  if (l4 == IPPROTO_TCP) {
    struct tcphdr* tcp = cursor;
    if ((void*)(tcp + 1) > data_end) return verdict(XDP_DROP);
    dport = bpf_ntohs(tcp->dest);
  } else if (l4 == IPPROTO_UDP) {
    struct udphdr* udp = cursor;
    if ((void*)(udp + 1) > data_end) return verdict(XDP_DROP);
    dport = bpf_ntohs(udp->dest);
  } else {
    return verdict(XDP_PASS);
  }
  struct flow_key key = {.proto = l4, .port = dport};
  __u64* n = bpf_map_lookup_elem(&ports, &key);
  if (n) {
    __sync_fetch_and_add(n, 1);
  } else {
    __u64 one = 1;
    bpf_map_update_elem(&ports, &key, &one, BPF_NOEXIST);
  }
  return verdict(blocked(dport) ? XDP_DROP : XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";

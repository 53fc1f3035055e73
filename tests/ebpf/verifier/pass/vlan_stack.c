// Counts frames by their innermost EtherType after up to four 802.1Q/802.1ad tags.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u16);
  __type(value, __u64);
} by_type SEC(".maps");

SEC("xdp")
int vlan_stack(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  __u16 proto = eth->h_proto;
  void* cursor = eth + 1;
#pragma unroll
  for (int i = 0; i < 4; i++) {
    if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD)) break;
    struct vlan_hdr* tag = cursor;
    if ((void*)(tag + 1) > data_end) return XDP_DROP;
    proto = tag->proto;
    cursor = tag + 1;
  }
  __u64* n = bpf_map_lookup_elem(&by_type, &proto);
  if (n) {
    __sync_fetch_and_add(n, 1);
  } else {
    __u64 one = 1;
    bpf_map_update_elem(&by_type, &proto, &one, BPF_ANY);
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

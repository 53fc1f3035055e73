// Pushes an 802.1Q tag (VLAN 42) on untagged frames with bpf_xdp_adjust_head, re-deriving every
// packet pointer after the call, and transmits them back.
#include "common.h"

SEC("xdp")
int encap_vlan(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto == bpf_htons(ETH_P_8021Q)) return XDP_PASS;
  struct ethhdr copy;
  __builtin_memcpy(&copy, eth, sizeof(copy));
  if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct vlan_hdr))) return XDP_ABORTED;
  data = (void*)(long)ctx->data;
  data_end = (void*)(long)ctx->data_end;
  eth = data;
  struct vlan_hdr* tag = (void*)(eth + 1);
  if ((void*)(tag + 1) > data_end) return XDP_ABORTED;
  __builtin_memcpy(eth->h_dest, copy.h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_source, copy.h_source, ETH_ALEN);
  eth->h_proto = bpf_htons(ETH_P_8021Q);
  tag->tci = bpf_htons(42);
  tag->proto = copy.h_proto;
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

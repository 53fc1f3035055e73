// bpf_xdp_adjust_head both ways: a frame with an 802.1Q tag loses it (XDP_PASS); an untagged IPv4
// frame gains a tag with VLAN id 100 (XDP_TX); anything else passes. A failed adjustment aborts.
#include "common.h"

SEC("xdp")
int vlan(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_PASS;
  if (eth->h_proto == bpf_htons(ETH_P_8021Q)) {
    struct vlan_hdr* tag = (void*)(eth + 1);
    if ((void*)(tag + 1) > data_end) return XDP_DROP;
    unsigned char macs[2 * ETH_ALEN];
    __builtin_memcpy(macs, eth, sizeof(macs));
    if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct vlan_hdr))) return XDP_ABORTED;
    data = (void*)(long)ctx->data;
    data_end = (void*)(long)ctx->data_end;
    eth = data;
    if ((void*)(eth + 1) > data_end) return XDP_ABORTED;
    __builtin_memcpy(eth, macs, sizeof(macs));
    return XDP_PASS;
  }
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  unsigned char macs[2 * ETH_ALEN];
  __builtin_memcpy(macs, eth, sizeof(macs));
  if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct vlan_hdr))) return XDP_ABORTED;
  data = (void*)(long)ctx->data;
  data_end = (void*)(long)ctx->data_end;
  eth = data;
  struct vlan_hdr* tag = (void*)(eth + 1);
  if ((void*)(tag + 1) > data_end) return XDP_ABORTED;
  __builtin_memcpy(eth, macs, sizeof(macs));
  eth->h_proto = bpf_htons(ETH_P_8021Q);
  tag->tci = bpf_htons(100);
  tag->proto = bpf_htons(ETH_P_IP);
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

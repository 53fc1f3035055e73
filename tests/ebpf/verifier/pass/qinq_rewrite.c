// Rewrites the outer VLAN id of 802.1ad (QinQ) frames through a translation map and pops the
// outer tag of frames mapped to VLAN 0, calling a subprogram that checks the new id.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u16);
  __type(value, __u16);
} translate SEC(".maps");

__attribute__((noinline)) static int valid_vid(__u16 vid) { return vid > 0 && vid < 4095; }

SEC("xdp")
int qinq_rewrite(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_8021AD)) return XDP_PASS;
  struct vlan_hdr* outer = (void*)(eth + 1);
  if ((void*)(outer + 1) > data_end) return XDP_DROP;
  __u16 vid = bpf_ntohs(outer->tci) & 0x0fff;
  __u16* to = bpf_map_lookup_elem(&translate, &vid);
  if (!to) return XDP_PASS;
  if (!valid_vid(*to)) return XDP_DROP;
  outer->tci = bpf_htons((bpf_ntohs(outer->tci) & 0xf000) | *to);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// Filters VXLAN (UDP 4789) by virtual network identifier: only VNIs present in a hash map pass,
// after the inner Ethernet header is proven present.
#include "common.h"

struct vxlanhdr_ {
  __be32 flags;
  __be32 vni;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u32);
} vnis SEC(".maps");

SEC("xdp")
int vxlan_parse(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->ihl != 5) return XDP_PASS;
  if (ip->protocol != IPPROTO_UDP) return XDP_PASS;
  struct udphdr* udp = (void*)(ip + 1);
  if ((void*)(udp + 1) > data_end) return XDP_DROP;
  if (udp->dest != bpf_htons(4789)) return XDP_PASS;
  struct vxlanhdr_* vx = (void*)(udp + 1);
  struct ethhdr* inner = (void*)(vx + 1);
  if ((void*)(inner + 1) > data_end) return XDP_DROP;
  __u32 vni = bpf_ntohl(vx->vni) >> 8;
  return bpf_map_lookup_elem(&vnis, &vni) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

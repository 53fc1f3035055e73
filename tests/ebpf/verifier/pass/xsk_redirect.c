// Hands UDP frames to the AF_XDP socket of the receive queue they arrived on, when one is bound
// (the lookup), as AF_XDP applications' default program does; the rest go to the stack.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u32);
} xsks SEC(".maps");

SEC("xdp")
int xsk_redirect(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP) return XDP_PASS;
  __u32 queue = ctx->rx_queue_index;
  if (bpf_map_lookup_elem(&xsks, &queue)) return bpf_redirect_map(&xsks, queue, XDP_PASS);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

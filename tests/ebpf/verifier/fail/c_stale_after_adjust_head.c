// why: writes through the Ethernet header pointer taken before bpf_xdp_adjust_head: after the call
// the packet may have moved, and the old pointer is no longer proven.
// expect: resized
#include "common.h"

SEC("xdp")
int c_stale_after_adjust_head(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (bpf_xdp_adjust_head(ctx, -4)) return XDP_ABORTED;
  eth->h_proto = bpf_htons(ETH_P_8021Q);
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

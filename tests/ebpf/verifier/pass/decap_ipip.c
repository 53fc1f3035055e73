// Removes the outer IPv4 header of IP-in-IP packets (protocol 4) with bpf_xdp_adjust_head.
#include "common.h"

SEC("xdp")
int decap_ipip(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* outer = (void*)(eth + 1);
  if ((void*)(outer + 1) > data_end) return XDP_DROP;
  if (outer->protocol != IPPROTO_IPIP || outer->ihl != 5) return XDP_PASS;
  struct ethhdr copy;
  __builtin_memcpy(&copy, eth, sizeof(copy));
  if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct iphdr))) return XDP_ABORTED;
  data = (void*)(long)ctx->data;
  data_end = (void*)(long)ctx->data_end;
  eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_ABORTED;
  __builtin_memcpy(eth, &copy, sizeof(copy));
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

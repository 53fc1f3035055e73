// Sends IPv6 out of interface 3 and everything else up the stack.
#include "common.h"

SEC("xdp")
int redirect_ifindex(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto == bpf_htons(ETH_P_IPV6)) return bpf_redirect(3, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// why: reads the EtherType first and checks the length afterwards: the read happens on frames
// shorter than 14 bytes too.
#include "common.h"

SEC("xdp")
int c_check_after_use(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  volatile __u16 proto = eth->h_proto;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  return proto == bpf_htons(ETH_P_IP) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

// why: checks 12 bytes (the two MAC addresses) and then writes the EtherType at bytes 12-13.
// expect: only 12 bytes are proven
#include "common.h"

SEC("xdp")
int c_write_past_check(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if (data + 12 > data_end) return XDP_DROP;
  eth->h_proto = bpf_htons(ETH_P_IP);
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

// Reflects every frame to its sender: swaps the Ethernet addresses in place and transmits.
#include "common.h"

SEC("xdp")
int mac_reflect(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  __u16* w = data;
  __u16 a = w[0], b = w[1], c = w[2];
  w[0] = w[3];
  w[1] = w[4];
  w[2] = w[5];
  w[3] = a;
  w[4] = b;
  w[5] = c;
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

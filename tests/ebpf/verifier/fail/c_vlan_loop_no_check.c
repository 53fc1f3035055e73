// why: walks up to four VLAN tags but checks the bounds only of the first: the second and later
// tags are read unproven.
#include "common.h"

SEC("xdp")
int c_vlan_loop_no_check(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  struct vlan_hdr* tag = (void*)(eth + 1);
  if ((void*)(tag + 1) > data_end) return XDP_DROP;
  __u16 proto = eth->h_proto;
  for (int i = 0; i < 4; i++) {
    if (proto != bpf_htons(ETH_P_8021Q)) break;
    proto = tag[i].proto;
  }
  return proto == bpf_htons(ETH_P_IP) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

// why: finds the TCP header at ip + ihl * 4 and reads its ports without checking that the TCP
// header is present at that variable offset.
#include "common.h"

SEC("xdp")
int c_ihl_unchecked(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_DROP;
  struct tcphdr* tcp = (void*)ip + ip->ihl * 4;
  return tcp->dest == bpf_htons(80) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

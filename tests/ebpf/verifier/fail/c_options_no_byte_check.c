// why: walks TCP options up to the header length the packet claims (doff * 4) without checking
// each option byte against data_end: a truncated segment with doff = 15 is read past its end.
#include "common.h"

SEC("xdp")
int c_options_no_byte_check(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->ihl != 5) return XDP_DROP;
  struct tcphdr* tcp = (void*)(ip + 1);
  if ((void*)(tcp + 1) > data_end) return XDP_DROP;
  __u8* opt = (__u8*)(tcp + 1);
  __u32 len = tcp->doff * 4 - sizeof(*tcp);
  for (__u32 i = 0; i < 40 && i < len; i++)
    if (opt[i] == 2) return XDP_DROP;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// Drops IPv4 packets carrying the source-route options (LSRR 131, SSRR 137), walking the options
// area whose length comes from the header (a variable packet offset proven before each read).
#include "common.h"

SEC("xdp")
int ipv4_options(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_DROP;
  __u32 optlen = ip->ihl * 4;
  if (optlen <= sizeof(*ip)) return XDP_PASS;
  optlen -= sizeof(*ip);
  __u8* opts = (__u8*)(ip + 1);
  for (__u32 i = 0; i < 40; i++) {
    if (i >= optlen) break;
    __u8* p = opts + i;
    if ((void*)(p + 1) > data_end) return XDP_DROP;
    if (*p == 0) break;
    if (*p == 131 || *p == 137) return XDP_DROP;
    if (*p == 1) continue;
    if ((void*)(p + 2) > data_end) return XDP_DROP;
    if (p[1] < 2) return XDP_DROP;
    i += p[1] - 1;
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

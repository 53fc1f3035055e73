// why: reads the IPv4 header after checking only that the Ethernet header is present: a 20-byte
// frame would have the program read past data_end.
// expect: proven before data_end
#include "common.h"

SEC("xdp")
int c_missing_ip_check(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  struct iphdr* ip = (void*)(eth + 1);
  return ip->protocol == IPPROTO_TCP ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

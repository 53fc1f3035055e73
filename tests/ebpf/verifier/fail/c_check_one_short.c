// why: the bounds check is one byte short (sizeof - 1), so the last byte of the IPv4 header read
// (the destination address ends at byte 34) may lie past data_end.
// expect: proven before data_end
#include "common.h"

SEC("xdp")
int c_check_one_short(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct iphdr* ip = data + sizeof(struct ethhdr);
  if ((void*)ip + sizeof(*ip) - 1 > data_end) return XDP_DROP;
  return ip->daddr == 0 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

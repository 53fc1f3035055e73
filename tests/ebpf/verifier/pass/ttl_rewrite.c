// Decrements the IPv4 TTL and fixes the header checksum with bpf_csum_diff over the changed word.
#include "common.h"

static __always_inline __u16 fold(__u32 csum) {
  csum = (csum & 0xffff) + (csum >> 16);
  csum = (csum & 0xffff) + (csum >> 16);
  return (__u16)~csum;
}

SEC("xdp")
int ttl_rewrite(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_DROP;
  if (ip->ttl <= 1) return XDP_DROP;
  __u32 before = *(__u32*)((void*)ip + 8);
  ip->ttl--;
  __u32 after = *(__u32*)((void*)ip + 8);
  __s64 sum = bpf_csum_diff(&before, sizeof(before), &after, sizeof(after), ~ip->check & 0xffff);
  if (sum < 0) return XDP_ABORTED;
  ip->check = fold((__u32)sum);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

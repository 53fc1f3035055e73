// A reflector: for IPv4 frames swaps the Ethernet addresses, the IP addresses and (TCP/UDP) the
// ports, decrements the TTL, recomputes the IPv4 header checksum with bpf_csum_diff, and returns
// XDP_TX. Anything else passes untouched; a TTL of 0 or 1 drops.
#include "common.h"

static __always_inline __u16 fold(__u64 sum) {
#pragma unroll
  for (int i = 0; i < 4; i++) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum;
}

SEC("xdp/reflect")
int reflect(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_PASS;
  if (ip->ihl != 5) return XDP_PASS;
  if (ip->ttl <= 1) return XDP_DROP;

  unsigned char mac[ETH_ALEN];
  __builtin_memcpy(mac, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, mac, ETH_ALEN);

  __be32 addr = ip->saddr;
  ip->saddr = ip->daddr;
  ip->daddr = addr;
  ip->ttl--;
  ip->check = 0;
  __s64 sum = bpf_csum_diff(0, 0, (__be32*)ip, sizeof(*ip), 0);
  ip->check = fold((__u32)sum);

  if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
    __be16* ports = (void*)(ip + 1);
    if ((void*)(ports + 2) > data_end) return XDP_DROP;
    __be16 p = ports[0];
    ports[0] = ports[1];
    ports[1] = p;  // the transport checksum is a sum: swapping two fields leaves it right
  }
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

// Answers ICMP echo requests in place: swaps MAC and IPv4 addresses, turns the type into a reply,
// patches the ICMP checksum incrementally, and transmits.
#include "common.h"

// From linux/icmp.h, which pulls in libc headers a BPF build does not have.
struct icmphdr {
  __u8 type;
  __u8 code;
  __sum16 checksum;
  __be16 id;
  __be16 sequence;
};
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8

SEC("xdp")
int icmp_echo(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->ihl != 5) return XDP_PASS;
  if (ip->protocol != IPPROTO_ICMP) return XDP_PASS;
  struct icmphdr* icmp = (void*)(ip + 1);
  if ((void*)(icmp + 1) > data_end) return XDP_DROP;
  if (icmp->type != ICMP_ECHO) return XDP_PASS;
  unsigned char mac[ETH_ALEN];
  __builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, mac, ETH_ALEN);
  __u32 addr = ip->saddr;
  ip->saddr = ip->daddr;
  ip->daddr = addr;
  icmp->type = ICMP_ECHOREPLY;
  __u32 sum = icmp->checksum + bpf_htons(ICMP_ECHO << 8);
  icmp->checksum = (__u16)(sum + (sum >> 16));
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

// Drops UDP datagrams whose first 16 payload bytes contain the byte pattern "\xde\xad".
#include "common.h"

SEC("xdp")
int udp_payload_scan(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->ihl != 5) return XDP_PASS;
  if (ip->protocol != IPPROTO_UDP) return XDP_PASS;
  struct udphdr* udp = (void*)(ip + 1);
  if ((void*)(udp + 1) > data_end) return XDP_DROP;
  __u8* payload = (__u8*)(udp + 1);
  for (int i = 0; i < 16; i++) {
    if ((void*)(payload + i + 2) > data_end) break;
    if (payload[i] == 0xde && payload[i + 1] == 0xad) return XDP_DROP;
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

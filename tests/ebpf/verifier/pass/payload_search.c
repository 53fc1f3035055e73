// Searches the first 128 bytes of TCP payload for a 4-byte signature (a tenant's simple content
// filter): a loop over a variable-offset packet pointer, re-proven at each step.
#include "common.h"

SEC("xdp")
int payload_search(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->ihl != 5) return XDP_PASS;
  if (ip->protocol != IPPROTO_TCP) return XDP_PASS;
  struct tcphdr* tcp = (void*)(ip + 1);
  if ((void*)(tcp + 1) > data_end) return XDP_DROP;
  __u32 doff = tcp->doff * 4;
  if (doff < sizeof(*tcp) || doff > 60) return XDP_DROP;
  __u8* payload = (__u8*)tcp + doff;
  for (__u32 i = 0; i < 128; i++) {
    __u8* at = payload + i;
    if ((void*)(at + 4) > data_end) break;
    if (at[0] == 'E' && at[1] == 'V' && at[2] == 'I' && at[3] == 'L') return XDP_DROP;
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

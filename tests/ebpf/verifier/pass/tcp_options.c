// Finds the MSS option of a TCP SYN by walking the options one by one (at most 40 bytes, each
// byte read bounded against data_end) and drops SYNs that announce an MSS below 536.
#include "common.h"

SEC("xdp")
int tcp_options(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_DROP;
  if (ip->ihl != 5 || ip->protocol != IPPROTO_TCP) return XDP_PASS;
  struct tcphdr* tcp = (void*)(ip + 1);
  if ((void*)(tcp + 1) > data_end) return XDP_DROP;
  if (!tcp->syn) return XDP_PASS;
  __u8* opt = (__u8*)(tcp + 1);
  __u32 len = tcp->doff * 4;
  if (len < sizeof(*tcp)) return XDP_DROP;
  len -= sizeof(*tcp);
  for (__u32 i = 0; i < 40; i++) {
    if (i >= len) break;
    __u8* p = opt + i;
    if ((void*)(p + 1) > data_end) break;
    __u8 kind = *p;
    if (kind == 0) break;
    if (kind == 1) continue;
    if ((void*)(p + 2) > data_end) break;
    __u8 olen = p[1];
    if (kind == 2 && olen == 4) {
      if ((void*)(p + 4) > data_end) break;
      __u16 mss = (p[2] << 8) | p[3];
      return mss < 536 ? XDP_DROP : XDP_PASS;
    }
    if (olen < 2) break;
    i += olen - 1;
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

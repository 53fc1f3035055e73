// A SYN-flood shield in the style of the kernel's xdp_synproxy selftest, IPv4 only: a SYN is
// answered at once with a SYN-ACK whose sequence number is a SYN cookie (XDP_TX, no state kept);
// an ACK passes only when it acknowledges a valid cookie; everything else passes.
#include "common.h"

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

static __always_inline __u16 fold(__u64 sum) {
#pragma unroll
  for (int i = 0; i < 4; i++) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum;
}

struct pseudo_header {
  __be32 saddr;
  __be32 daddr;
  __u8 zero;
  __u8 protocol;
  __be16 length;
};

SEC("xdp")
int synproxy(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_PASS;
  if (ip->ihl != 5 || ip->protocol != IPPROTO_TCP) return XDP_PASS;
  struct tcphdr* tcp = (void*)(ip + 1);
  if ((void*)(tcp + 1) > data_end) return XDP_PASS;
  __u8 flags = ((__u8*)tcp)[13];

  if ((flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_ACK) {
    return bpf_tcp_raw_check_syncookie_ipv4(ip, tcp) == 0 ? XDP_PASS : XDP_DROP;
  }
  if ((flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) != TCP_FLAG_SYN) return XDP_PASS;

  // The helper reads the options (for the MSS): hand it exactly the header, of a length the
  // verifier can see.
  __s64 value;
  __u32 tcp_len;
  if (tcp->doff == 5) {
    tcp_len = 20;
    value = bpf_tcp_raw_gen_syncookie_ipv4(ip, tcp, 20);
  } else if (tcp->doff == 6) {
    if ((void*)tcp + 24 > data_end) return XDP_DROP;
    tcp_len = 24;
    value = bpf_tcp_raw_gen_syncookie_ipv4(ip, tcp, 24);
  } else {
    return XDP_PASS;
  }
  if (value < 0) return XDP_DROP;
  __u32 cookie = (__u32)value;
  __u16 mss = value >> 32;

  // Cut anything after the TCP header (a payload, Ethernet padding).
  int extra = (int)(data_end - (void*)tcp) - (int)tcp_len;
  if (extra > 0 && bpf_xdp_adjust_tail(ctx, -extra)) return XDP_ABORTED;
  data = (void*)(long)ctx->data;
  data_end = (void*)(long)ctx->data_end;
  eth = data;
  ip = (void*)(eth + 1);
  tcp = (void*)(ip + 1);
  if ((void*)(tcp + 1) > data_end) return XDP_ABORTED;

  unsigned char mac[ETH_ALEN];
  __builtin_memcpy(mac, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, mac, ETH_ALEN);

  __be32 addr = ip->saddr;
  ip->saddr = ip->daddr;
  ip->daddr = addr;
  ip->ttl = 64;
  ip->tot_len = bpf_htons(sizeof(*ip) + tcp_len);
  ip->frag_off = 0;
  ip->check = 0;
  ip->check = fold((__u32)bpf_csum_diff(0, 0, (__be32*)ip, sizeof(*ip), 0));

  __be16 port = tcp->source;
  tcp->source = tcp->dest;
  tcp->dest = port;
  tcp->ack_seq = bpf_htonl(bpf_ntohl(tcp->seq) + 1);
  tcp->seq = bpf_htonl(cookie);
  ((__u8*)tcp)[13] = TCP_FLAG_SYN | TCP_FLAG_ACK;
  tcp->window = bpf_htons(65535);
  tcp->urg_ptr = 0;
  tcp->check = 0;

  struct pseudo_header ph = {.saddr = ip->saddr, .daddr = ip->daddr, .protocol = IPPROTO_TCP,
                             .length = bpf_htons(tcp_len)};
  __s64 sum = bpf_csum_diff(0, 0, (__be32*)&ph, sizeof(ph), 0);
  if (tcp_len == 24) {
    if ((void*)tcp + 24 > data_end) return XDP_ABORTED;
    __u8* opt = (void*)(tcp + 1);
    opt[0] = 2;  // MSS, the one the cookie encodes
    opt[1] = 4;
    opt[2] = mss >> 8;
    opt[3] = mss & 0xff;
    sum = bpf_csum_diff(0, 0, (__be32*)tcp, 24, (__u32)sum);
  } else {
    sum = bpf_csum_diff(0, 0, (__be32*)tcp, 20, (__u32)sum);
  }
  tcp->check = fold((__u32)sum);
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

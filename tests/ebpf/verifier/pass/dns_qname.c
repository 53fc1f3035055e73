// Hashes the query name of DNS requests (UDP port 53) label by label, every byte read checked
// against data_end, and drops names on a hash blocklist: nested loops of up to 4 labels of up to
// 15 bytes (longer names pass unhashed), the shape of a real DNS filter.
#include "common.h"

struct dnshdr {
  __be16 id, flags, qdcount, ancount, nscount, arcount;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u64);
  __type(value, __u8);
} blocked_names SEC(".maps");

SEC("xdp")
int dns_qname(struct xdp_md* ctx) {
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
  if (udp->dest != bpf_htons(53)) return XDP_PASS;
  struct dnshdr* dns = (void*)(udp + 1);
  if ((void*)(dns + 1) > data_end) return XDP_DROP;
  if (dns->qdcount != bpf_htons(1)) return XDP_PASS;
  __u8* p = (__u8*)(dns + 1);
  __u64 hash = 14695981039346656037ull;
  __u32 pos = 0;
  for (int label = 0; label < 4; label++) {
    if (pos > 512) return XDP_DROP;
    __u8* lp = p + pos;
    if ((void*)(lp + 1) > data_end) return XDP_DROP;
    __u8 len = *lp;
    if (len == 0) break;
    if (len > 15) return XDP_PASS;
    pos++;
    for (int i = 0; i < 15; i++) {
      if (i >= len) break;
      __u8* c = p + pos;
      if (pos > 512 || (void*)(c + 1) > data_end) return XDP_DROP;
      hash = (hash ^ (*c | 0x20)) * 1099511628211ull;
      pos++;
    }
    hash = (hash ^ '.') * 1099511628211ull;
  }
  return bpf_map_lookup_elem(&blocked_names, &hash) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

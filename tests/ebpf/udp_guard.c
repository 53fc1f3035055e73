// A tenant's filter, for the tenant program chain's tests (tenant/program_chain.h): IPv4 UDP to
// the port in `blocked` (element 0, host order; 0 = none) is dropped; UDP whose payload starts
// with 'a' has that byte made 'A' (and the checksum cleared, which IPv4 allows) and passes; UDP
// to port 7 (echo) is sent back where it came from with addresses and ports swapped. `seen`
// counts passed [0], dropped [1] and echoed [2] packets.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} blocked SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 3);
  __type(key, __u32);
  __type(value, __u64);
} seen SEC(".maps");

static __always_inline int count(__u32 what, int verdict) {
  __u64* n = bpf_map_lookup_elem(&seen, &what);
  if (n) __sync_fetch_and_add(n, 1);
  return verdict;
}

SEC("xdp")
int udp_guard(struct xdp_md* ctx) {
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = (void*)(long)ctx->data;
  struct iphdr* ip = ipv4_of(eth, data_end, IPPROTO_UDP);
  if (!ip) return XDP_PASS;
  struct udphdr* udp = (void*)(ip + 1);
  if ((void*)(udp + 1) > data_end) return XDP_PASS;
  __u32 zero = 0;
  __u32* port = bpf_map_lookup_elem(&blocked, &zero);
  if (port && *port != 0 && udp->dest == bpf_htons((__u16)*port)) return count(1, XDP_DROP);
  if (udp->dest == bpf_htons(7)) {
    swap_macs(eth);
    __be32 addr = ip->saddr;
    ip->saddr = ip->daddr;
    ip->daddr = addr;  // the header checksum is a sum: swapping two words leaves it right
    __be16 p = udp->source;
    udp->source = udp->dest;
    udp->dest = p;
    return count(2, XDP_TX);
  }
  unsigned char* payload = (void*)(udp + 1);
  if ((void*)(payload + 1) <= data_end && payload[0] == 'a') {
    payload[0] = 'A';
    udp->check = 0;
  }
  return count(0, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";

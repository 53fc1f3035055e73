// Drops ARP replies whose sender address is not in an allow list (ARP spoofing guard).
#include "common.h"

// From linux/if_arp.h, which pulls in libc headers a BPF build does not have.
struct arphdr {
  __be16 ar_hrd;
  __be16 ar_pro;
  unsigned char ar_hln;
  unsigned char ar_pln;
  __be16 ar_op;
};
#define ARPOP_REPLY 2

struct arp_ipv4 {
  struct arphdr hdr;
  unsigned char sha[ETH_ALEN];
  __u32 sip;
  unsigned char tha[ETH_ALEN];
  __u32 tip;
} __attribute__((packed));

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u8);
} allowed SEC(".maps");

SEC("xdp")
int arp_guard(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_ARP)) return XDP_PASS;
  struct arp_ipv4* arp = (void*)(eth + 1);
  if ((void*)(arp + 1) > data_end) return XDP_DROP;
  if (arp->hdr.ar_op != bpf_htons(ARPOP_REPLY)) return XDP_PASS;
  __u32 sip = arp->sip;
  return bpf_map_lookup_elem(&allowed, &sip) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

// Shared definitions for vigil's XDP test programs (compiled with clang -target bpf).
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct vlan_hdr {
  __be16 tci;
  __be16 proto;
};

// The IPv4 header (without options) of an Ethernet frame carrying `protocol`, or NULL.
static __always_inline struct iphdr* ipv4_of(struct ethhdr* eth, void* data_end, __u8 protocol) {
  if ((void*)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) return 0;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != protocol) return 0;
  return ip;
}

// Swaps an Ethernet frame's source and destination addresses (for a reply sent with XDP_TX).
static __always_inline void swap_macs(struct ethhdr* eth) {
  unsigned char mac[ETH_ALEN];
  __builtin_memcpy(mac, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
}

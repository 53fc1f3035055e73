// Shared definitions of the XDP (eXpress Data Path) offloads vigil ships (offloads/*.bpf.c):
// kernel headers, the Internet checksum arithmetic, and a per-CPU counter array. Compiled with
// `clang -O2 -g -target bpf`; each program runs unchanged in vigil and in the Linux kernel.
#pragma once

// The kernel's types first: libbpf's headers use them.
// clang-format off
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
// clang-format on

#ifndef ETH_P_8021Q
#define ETH_P_8021Q 0x8100
#endif

struct vlan_hdr {
  __be16 tci;
  __be16 proto;
};

// Folds a 64-bit ones'-complement sum to 16 bits and complements it: the checksum field.
static __always_inline __u16 csum_fold(__u64 sum) {
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)~sum;
}

// RFC 1624 incremental update: the checksum `check` of data in which the 32-bit word `from`
// became `to`. Both words are as they lie in memory (network order loaded little-endian);
// `odd` says the word starts at an odd offset from the checksummed data's start, where its
// bytes fall across 16-bit words: the sum of its bytes then equals the sum of the byte-swapped
// word at an even offset (2^16 = 1 modulo 2^16 - 1).
static __always_inline __u16 csum_replace4(__u16 check, __u32 from, __u32 to, int odd) {
  if (odd) {
    from = __builtin_bswap32(from);
    to = __builtin_bswap32(to);
  }
  __u64 sum = (__u16)~check;
  sum += (~from & 0xffff) + (~from >> 16);
  sum += (to & 0xffff) + (to >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)~sum;
}

// The same for a 16-bit word at an even offset.
static __always_inline __u16 csum_replace2(__u16 check, __u16 from, __u16 to) {
  __u64 sum = (__u16)~check;
  sum += (__u16)~from;
  sum += to;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)~sum;
}

// Adds one to counter `index` of a per-CPU array map of __u64.
#define COUNT(map, index)                                       \
  do {                                                          \
    __u32 counter_key_ = (index);                               \
    __u64* counter_ = bpf_map_lookup_elem(&map, &counter_key_); \
    if (counter_) *counter_ += 1;                               \
  } while (0)

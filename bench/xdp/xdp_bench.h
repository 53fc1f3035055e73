// The eBPF benchmark programs' one header, so that each program's C source compiles unchanged
// both for the BPF target (clang -O2 -target bpf: what vigil's JIT and interpreter and the
// kernel's JIT run) and natively (clang -O2 for the host: the native figure beside them).
//
// Natively, struct xdp_md is vigil's XdpContext (ebpf/xdp.h: 64-bit data pointers, as the
// loader's rewrite of context loads makes them for BPF), and the map helpers call vigil's own maps
// (ebpf/maps.h) — the same Map objects the BPF program's lookups reach; the benchmark binds each
// map variable to its Map by storing the Map's address in the variable's first 8 bytes.
#pragma once

// linux/types.h first, and linux/bpf.h before libbpf's headers:
// clang-format off
#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>

#ifdef __bpf__

#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
// clang-format on

#else  // native

// The kernel's map types and XDP actions; its struct xdp_md (32-bit fields) under another name.
#define xdp_md xdp_md_kernel
#include <linux/bpf.h>
#undef xdp_md
#include <bpf/bpf_endian.h>

struct xdp_md {
  __u64 data;
  __u64 data_end;
  __u64 data_meta;
  __u32 ingress_ifindex;
  __u32 rx_queue_index;
  __u32 egress_ifindex;
};

// Weak, so that every program's LICENSE links into one binary.
#define SEC(name) __attribute__((weak))
#define __uint(name, val) int(*name)[val]
#define __type(name, val) __typeof__(val)* name

// Defined by the benchmark (bench/ebpf_bench.cc): Map::Lookup(key, cpu 0) of `map`.
void* vigil_map_lookup(void* map, const void* key);

static inline __attribute__((always_inline)) void* bpf_map_lookup_elem(void* map, const void* key) {
  return vigil_map_lookup(*(void**)map, key);
}

#endif

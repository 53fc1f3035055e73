// Keeps the time between frames in a 16-bucket log2 histogram (an array indexed by a computed,
// masked bucket), using bpf_ktime_get_boot_ns.
#include "common.h"

__u64 last_ns = 0;

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} histogram SEC(".maps");

SEC("xdp")
int latency_stats(struct xdp_md* ctx) {
  __u64 now = bpf_ktime_get_boot_ns();
  __u64 gap = now - last_ns;
  last_ns = now;
  __u32 bucket = 0;
  for (int i = 0; i < 15; i++) {
    if (gap < 1024) break;
    gap >>= 2;
    bucket++;
  }
  __u64* n = bpf_map_lookup_elem(&histogram, &bucket);
  if (n) __sync_fetch_and_add(n, 1);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// Samples one frame in 64 with bpf_get_prandom_u32 and counts samples per CPU.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 128);
  __type(key, __u32);
  __type(value, __u64);
} per_cpu SEC(".maps");

SEC("xdp")
int sampler(struct xdp_md* ctx) {
  if ((bpf_get_prandom_u32() & 63) != 0) return XDP_PASS;
  __u32 cpu = bpf_get_smp_processor_id();
  if (cpu >= 128) return XDP_PASS;
  __u64* n = bpf_map_lookup_elem(&per_cpu, &cpu);
  if (n) __sync_fetch_and_add(n, 1);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// why: looks up a CPU map entry, which programs may only redirect to.
// expect: a cpumap is only for bpf_redirect_map
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_CPUMAP);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

SEC("xdp")
int c_cpumap_lookup(struct xdp_md* ctx) {
  __u32 key = 0;
  if (bpf_map_lookup_elem(&cpus, &key)) return XDP_DROP;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

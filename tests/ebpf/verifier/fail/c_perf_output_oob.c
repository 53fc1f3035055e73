// why: bpf_perf_event_output copies 16 bytes from an 8-byte map value: 8 bytes past its end.
// expect: outside the 8-byte value
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} samples SEC(".maps");

SEC("xdp")
int c_perf_output_oob(struct xdp_md* ctx) {
  __u32 zero = 0;
  __u64* v = bpf_map_lookup_elem(&stats, &zero);
  if (!v) return XDP_PASS;
  bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, v, 16);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

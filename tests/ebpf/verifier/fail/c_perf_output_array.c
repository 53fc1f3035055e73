// why: bpf_perf_event_output into an array map, which holds no perf events.
// expect: bpf_perf_event_output needs a perf event array
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} samples SEC(".maps");

SEC("xdp")
int c_perf_output_array(struct xdp_md* ctx) {
  __u32 v = ctx->ingress_ifindex;
  bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, &v, sizeof(v));
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// Maps declared the old way, before BTF: struct bpf_map_def in the `maps` section (libbpf 1.0
// dropped it; older objects still carry it). A perf event array declared with max_entries 0 gets
// one entry per processor, as libbpf gives it.
#include "common.h"

struct legacy_map_def {
  unsigned int type;
  unsigned int key_size;
  unsigned int value_size;
  unsigned int max_entries;
  unsigned int map_flags;
};

struct legacy_map_def SEC("maps") counts = {
    .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 4};
struct legacy_map_def SEC("maps") samples = {
    .type = BPF_MAP_TYPE_PERF_EVENT_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 0};

SEC("xdp")
int legacy(struct xdp_md* ctx) {
  __u32 key = 0;
  __u64* count = bpf_map_lookup_elem(&counts, &key);
  if (count) __sync_fetch_and_add(count, 1);
  __u32 ifindex = ctx->ingress_ifindex;
  bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, &ifindex, sizeof(ifindex));
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

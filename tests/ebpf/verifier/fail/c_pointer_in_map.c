// why: stores the packet's address into a map value, from which the tenant's control plane can
// read it: a kernel/host address disclosed.
// strict: root's kernel allows storing pointers into maps.
// expect: stores a pointer
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} last SEC(".maps");

SEC("xdp")
int c_pointer_in_map(struct xdp_md* ctx) {
  __u32 zero = 0;
  __u64* v = bpf_map_lookup_elem(&last, &zero);
  if (!v) return XDP_PASS;
  *v = ctx->data;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

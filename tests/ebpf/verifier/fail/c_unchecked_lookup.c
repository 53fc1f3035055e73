// why: increments the counter that bpf_map_lookup_elem returns without checking for NULL: a key
// that is not in the hash map makes the program write through a NULL pointer.
// expect: may be NULL
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} counts SEC(".maps");

SEC("xdp")
int c_unchecked_lookup(struct xdp_md* ctx) {
  __u32 key = ctx->ingress_ifindex;
  __u64* n = bpf_map_lookup_elem(&counts, &key);
  *n += 1;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

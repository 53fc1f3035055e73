// why: looks up a map with a key variable that is never assigned: the 4 bytes the helper reads are
// whatever the stack held before.
// strict: root's kernel allows uninitialized stack as a helper's input.
// expect: not initialized
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} m SEC(".maps");

SEC("xdp")
int c_uninit_key(struct xdp_md* ctx) {
  __u32 key;
  asm volatile("" : "=m"(key));  // as if set by a path clang cannot see; it is not
  return bpf_map_lookup_elem(&m, &key) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

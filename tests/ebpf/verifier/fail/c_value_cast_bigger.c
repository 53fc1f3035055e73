// why: casts an 8-byte map value to a 16-byte struct and writes its second field, 8 bytes past the
// value's end.
// expect: outside the 8-byte value
#include "common.h"

struct big {
  __u64 a, b;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} m SEC(".maps");

SEC("xdp")
int c_value_cast_bigger(struct xdp_md* ctx) {
  __u32 key = 1;
  struct big* v = bpf_map_lookup_elem(&m, &key);
  if (!v) return XDP_PASS;
  v->b = 1;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

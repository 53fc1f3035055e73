// why: checks the index with `> 32` instead of `>= 32`, so index 32 writes the 8 bytes just past
// the 32-entry array.
// expect: outside the 256-byte value
#include "common.h"

struct table {
  __u64 count[32];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct table);
} t SEC(".maps");

SEC("xdp")
int c_index_off_by_one(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 15 > data_end) return XDP_DROP;
  __u32 i = *(__u8*)(data + 14);
  if (i > 32) return XDP_DROP;
  __u32 zero = 0;
  struct table* v = bpf_map_lookup_elem(&t, &zero);
  if (!v) return XDP_PASS;
  v->count[i]++;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// why: subtracts 10 from a packet byte and indexes a map value with the (signed) result, which is
// negative for bytes below 10.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u8[256]);
} t SEC(".maps");

SEC("xdp")
int c_negative_index(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 1 > data_end) return XDP_DROP;
  int i = *(__u8*)data - 10;
  __u32 zero = 0;
  __u8* v = bpf_map_lookup_elem(&t, &zero);
  if (!v) return XDP_PASS;
  if (i > 200) return XDP_DROP;
  v[i] = 1;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// why: indexes a 64-byte map value with 4096 / (packet byte): division by a byte that may be 0 or 1
// gives 0 or 4096, and the quotient is not bounded by anything the verifier can see.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u8[64]);
} t SEC(".maps");

SEC("xdp")
int c_division_index(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 1 > data_end) return XDP_DROP;
  __u64 d = *(__u8*)data;
  __u64 i = 4096 / d;
  __u32 zero = 0;
  __u8* v = bpf_map_lookup_elem(&t, &zero);
  if (!v) return XDP_PASS;
  return v[i] ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// why: indexes a 32-entry array in a map value with a port number that is not masked or checked:
// any port above 31 writes past the value.
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
int c_index_unmasked(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 14 + 20 + 4 > data_end) return XDP_DROP;
  __u16 port = bpf_ntohs(*(__u16*)(data + 14 + 20 + 2));
  __u32 zero = 0;
  struct table* v = bpf_map_lookup_elem(&t, &zero);
  if (!v) return XDP_PASS;
  v->count[port]++;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

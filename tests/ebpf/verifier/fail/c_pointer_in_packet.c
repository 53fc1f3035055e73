// why: writes the address of the map value into the packet it transmits: the address leaves the
// host.
// strict: root's kernel allows storing pointers into the packet.
// expect: stores a pointer
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} m SEC(".maps");

SEC("xdp")
int c_pointer_in_packet(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 8 > data_end) return XDP_DROP;
  __u32 zero = 0;
  __u64* v = bpf_map_lookup_elem(&m, &zero);
  if (!v) return XDP_PASS;
  *(__u64**)data = v;
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

// why: bpf_ringbuf_output on a hash map, which is no ring buffer.
// expect: the ring buffer helpers need a ring buffer
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} events SEC(".maps");

SEC("xdp")
int c_ringbuf_output_hash(struct xdp_md* ctx) {
  __u32 v = ctx->ingress_ifindex;
  bpf_ringbuf_output(&events, &v, sizeof(v), 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

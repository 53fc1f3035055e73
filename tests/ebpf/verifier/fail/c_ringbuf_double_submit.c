// why: submits the same record twice; after the first submit the record belongs to the consumer.
// expect: must be a record from bpf_ringbuf_reserve
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int c_ringbuf_double_submit(struct xdp_md* ctx) {
  __u32* e = bpf_ringbuf_reserve(&events, 8, 0);
  if (!e) return XDP_PASS;
  e[0] = ctx->ingress_ifindex;
  bpf_ringbuf_submit(e, 0);
  bpf_ringbuf_discard(e, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

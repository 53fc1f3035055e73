// why: submits a pointer into the middle of the record rather than the record itself: the
// helper would read a header that is not there.
// expect: must point to the start of the record
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int c_ringbuf_submit_middle(struct xdp_md* ctx) {
  __u32* e = bpf_ringbuf_reserve(&events, 16, 0);
  if (!e) return XDP_PASS;
  e[0] = ctx->ingress_ifindex;
  bpf_ringbuf_submit(e + 1, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

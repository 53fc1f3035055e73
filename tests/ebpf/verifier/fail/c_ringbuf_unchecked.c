// why: writes into the record bpf_ringbuf_reserve returned without checking it for NULL (the
// ring may be full).
// expect: may be NULL
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int c_ringbuf_unchecked(struct xdp_md* ctx) {
  __u32* e = bpf_ringbuf_reserve(&events, 8, 0);
  e[0] = ctx->ingress_ifindex;
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

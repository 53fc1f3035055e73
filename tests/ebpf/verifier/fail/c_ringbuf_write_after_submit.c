// why: writes into a record after submitting it, when the host may already be reading it.
// expect: is a number, not a pointer
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int c_ringbuf_write_after_submit(struct xdp_md* ctx) {
  volatile __u32* e = bpf_ringbuf_reserve(&events, 8, 0);
  if (!e) return XDP_PASS;
  e[0] = 1;
  bpf_ringbuf_submit((void*)e, 0);
  e[1] = ctx->ingress_ifindex;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// why: writes 4 bytes at offset 16 of a 16-byte record: one past its end.
// expect: outside the 16-byte record
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int c_ringbuf_oob_write(struct xdp_md* ctx) {
  __u32* e = bpf_ringbuf_reserve(&events, 16, 0);
  if (!e) return XDP_PASS;
  e[4] = ctx->ingress_ifindex;
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

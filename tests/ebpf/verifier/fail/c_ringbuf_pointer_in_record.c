// why: stores the packet's address into a ring buffer record, which the host reads: an address
// disclosed to the tenant.
// strict: root's kernel allows pointers in ring buffer records.
// expect: stores a pointer
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int c_ringbuf_pointer_in_record(struct xdp_md* ctx) {
  __u64* e = bpf_ringbuf_reserve(&events, 8, 0);
  if (!e) return XDP_PASS;
  *e = ctx->data;
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

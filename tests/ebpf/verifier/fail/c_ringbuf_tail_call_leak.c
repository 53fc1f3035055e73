// why: tail-calls while holding a reserved record: the called program cannot release it, and
// this one never returns to.
// expect: bpf_tail_call while the ring buffer record
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u32);
} next SEC(".maps");

SEC("xdp")
int c_ringbuf_tail_call_leak(struct xdp_md* ctx) {
  __u32* e = bpf_ringbuf_reserve(&events, 8, 0);
  if (!e) return XDP_PASS;
  e[0] = 7;
  bpf_tail_call(ctx, &next, 0);
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

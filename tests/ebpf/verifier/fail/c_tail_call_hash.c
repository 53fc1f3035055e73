// why: tail-calls through a hash map: bpf_tail_call needs a program array, anything else is
// reinterpreted memory.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} not_progs SEC(".maps");

SEC("xdp")
int c_tail_call_hash(struct xdp_md* ctx) {
  bpf_tail_call(ctx, &not_progs, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

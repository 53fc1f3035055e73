// why: returns a random 32-bit number as its verdict.
// strict: root's kernel does not check XDP return values.
// expect: must return an XDP action
#include "common.h"

SEC("xdp")
int c_return_random(struct xdp_md* ctx) {
  return bpf_get_prandom_u32();
}

char LICENSE[] SEC("license") = "GPL";

// why: calls bpf_trace_printk, a helper only GPL-compatible programs may use, from a program whose
// license is proprietary.
// expect: GPL-compatible
#include "common.h"

SEC("xdp")
int c_gpl_helper_proprietary(struct xdp_md* ctx) {
  char fmt[] = "hi\n";
  bpf_trace_printk(fmt, sizeof(fmt));
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "Proprietary";

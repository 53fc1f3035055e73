// Pass: `return XDP_PASS`, the fixed cost of one run.
#include "xdp_bench.h"

SEC("xdp")
int pass(struct xdp_md* ctx) { return XDP_PASS; }

char LICENSE[] SEC("license") = "GPL";

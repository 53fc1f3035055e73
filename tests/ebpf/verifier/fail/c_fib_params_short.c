// why: bpf_fib_lookup writes 72 bytes into a 64-byte map value: 8 bytes past its end.
// expect: outside the 64-byte value
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bpf_fib_lookup);
} params SEC(".maps");

SEC("xdp")
int c_fib_params_short(struct xdp_md* ctx) {
  __u32 zero = 0;
  struct bpf_fib_lookup* fib = bpf_map_lookup_elem(&params, &zero);
  if (!fib) return XDP_PASS;
  fib->family = 2;
  fib->ifindex = ctx->ingress_ifindex;
  if (bpf_fib_lookup(ctx, fib, sizeof(*fib) + 8, 0) == BPF_FIB_LKUP_RET_SUCCESS)
    return bpf_redirect(fib->ifindex, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

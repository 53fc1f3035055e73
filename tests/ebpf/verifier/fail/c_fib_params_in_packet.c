// why: hands bpf_fib_lookup its parameters inside the packet, which the helper would overwrite;
// the kernel's helper may not touch the packet (no pkt_access in its prototype).
// expect: this helper may not read or write the packet
#include "common.h"

SEC("xdp")
int c_fib_params_in_packet(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + sizeof(struct bpf_fib_lookup) > data_end) return XDP_PASS;
  struct bpf_fib_lookup* fib = data;
  fib->family = 2;
  fib->ifindex = ctx->ingress_ifindex;
  if (bpf_fib_lookup(ctx, fib, sizeof(*fib), 0) == BPF_FIB_LKUP_RET_SUCCESS) return XDP_TX;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

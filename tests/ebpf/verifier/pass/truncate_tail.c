// Keeps only the first 128 bytes of large frames (a snap length) with bpf_xdp_adjust_tail.
#include "common.h"

SEC("xdp")
int truncate_tail(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  long len = data_end - data;
  if (len > 128) {
    if (bpf_xdp_adjust_tail(ctx, (int)(128 - len))) return XDP_ABORTED;
  }
  data = (void*)(long)ctx->data;
  data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// Reserves 4 bytes of metadata in front of the frame and stores a mark there, proving the
// metadata's bounds against data as the kernel requires.
#include "common.h"

SEC("xdp")
int meta_mark(struct xdp_md* ctx) {
  if (bpf_xdp_adjust_meta(ctx, -4)) return XDP_PASS;
  void* data = (void*)(long)ctx->data;
  void* meta = (void*)(long)ctx->data_meta;
  __u32* mark = meta;
  if ((void*)(mark + 1) > data) return XDP_ABORTED;
  *mark = 0x2a;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// why: reads 4 bytes of metadata before data without proving data_meta + 4 <= data: with no
// metadata the read is of the headroom, someone else's bytes.
#include "common.h"

SEC("xdp")
int c_meta_unchecked(struct xdp_md* ctx) {
  __u32* mark = (void*)(long)ctx->data_meta;
  return *mark == 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

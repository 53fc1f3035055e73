// why: updates an AF_XDP socket map from the program; only the host binds sockets.
// expect: only for bpf_redirect_map and bpf_map_lookup_elem
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} xsks SEC(".maps");

SEC("xdp")
int c_xskmap_update(struct xdp_md* ctx) {
  __u32 key = 0, value = ctx->rx_queue_index;
  bpf_map_update_elem(&xsks, &key, &value, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// Forwards each frame to the port a devmap holds for its ingress interface.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u32);
} ports SEC(".maps");

SEC("xdp")
int devmap_redirect(struct xdp_md* ctx) {
  __u32 key = ctx->ingress_ifindex & 63;
  return bpf_redirect_map(&ports, key, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";

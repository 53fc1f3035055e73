// why: writes through a devmap lookup result: the ports table is read-only for programs.
// expect: read-only for programs
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u32);
} ports SEC(".maps");

SEC("xdp")
int c_devmap_write(struct xdp_md* ctx) {
  __u32 key = 1;
  __u32* port = bpf_map_lookup_elem(&ports, &key);
  if (!port) return XDP_PASS;
  *port = ctx->ingress_ifindex;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

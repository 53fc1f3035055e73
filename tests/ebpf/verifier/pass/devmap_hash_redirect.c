// Forwards by VLAN-less destination MAC: the last byte of the destination address keys a devmap
// keyed by hash (sparse interface numbers); a frame whose key has no port is passed to the stack.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
  __uint(max_entries, 32);
  __type(key, __u32);
  __type(value, __u32);
} ports SEC(".maps");

SEC("xdp")
int devmap_hash_redirect(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_PASS;
  __u32 key = eth->h_dest[5];
  __u32* port = bpf_map_lookup_elem(&ports, &key);
  if (!port || *port == ctx->ingress_ifindex) return XDP_PASS;
  return bpf_redirect_map(&ports, key, XDP_DROP);
}

char LICENSE[] SEC("license") = "GPL";

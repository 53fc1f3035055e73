// Per-CPU packet and byte counters by IP protocol, without atomics.
#include "common.h"

struct counters {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, struct counters);
} by_proto SEC(".maps");

SEC("xdp")
int percpu_counters(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  __u32 proto = 255;
  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* ip = (void*)(eth + 1);
    if ((void*)(ip + 1) > data_end) return XDP_DROP;
    proto = ip->protocol;
  }
  struct counters* c = bpf_map_lookup_elem(&by_proto, &proto);
  if (!c) return XDP_ABORTED;
  c->packets++;
  c->bytes += data_end - data;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// Per-CPU hash of packets per IPv4 source, inserted on first sight.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u64);
} by_source SEC(".maps");

SEC("xdp")
int percpu_hash(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_DROP;
  __u32 src = ip->saddr;
  __u64* n = bpf_map_lookup_elem(&by_source, &src);
  if (n) {
    *n += 1;
    return XDP_PASS;
  }
  __u64 one = 1;
  bpf_map_update_elem(&by_source, &src, &one, BPF_NOEXIST);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// Spreads IPv4 flows over four processors through a CPU map, by a hash of the addresses (as
// receive-side scaling would); other frames stay on this processor.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_CPUMAP);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

SEC("xdp")
int cpumap_spread(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_PASS;
  __u32 h = ip->saddr ^ ip->daddr;
  h ^= h >> 16;
  h ^= h >> 8;
  return bpf_redirect_map(&cpus, h & 3, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";

// Builds a flow record on the stack (zeroed first, padding included) and stores it in a hash map:
// the whole value must be initialized before bpf_map_update_elem reads it.
#include "common.h"

struct record {
  __u32 saddr;
  __u32 daddr;
  __u16 len;
  __u8 proto;
  __u8 ttl;
  __u64 seen;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, struct record);
} last SEC(".maps");

SEC("xdp")
int stack_record(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_DROP;
  struct record r = {};
  r.saddr = ip->saddr;
  r.daddr = ip->daddr;
  r.len = bpf_ntohs(ip->tot_len);
  r.proto = ip->protocol;
  r.ttl = ip->ttl;
  r.seen = bpf_ktime_get_ns();
  __u32 key = ip->saddr;
  bpf_map_update_elem(&last, &key, &r, BPF_ANY);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

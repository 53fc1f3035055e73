// why: the record's 4 padding bytes (after `ttl`) are never written, and bpf_map_update_elem copies
// them into the map, where the tenant reads them back: stale stack bytes of whatever ran before.
// strict: root's kernel allows reading uninitialized stack; vigil does not.
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
  struct record r;
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

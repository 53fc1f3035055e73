// Dispatches IPv4 and IPv6 to other programs through a program array; when the slot is empty the
// tail call falls through and the packet passes.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} jump_table SEC(".maps");

SEC("xdp")
int tail_call(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto == bpf_htons(ETH_P_IP))
    bpf_tail_call(ctx, &jump_table, 0);
  else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
    bpf_tail_call(ctx, &jump_table, 1);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

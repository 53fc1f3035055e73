// Prints the EtherType of every tenth frame with bpf_trace_printk (a GPL-only helper).
#include "common.h"

__u64 frames = 0;

SEC("xdp")
int trace_debug(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (++frames % 10 == 0) {
    char fmt[] = "ethertype %x\n";
    bpf_trace_printk(fmt, sizeof(fmt), bpf_ntohs(eth->h_proto));
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

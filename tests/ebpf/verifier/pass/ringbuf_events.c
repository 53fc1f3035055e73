// Reports every IPv4 flow's first packet to the host through a ring buffer: reserves a record,
// fills it from the headers, and submits it — or discards it when the packet turns out not to be
// TCP or UDP.
#include "common.h"

struct event {
  __u32 saddr;
  __u32 daddr;
  __u16 len;
  __u8 proto;
  __u8 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 64 * 1024);
} events SEC(".maps");

SEC("xdp")
int ringbuf_events(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_PASS;
  struct event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return XDP_PASS;
  e->saddr = ip->saddr;
  e->daddr = ip->daddr;
  e->len = (__u16)(data_end - data);
  e->proto = ip->protocol;
  e->pad = 0;
  if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP) {
    bpf_ringbuf_discard(e, 0);
    return XDP_PASS;
  }
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

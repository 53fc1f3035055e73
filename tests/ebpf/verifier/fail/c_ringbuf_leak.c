// why: a reserved ring buffer record is neither submitted nor discarded on the path of short
// frames: the ring's consumer would wait behind it forever.
// expect: neither submitted nor discarded
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int c_ringbuf_leak(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u32* e = bpf_ringbuf_reserve(&events, 8, 0);
  if (!e) return XDP_PASS;
  if (data + 14 > data_end) return XDP_DROP;
  e[0] = (__u32)(data_end - data);
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

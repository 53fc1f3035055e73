// A record reserved in one function and filled in another: the reference to it crosses a
// bpf-to-bpf call, and the caller submits it.
#include "common.h"

struct record {
  __u64 stamp;
  __u32 ifindex;
  __u32 len;
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} records SEC(".maps");

static __attribute__((noinline)) void fill(struct record* r, struct xdp_md* ctx, __u32 len) {
  r->stamp = bpf_ktime_get_ns();
  r->ifindex = ctx->ingress_ifindex;
  r->len = len;
}

SEC("xdp")
int ringbuf_subprog(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u32 len = (__u32)(data_end - data);
  struct record* r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
  if (!r) return XDP_PASS;
  fill(r, ctx, len);
  bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

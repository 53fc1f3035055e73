// Samples one frame in 64 to user space through a perf event array: a small header, then up to
// the first 64 bytes of the packet, which the helper appends itself (BPF_F_CTXLEN_MASK).
#include "common.h"

struct meta {
  __u32 ifindex;
  __u16 len;
  __u16 sampled;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} samples SEC(".maps");

SEC("xdp")
int perf_sample(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if ((bpf_get_prandom_u32() & 63) != 0) return XDP_PASS;
  __u64 len = data_end - data;
  struct meta m = {};
  m.ifindex = ctx->ingress_ifindex;
  m.len = (__u16)len;
  m.sampled = len < 64 ? (__u16)len : 64;
  __u64 flags = BPF_F_CURRENT_CPU | ((__u64)m.sampled << 32);
  bpf_perf_event_output(ctx, &samples, flags, &m, sizeof(m));
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

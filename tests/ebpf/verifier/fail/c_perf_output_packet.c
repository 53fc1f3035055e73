// why: bpf_perf_event_output copies its data straight from the packet; the kernel's helper may
// not read the packet that way (its flags append packet bytes instead, BPF_F_CTXLEN_MASK).
// expect: this helper may not read or write the packet
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} samples SEC(".maps");

SEC("xdp")
int c_perf_output_packet(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 14 > data_end) return XDP_PASS;
  bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, data, 14);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

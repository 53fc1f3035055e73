// Copies the first 32 bytes of each frame, with its length, into a ring buffer with
// bpf_ringbuf_output, and stops copying while more than half the ring waits for the host
// (bpf_ringbuf_query).
#include "common.h"

struct sample {
  __u32 len;
  __u32 pad;
  __u8 head[32];
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 * 4096);
} samples SEC(".maps");

SEC("xdp")
int ringbuf_output(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 32 > data_end) return XDP_PASS;
  if (bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) > 8 * 4096) return XDP_PASS;
  struct sample s = {};
  s.len = (__u32)(data_end - data);
  __builtin_memcpy(s.head, data, 32);
  bpf_ringbuf_output(&samples, &s, sizeof(s), 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// why: bpf_ringbuf_output copies straight from the packet; the kernel's helper may not touch the
// packet (no pkt_access in its prototype): copy the bytes to the stack first.
// expect: this helper may not read or write the packet
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int c_ringbuf_output_packet(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 14 > data_end) return XDP_PASS;
  bpf_ringbuf_output(&events, data, 14, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

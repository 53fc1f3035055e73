// why: reserves a record whose size comes from the packet: the verifier must know the size to
// check the accesses into the record.
// expect: must be a known constant
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int c_ringbuf_variable_size(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 1 > data_end) return XDP_PASS;
  __u64 size = (*(__u8*)data & 15) + 8;
  __u8* e = bpf_ringbuf_reserve(&events, size, 0);
  if (!e) return XDP_PASS;
  e[0] = 1;
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

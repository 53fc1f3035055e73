// why: fills one byte of a 16-byte stack array and returns another, chosen by the packet: the
// byte read may never have been written.
// strict: root's kernel allows reading uninitialized stack.
#include "common.h"

SEC("xdp")
int c_stack_array_uninit(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 2 > data_end) return XDP_DROP;
  volatile __u8 buf[16];
  __u8 a = *(__u8*)data & 15, b = *(__u8*)(data + 1) & 15;
  buf[a] = 1;
  return buf[b] == 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

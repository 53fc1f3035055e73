// why: writes to a `const volatile` global, which lives in .rodata, a map the program may only
// read (libbpf creates it read-only for programs).
// expect: read-only
#include "common.h"

volatile const __u32 limit = 100;

SEC("xdp")
int c_rodata_write(struct xdp_md* ctx) {
  *(volatile __u32*)&limit = 5;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

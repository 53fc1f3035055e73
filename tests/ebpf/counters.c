// Counters in every kind of storage the loader must relocate: a hash map keyed by IPv4 source
// address, an array map by IP protocol, global variables in .bss and .data, a constant table in
// .rodata, and a subprogram in .text reached by a bpf-to-bpf call.
#include "common.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, __u64);
} by_source SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u64);
} by_proto SEC(".maps");

__u64 total_packets = 0;       // .bss
__u64 total_bytes = 0;         // .bss
__u32 last_length = 7;         // .data
volatile const __u32 weights[4] = {1, 10, 100, 1000};  // .rodata

__attribute__((noinline)) int bump(__u32 proto, __u32 length) {
  __u64* n = bpf_map_lookup_elem(&by_proto, &proto);
  if (!n) return -1;
  *n += weights[length & 3];
  return 0;
}

SEC("xdp")
int count(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u32 length = data_end - data;
  total_packets++;
  total_bytes += length;
  last_length = length;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_PASS;
  __u32 src = ip->saddr & bpf_htonl(0xffffff00);  // per /24, to keep the table small
  __u64* n = bpf_map_lookup_elem(&by_source, &src);
  if (n) {
    *n += 1;
  } else {
    __u64 one = 1;
    bpf_map_update_elem(&by_source, &src, &one, BPF_ANY);
  }
  if (bump(ip->protocol, length) < 0) return XDP_ABORTED;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// Configuration in global variables: a read-only table, a writable threshold and counters.
#include "common.h"

volatile const __u16 blocked_ports[4] = {23, 445, 3389, 5900};
__u32 max_len = 1500;
__u64 dropped = 0;
__u64 passed = 0;

SEC("xdp")
int global_config(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data_end - data > max_len) {
    dropped++;
    return XDP_DROP;
  }
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->ihl != 5) return XDP_DROP;
  if (ip->protocol != IPPROTO_TCP) return XDP_PASS;
  struct tcphdr* tcp = (void*)(ip + 1);
  if ((void*)(tcp + 1) > data_end) return XDP_DROP;
  for (int i = 0; i < 4; i++) {
    if (tcp->dest == bpf_htons(blocked_ports[i])) {
      dropped++;
      return XDP_DROP;
    }
  }
  passed++;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

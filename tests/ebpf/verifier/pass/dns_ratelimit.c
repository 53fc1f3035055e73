// A DNS (UDP port 53) rate limiter: a token bucket per source address refilled from
// bpf_ktime_get_ns, in an LRU hash so idle sources age out.
#include "common.h"

struct bucket {
  __u64 last_ns;
  __u64 tokens;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 8192);
  __type(key, __u32);
  __type(value, struct bucket);
} buckets SEC(".maps");

#define RATE_PER_SEC 100
#define BURST 200

SEC("xdp")
int dns_ratelimit(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_DROP;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->ihl != 5) return XDP_DROP;
  if (ip->protocol != IPPROTO_UDP) return XDP_PASS;
  struct udphdr* udp = (void*)(ip + 1);
  if ((void*)(udp + 1) > data_end) return XDP_DROP;
  if (udp->dest != bpf_htons(53)) return XDP_PASS;
  __u32 src = ip->saddr;
  __u64 now = bpf_ktime_get_ns();
  struct bucket* b = bpf_map_lookup_elem(&buckets, &src);
  if (!b) {
    struct bucket fresh = {.last_ns = now, .tokens = BURST - 1};
    bpf_map_update_elem(&buckets, &src, &fresh, BPF_ANY);
    return XDP_PASS;
  }
  __u64 elapsed = now - b->last_ns;
  __u64 refill = elapsed / (1000000000ull / RATE_PER_SEC);
  if (refill) {
    b->tokens = b->tokens + refill > BURST ? BURST : b->tokens + refill;
    b->last_ns = now;
  }
  if (b->tokens == 0) return XDP_DROP;
  b->tokens--;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

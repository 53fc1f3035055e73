// dns_ratelimit: response rate limiting for a DNS server, in XDP, after xdp-tools' xdp-dnsrrl.
//
// Every UDP query to the DNS port (IPv4, IPv6, one VLAN tag at most) is charged to two token
// buckets — its source's prefix (/24 for IPv4, /56 for IPv6) and its query name — each in an LRU
// (least recently used) hash map, so idle prefixes and names age out and the memory is capped.
// A query within both limits goes on to the server (XDP_PASS). Over a limit it is dropped, except
// every Nth ("slip"), which is answered at once with an empty, truncated response (TC=1, XDP_TX):
// a real client retries over TCP, which a spoofed source cannot.
//
// Exempt: sources on the allow-lists (LPM tries `allow_v4`, `allow_v6`), and queries that carry a
// valid DNS server cookie (RFC 7873) of the interoperable format of RFC 9018 — SipHash-2-4 of the
// client cookie, version, reserved bytes, timestamp and client address under the server secret in
// `config`: only a client that has had an answer from the server at its address can have one.
//
// The query name is read by a bounded loop (255 bytes at most), lower-cased and hashed (64-bit
// FNV-1a, seeded from `config` so that names cannot be chosen to collide); a name that is
// malformed (a compression pointer, a label past the end, longer than 255 bytes) drops the query.
// Buckets follow GCRA (the generic cell rate algorithm): one theoretical arrival time per bucket;
// a query conforms when that time is no more than `burst` intervals ahead of now.
// Counters (per CPU) count every decision.
#include "offload.h"

// --- Configuration (the tenant's YAML fills it; zero rates mean no limit). ---

#define DNS_COOKIE_EXEMPT 0x01  // queries with a valid server cookie are not limited

struct dns_config {
  __u32 src_rate;    // queries per second per source prefix (/24, /56); 0 = no limit
  __u32 src_burst;   // queries a prefix may send at once; 0 = src_rate
  __u32 name_rate;   // queries per second per query name; 0 = no limit
  __u32 name_burst;  // 0 = name_rate
  __u32 slip;        // every slip-th limited query is answered TC=1; 0 = drop them all
  __u16 port;        // the DNS port; 0 = 53
  __u8 flags;        // DNS_COOKIE_EXEMPT
  __u8 pad;
  __u64 name_seed;         // mixed into the name hash
  __u8 cookie_secret[16];  // the server secret of RFC 9018 (SipHash-2-4 key)
  // Non-zero: the Unix time minus bpf_ktime_get_boot_ns() / 1e9, so that a cookie's timestamp
  // can be checked (valid from one hour before to five minutes after now); 0: not checked.
  __u64 unix_offset_s;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct dns_config);
} config SEC(".maps");

struct lpm_v4 {
  __u32 prefixlen;
  __u8 addr[4];
};

struct lpm_v6 {
  __u32 prefixlen;
  __u8 addr[16];
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 1024);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct lpm_v4);
  __type(value, __u8);
} allow_v4 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 1024);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct lpm_v6);
  __type(value, __u8);
} allow_v6 SEC(".maps");

// --- Buckets. ---

struct bucket {
  __u64 tat;      // theoretical arrival time of the next conforming query (ns)
  __u64 limited;  // queries refused so far (every slip-th of them is answered)
};

// The source prefix: /24 (3 bytes) or /56 (7 bytes), and the family.
struct src_key {
  __u8 addr[7];
  __u8 family;  // 4 or 6
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct src_key);
  __type(value, struct bucket);
} src_buckets SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64);  // the seeded hash of the lower-cased query name
  __type(value, struct bucket);
} name_buckets SEC(".maps");

// --- Counters. ---

enum {
  DNS_QUERIES = 0,     // UDP queries to the DNS port
  DNS_PASSED,          // within the limits (or not limited): on to the server
  DNS_ALLOWLISTED,     // sources on an allow-list
  DNS_COOKIE_VALID,    // queries exempt by a valid server cookie
  DNS_COOKIE_INVALID,  // server cookies that did not check (the query is limited as others)
  DNS_SRC_LIMITED,     // over the source prefix's limit
  DNS_NAME_LIMITED,    // over the query name's limit
  DNS_DROPPED,         // limited and dropped
  DNS_SLIPPED,         // limited and answered TC=1
  DNS_MALFORMED,       // bad query name or headers (dropped)
  DNS_NOT_QUERY,       // responses, and packets to the port too short for a DNS header (passed)
  DNS_NUM_COUNTERS,
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, DNS_NUM_COUNTERS);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

// Per-CPU scratch for the subprograms: what they are given and what they find, kept out of
// registers so that a verifier need not track (and multiply states by) their values.
struct name_scan {
  __u64 next_label;  // offset of the next length byte, from the name's start
  __u64 seed;        // in: the hash seed
  __u64 hash;        // out: the name's hash
  __u64 name_len;    // out: its length
  __u64 sum;         // out: its bytes' sum
  __u64 now_s;       // in (cookies): seconds of bpf_ktime_get_boot_ns
  __u8 client[16];   // in (cookies): the client's address
  __u32 v6;          // whether it is IPv6
  __u32 plain;       // whether the IP header is one a truncated answer can be made of
  __u64 l3;          // the IP header's offset
  __u64 dns;         // the DNS header's offset
  __u8 src[8];       // the source prefix (struct src_key)
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct name_scan);
} scratch SEC(".maps");

struct dnshdr {
  __be16 id;
  __be16 flags;
  __be16 qdcount;
  __be16 ancount;
  __be16 nscount;
  __be16 arcount;
};

#define NSEC_PER_SEC 1000000000ull
#define DNS_MAX_NAME 255
#define FNV_PRIME 1099511628211ull
#define FNV_OFFSET 14695981039346656037ull
// Packet offsets are masked with this before they index the packet (a query name ends within
// 18 + 40 + 8 + 12 + 255 bytes of the frame's start).
#define OFF_MASK 0x1ff

// The query name at packet offset `start`: returns 1 and leaves in `scan` its wire length (with
// the final zero byte), its seeded hash and the sum of its bytes (as the Internet checksum adds
// them, offset parity from `start`), or returns 0 for a malformed name. (The length goes through
// the map: returned, it would be a different number on each way out of the loop, and a verifier
// would check the rest of the program once for each.)
static __noinline int scan_name(void* data, void* data_end, __u64 start, struct name_scan* scan) {
  __u64 hash = FNV_OFFSET ^ scan->seed;
  __u64 sum = 0;
  // Through the map every time (volatile), never a register whose range a verifier tracks.
  volatile __u64* next_label = &scan->next_label;
  *next_label = 0;
  for (__u64 pos = 0; pos < DNS_MAX_NAME; pos++) {
    __u8* p = data + ((start + pos) & OFF_MASK);
    if ((void*)(p + 1) > data_end) return 0;
    __u8 c = *p;
    sum += pos & 1 ? (__u64)c << 8 : c;
    if (pos == *next_label) {
      if (c == 0) {
        scan->hash = hash;
        scan->sum = sum;
        scan->name_len = pos + 1;
        return 1;
      }
      if (c > 63) return 0;  // compression pointers and reserved label types
      *next_label = pos + 1 + c;
      hash = (hash ^ '.') * FNV_PRIME;
    } else {
      if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
      hash = (hash ^ c) * FNV_PRIME;
    }
  }
  return 0;
}

// --- SipHash-2-4, for the server cookie. ---

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND       \
  do {                 \
    v0 += v1;          \
    v1 = ROTL(v1, 13); \
    v1 ^= v0;          \
    v0 = ROTL(v0, 32); \
    v2 += v3;          \
    v3 = ROTL(v3, 16); \
    v3 ^= v2;          \
    v0 += v3;          \
    v3 = ROTL(v3, 21); \
    v3 ^= v0;          \
    v2 += v1;          \
    v1 = ROTL(v1, 17); \
    v1 ^= v2;          \
    v2 = ROTL(v2, 32); \
  } while (0)

// SipHash-2-4 of `words` 64-bit little-endian words followed by `tail` (the last len % 8 bytes,
// little-endian), `len` bytes in all.
static __always_inline __u64 siphash(const __u64* m, int words, __u64 tail, __u64 len, __u64 k0,
                                     __u64 k1) {
  __u64 v0 = 0x736f6d6570736575ull ^ k0;
  __u64 v1 = 0x646f72616e646f6dull ^ k1;
  __u64 v2 = 0x6c7967656e657261ull ^ k0;
  __u64 v3 = 0x7465646279746573ull ^ k1;
#pragma unroll
  for (int i = 0; i < 4; i++) {
    if (i < words) {
      v3 ^= m[i];
      SIPROUND;
      SIPROUND;
      v0 ^= m[i];
    }
  }
  __u64 b = len << 56 | tail;
  v3 ^= b;
  SIPROUND;
  SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}

static __always_inline __u64 le64(const __u8* p) {
  __u64 v = 0;
#pragma unroll
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

// Whether the OPT record at packet offset `opt` (after the question) carries a server cookie of
// RFC 9018 that checks for the client of `scan` at its time.
static __noinline int cookie_valid(void* data, void* data_end, __u64 opt,
                                   const struct dns_config* cfg, struct name_scan* scan) {
  const __u8* client = scan->client;
  int v6 = scan->v6;
  __u8* rr = data + (opt & OFF_MASK);
  // The OPT pseudo-record: root name, type 41, class, TTL, RDLENGTH.
  if ((void*)(rr + 11) > data_end) return 0;
  if (rr[0] != 0 || rr[1] != 0 || rr[2] != 41) return 0;
  __u64 rdlen = (__u64)rr[9] << 8 | rr[10];
  __u64 off = 0;
  for (int i = 0; i < 4; i++) {  // options before the cookie, at most three
    if (off + 4 > rdlen) return 0;
    __u8* o = data + ((opt + 11 + off) & OFF_MASK);
    if ((void*)(o + 4) > data_end) return 0;
    __u64 code = (__u64)o[0] << 8 | o[1];
    __u64 len = (__u64)o[2] << 8 | o[3];
    if (code != 10) {  // not COOKIE
      off = (off + 4 + len) & 0x3ff;
      continue;
    }
    // Client cookie (8), version 1, reserved (3), timestamp (4), hash (8).
    if (len != 24 || (void*)(o + 4 + 24) > data_end) return 0;
    __u8* c = o + 4;
    if (c[8] != 1) return 0;
    __u32 ts = (__u32)c[12] << 24 | (__u32)c[13] << 16 | (__u32)c[14] << 8 | c[15];
    if (cfg->unix_offset_s) {
      __u32 now = (__u32)(scan->now_s + cfg->unix_offset_s);
      if ((__s32)(now - ts) > 3600 || (__s32)(ts - now) > 300) return 0;
    }
    __u64 m[4];
    m[0] = le64(c);
    m[1] = le64(c + 8);
    __u64 tail, len_m;
    if (v6) {
      m[2] = le64(client);
      m[3] = le64(client + 8);
      tail = 0;
      len_m = 32;
    } else {
      tail = (__u64)client[0] | (__u64)client[1] << 8 | (__u64)client[2] << 16 |
             (__u64)client[3] << 24;
      m[2] = 0;
      m[3] = 0;
      len_m = 20;
    }
    __u64 k0 = le64(cfg->cookie_secret);
    __u64 k1 = le64(cfg->cookie_secret + 8);
    __u64 h = v6 ? siphash(m, 4, tail, len_m, k0, k1) : siphash(m, 2, tail, len_m, k0, k1);
    return h == le64(c + 16);
  }
  return 0;
}

// GCRA: whether a query at `now` conforms to the bucket (rate per second, burst queries).
static __always_inline int conforms(const struct bucket* b, __u64 now, __u64 interval,
                                    __u64 burst) {
  __u64 tat = b->tat > now ? b->tat : now;
  return tat + interval - now <= burst * interval;
}

static __always_inline void charge(struct bucket* b, __u64 now, __u64 interval) {
  __u64 tat = b->tat > now ? b->tat : now;
  b->tat = tat + interval;
}

// The bucket of `key` in `map`, made (full) when absent.
static __always_inline struct bucket* get_bucket(void* map, const void* key) {
  struct bucket* b = bpf_map_lookup_elem(map, key);
  if (b) return b;
  struct bucket fresh = {.tat = 0, .limited = 0};
  bpf_map_update_elem(map, key, &fresh, BPF_NOEXIST);
  return bpf_map_lookup_elem(map, key);
}

// Turns the query (Ethernet, IP at `l3`, UDP, DNS, question of `qlen` bytes whose byte sum is
// `qsum`) into an empty truncated response, in place: 0, or -1 when it cannot.
static __always_inline int slip(struct xdp_md* ctx, __u64 l3, int v6, __u64 qlen, __u64 qsum) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u64 udp_len = 8 + 12 + qlen;
  __u64 l4 = l3 + (v6 ? 40 : 20);
  int grow = (int)(l4 + udp_len) - (int)(data_end - data);
  if (grow > 0 || bpf_xdp_adjust_tail(ctx, grow)) return -1;
  data = (void*)(long)ctx->data;
  data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return -1;
  __u8 mac[ETH_ALEN];
  __builtin_memcpy(mac, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
  if (l3 != 14 && l3 != 18) return -1;

  __u64 sum = 0;
  struct udphdr* udp;
  if (v6) {
    struct ipv6hdr* ip6 = data + l3;
    if ((void*)(ip6 + 1) > data_end) return -1;
    struct in6_addr a = ip6->saddr;
    ip6->saddr = ip6->daddr;
    ip6->daddr = a;
    ip6->payload_len = bpf_htons(udp_len);
    ip6->hop_limit = 64;
    // The pseudo-header: addresses, length, next header.
    sum += (__u32)bpf_csum_diff(0, 0, (__be32*)&ip6->saddr, 32, 0);
    sum += bpf_htonl(udp_len) + bpf_htonl(IPPROTO_UDP);
    udp = (void*)(ip6 + 1);
  } else {
    struct iphdr* ip = data + l3;
    if ((void*)(ip + 1) > data_end) return -1;
    __be32 a = ip->saddr;
    ip->saddr = ip->daddr;
    ip->daddr = a;
    ip->tot_len = bpf_htons(20 + udp_len);
    ip->ttl = 64;
    ip->frag_off = 0;
    ip->check = 0;
    ip->check = csum_fold((__u32)bpf_csum_diff(0, 0, (__be32*)ip, 20, 0));
    sum += (__u32)bpf_csum_diff(0, 0, (__be32*)&ip->saddr, 8, 0);
    sum += bpf_htons(udp_len) + bpf_htons(IPPROTO_UDP);
    udp = (void*)(ip + 1);
  }
  struct dnshdr* dns = (void*)(udp + 1);
  if ((void*)(dns + 1) > data_end) return -1;
  __be16 port = udp->source;
  udp->source = udp->dest;
  udp->dest = port;
  udp->len = bpf_htons(udp_len);
  udp->check = 0;
  // QR, the opcode and RD kept, TC; no records.
  dns->flags = bpf_htons(0x8000 | (bpf_ntohs(dns->flags) & 0x7900) | 0x0200);
  dns->ancount = 0;
  dns->nscount = 0;
  dns->arcount = 0;
  sum += (__u32)bpf_csum_diff(0, 0, (__be32*)udp, 20, 0);
  sum += qsum;
  __u16 check = csum_fold(sum);
  udp->check = check ? check : 0xffff;
  return 0;
}

// The headers up to DNS's: returns 1 for a UDP query to `port` (`scan` then holds where it lies
// and who sent it), 2 for a response to the port, 0 for anything else. A subprogram, so that the
// rest of the program starts from one state, whatever the headers were.
static __noinline int parse_query(void* data, void* data_end, __u64 port, struct name_scan* scan) {
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return 0;
  __u64 l3 = sizeof(*eth);
  __be16 proto = eth->h_proto;
  if (proto == bpf_htons(ETH_P_8021Q)) {
    struct vlan_hdr* vlan = (void*)(eth + 1);
    if ((void*)(vlan + 1) > data_end) return 0;
    proto = vlan->proto;
    l3 += sizeof(*vlan);
  }
  struct udphdr* udp;
  __builtin_memset(scan->client, 0, sizeof(scan->client));
  __builtin_memset(scan->src, 0, sizeof(scan->src));
  scan->plain = 1;
  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* ip = data + l3;
    if ((void*)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP) return 0;
    if (ip->frag_off & bpf_htons(0x1fff)) return 0;  // a later fragment: no header
    udp = (void*)ip + ip->ihl * 4;
    if (ip->ihl < 5 || (void*)(udp + 1) > data_end) return 0;
    scan->plain = ip->ihl == 5 && !(ip->frag_off & bpf_htons(0x2000));
    __builtin_memcpy(scan->client, &ip->saddr, 4);
    __builtin_memcpy(scan->src, &ip->saddr, 3);
    scan->src[7] = 4;
    scan->v6 = 0;
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6 = data + l3;
    if ((void*)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP) return 0;
    udp = (void*)(ip6 + 1);
    if ((void*)(udp + 1) > data_end) return 0;
    __builtin_memcpy(scan->client, &ip6->saddr, 16);
    __builtin_memcpy(scan->src, &ip6->saddr, 7);
    scan->src[7] = 6;
    scan->v6 = 1;
  } else {
    return 0;
  }
  if (udp->dest != bpf_htons(port)) return 0;
  struct dnshdr* dns = (void*)(udp + 1);
  if ((void*)(dns + 1) > data_end || (dns->flags & bpf_htons(0x8000))) return 2;
  scan->l3 = l3;
  scan->dns = (__u64)((void*)dns - data);
  return 1;
}

SEC("xdp")
int dns_ratelimit(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u32 zero = 0;
  const struct dns_config* cfg = bpf_map_lookup_elem(&config, &zero);
  if (!cfg) return XDP_PASS;
  struct name_scan* scan = bpf_map_lookup_elem(&scratch, &zero);
  if (!scan) return XDP_PASS;
  int what = parse_query(data, data_end, cfg->port ? cfg->port : 53, scan);
  if (what != 1) {
    if (what == 2) COUNT(counters, DNS_NOT_QUERY);
    return XDP_PASS;
  }
  COUNT(counters, DNS_QUERIES);
  data = (void*)(long)ctx->data;
  data_end = (void*)(long)ctx->data_end;
  struct dnshdr* dns = data + (scan->dns & OFF_MASK);
  if ((void*)(dns + 1) > data_end) return XDP_PASS;
  __u64 qname = (__u64)((void*)(dns + 1) - data);
  __u64 l3 = scan->l3;
  int v6 = scan->v6;
  struct src_key skey;
  __builtin_memcpy(&skey, scan->src, sizeof(skey));
  __u8 client[16];
  __builtin_memcpy(client, scan->client, sizeof(client));

  // The question: one name, its type and class.
  __u64 hash = 0, qsum = 0, name_len = 0;
  int plain = scan->plain;
  if (dns->qdcount == bpf_htons(1)) {
    scan->seed = cfg->name_seed;
    if (!scan_name(data, data_end, qname, scan) || scan->name_len > DNS_MAX_NAME) {
      COUNT(counters, DNS_MALFORMED);
      return XDP_DROP;
    }
    name_len = scan->name_len & OFF_MASK;
    hash = scan->hash;
    qsum = scan->sum;
  }
  __u64 qlen = name_len ? name_len + 4 : 0;  // type and class
  if (qlen) {
    __u8* q = data + ((qname + name_len) & OFF_MASK);
    if ((void*)(q + 4) > data_end) {
      COUNT(counters, DNS_MALFORMED);
      return XDP_DROP;
    }
    // The type and class in the byte sum, by their offsets' parity.
    if (name_len & 1)
      qsum += ((__u64)q[0] << 8) + q[1] + ((__u64)q[2] << 8) + q[3];
    else
      qsum += q[0] + ((__u64)q[1] << 8) + q[2] + ((__u64)q[3] << 8);
  }

  // Exempt: the allow-lists, then a valid server cookie.
  if (v6) {
    struct lpm_v6 k = {.prefixlen = 128};
    __builtin_memcpy(k.addr, client, 16);
    if (bpf_map_lookup_elem(&allow_v6, &k)) goto allowlisted;
  } else {
    struct lpm_v4 k = {.prefixlen = 32};
    __builtin_memcpy(k.addr, client, 4);
    if (bpf_map_lookup_elem(&allow_v4, &k)) goto allowlisted;
  }
  __u64 now = bpf_ktime_get_boot_ns();
  if ((cfg->flags & DNS_COOKIE_EXEMPT) && qlen && dns->arcount == bpf_htons(1) &&
      dns->ancount == 0 && dns->nscount == 0) {
    scan->now_s = now / NSEC_PER_SEC;
    if (cookie_valid(data, data_end, qname + qlen, cfg, scan)) {
      COUNT(counters, DNS_COOKIE_VALID);
      COUNT(counters, DNS_PASSED);
      return XDP_PASS;
    }
    COUNT(counters, DNS_COOKIE_INVALID);
  }

  // The buckets: both must conform; only then are both charged.
  struct bucket* sb = 0;
  struct bucket* nb = 0;
  __u64 src_interval = 0, name_interval = 0;
  int limited = 0;
  if (cfg->src_rate) {
    src_interval = NSEC_PER_SEC / cfg->src_rate;
    sb = get_bucket(&src_buckets, &skey);
    if (sb && !conforms(sb, now, src_interval, cfg->src_burst ? cfg->src_burst : cfg->src_rate)) {
      limited = 1;
      COUNT(counters, DNS_SRC_LIMITED);
    }
  }
  if (!limited && cfg->name_rate && qlen) {
    name_interval = NSEC_PER_SEC / cfg->name_rate;
    nb = get_bucket(&name_buckets, &hash);
    if (nb &&
        !conforms(nb, now, name_interval, cfg->name_burst ? cfg->name_burst : cfg->name_rate)) {
      limited = 2;
      COUNT(counters, DNS_NAME_LIMITED);
    }
  }
  if (!limited) {
    if (sb) charge(sb, now, src_interval);
    if (nb) charge(nb, now, name_interval);
    COUNT(counters, DNS_PASSED);
    return XDP_PASS;
  }
  struct bucket* b = limited == 1 ? sb : nb;
  __u64 refused = 0;
  if (b) refused = ++b->limited;
  if (cfg->slip && plain && qlen && refused % cfg->slip == 0 &&
      slip(ctx, l3, v6, qlen, qsum) == 0) {
    COUNT(counters, DNS_SLIPPED);
    return XDP_TX;
  }
  COUNT(counters, DNS_DROPPED);
  return XDP_DROP;

allowlisted:
  COUNT(counters, DNS_ALLOWLISTED);
  COUNT(counters, DNS_PASSED);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

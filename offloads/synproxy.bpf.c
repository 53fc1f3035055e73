// synproxy: a TCP SYN proxy in XDP with Linux netfilter SYNPROXY's semantics, for an IPv4 server.
//
// A client's SYN to a protected port never reaches the server: the program answers it at once
// with a SYN-ACK (XDP_TX) whose sequence number is a SYN cookie made by Linux's own algorithm
// (bpf_tcp_raw_gen_syncookie_ipv4), with the options SYNPROXY sends: the configured MSS (maximum
// segment size); and when the client offered timestamps, SACK-permitted (selective
// acknowledgments), the configured window scale, and a timestamp whose low 6 bits carry the
// client's window scale, SACK and ECN (explicit congestion notification) bits as Linux's
// cookie_init_timestamp encodes them. Window 0, as SYNPROXY's, so that the client sends no data
// before the server is ready. No state is kept for a SYN, so a spoofed flood costs one hash.
//
// The client's ACK is checked (bpf_tcp_raw_check_syncookie_ipv4): an invalid one is dropped; a
// valid one is rewritten into the client's SYN to the server (XDP_PASS: forwarded toward the
// server) with the client's MSS (recovered from the cookie) and, from the timestamp echo, its
// window scale and SACK permission; the connection is remembered in an LRU (least recently used)
// map. The server's SYN-ACK gives the sequence delta (cookie - server's ISN) and the timestamp
// offset; from then on both directions are translated — sequence, acknowledgment, SACK blocks,
// timestamps and the server's window (when its scale differs from the configured one) — with
// the checksum updated incrementally.
//
// XDP turns one packet into at most one. On the server's SYN-ACK, SYNPROXY sends two: the ACK to
// the server and a window update to the client. This program sends one of them and lets the
// other follow:
//   - by default, the SYN-ACK becomes the window update to the client (XDP_PASS); the client's
//     next segment, translated, completes the server's handshake, and a SYN-ACK the server
//     retransmits (a server that speaks first) is answered with the ACK (XDP_TX);
//   - with SYNPROXY_ACK_SERVER_FIRST, the SYN-ACK is answered with the ACK at once (XDP_TX); the
//     client's window then opens at its first zero-window probe (Linux: 200 ms or more).
// Stray SYN-ACKs and other server packets without a connection are dropped.
//
// Which side is the server: `config` names the server's address (and mask; 0 = any) and,
// optionally, the interface its packets arrive on; `ports` marks the protected TCP ports. Packets
// to a protected port are the client's, from one the server's; everything else passes untouched.
// Counters (per CPU) count every decision; `conns` ages connections out (handshake, established,
// closing timeouts) and is capped by its size (the LRU evicts the least recently used).
#include "offload.h"

// --- Configuration (maps a tenant's YAML fills; all zero means the defaults). ---

#define SYNPROXY_OPT_SACK_PERM 0x01
#define SYNPROXY_OPT_TIMESTAMP 0x02
#define SYNPROXY_OPT_WSCALE 0x04
#define SYNPROXY_ACK_SERVER_FIRST 0x08
#define SYNPROXY_OPT_DEFAULT (SYNPROXY_OPT_SACK_PERM | SYNPROXY_OPT_TIMESTAMP | SYNPROXY_OPT_WSCALE)

struct synproxy_config {
  __be32 server_addr;         // the protected server; 0 = any destination
  __be32 server_mask;         // network order; 0 with an address = /32
  __u32 server_ifindex;       // non-zero: the server's packets arrive on this interface only
  __u16 mss;                  // MSS announced to clients; 0 = 1460
  __u8 wscale;                // window scale announced to clients (when `options` is non-zero)
  __u8 options;               // SYNPROXY_OPT_* offered, SYNPROXY_ACK_SERVER_FIRST; 0 = all, scale 7
  __u32 handshake_timeout_s;  // 0 = 30
  __u32 established_timeout_s;  // 0 = 3600
  __u32 closing_timeout_s;      // after a FIN or a RST; 0 = 120
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct synproxy_config);
} config SEC(".maps");

// Protected TCP ports: ports[port] != 0 (the key is the port number, host order).
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, __u8);
} ports SEC(".maps");

// --- Counters. ---

enum {
  SP_SYN = 0,           // SYNs answered with a cookie SYN-ACK
  SP_ACK_VALID,         // handshake ACKs with a valid cookie: the SYN went to the server
  SP_ACK_INVALID,       // client packets with neither a connection nor a valid cookie (dropped)
  SP_MSS_FALLBACK,      // valid cookies of an earlier minute: the server was told MSS 536
  SP_SYNACK,            // server SYN-ACKs that established a connection
  SP_SYNACK_STRAY,      // SYN-ACKs without a connection in handshake, or not matching it
  SP_SERVER_ACK,        // ACKs sent to the server (XDP_TX)
  SP_CLIENT_TO_SERVER,  // translated client packets
  SP_SERVER_TO_CLIENT,  // translated server packets
  SP_SERVER_NO_STATE,   // other server packets without a connection (dropped)
  SP_EXPIRED,           // connections found past their timeout (forgotten)
  SP_MALFORMED,         // protected-port packets with IP options, fragments or bad TCP (dropped)
  SP_UNPROTECTED,       // packets that are not the protected service's (passed untouched)
  SP_EARLY_CLIENT,      // client packets while the server's SYN-ACK is awaited (dropped)
  SP_NUM_COUNTERS,
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, SP_NUM_COUNTERS);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

// --- Connections. ---

enum {
  CONN_SYN_SENT = 1,  // the client's SYN went to the server; its SYN-ACK is awaited
  CONN_RELAYED,       // the client has the window update; the server awaits the client's ACK
  CONN_ESTABLISHED,
  CONN_CLOSING,  // a FIN or a RST was seen
};

#define CONN_TS 0x01  // timestamps negotiated: translate them
#define NO_WSCALE 0xff

// The client-to-server direction's addresses and ports.
struct conn_key {
  __be32 client_addr;
  __be32 server_addr;
  __be16 client_port;
  __be16 server_port;
};

struct conn {
  __u64 last_ns;
  __u32 cookie;  // our ISN toward the client (the client's view of the server's ISN)
  __u32 client_isn;
  __u32 delta;         // cookie - the server's ISN: server sequence numbers as the client sees them
  __u32 ts_cookie;     // the timestamp the client got in the SYN-ACK (echoed in its ACK)
  __u32 tsoff;         // the server's timestamps minus ours
  __u32 client_tsval;  // the client's timestamp in its handshake ACK
  __u16 client_window;  // the window of the client's handshake ACK
  __u8 state;
  __u8 flags;
  __u8 server_shift;  // window scale the server applies to its windows (0 without scaling)
  __u8 client_shift;  // window scale the client applies to ours (the configured one, or 0)
  __u8 pad[2];
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct conn_key);
  __type(value, struct conn);
} conns SEC(".maps");

// --- TCP options of the packet at hand (per-CPU scratch, so that the option loop's findings do
// not multiply the states a verifier explores). ---

struct tcp_opts {
  __u16 mss;      // 0 = none
  __u16 ts;       // packet offset of the timestamp option; 0 = none
  __u16 sack;     // packet offset of the SACK option; 0 = none
  __u8 sack_len;  // its length
  __u8 wscale;    // NO_WSCALE = none
  __u8 sack_ok;
  __u8 pad[7];
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct tcp_opts);
} scratch SEC(".maps");

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WINDOW 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCPOPT_TIMESTAMP 8

#define NSEC_PER_SEC 1000000000ull
#define NSEC_PER_MSEC 1000000ull

// Offsets are masked with this before they index the packet: every option lies in the first 128
// bytes of a frame with an 18-byte link header, a 20-byte IP header and 60 bytes of TCP.
#define OFF_MASK 0x7f

// Linux's tcp_parse_options, for what a proxy needs: MSS, window scale, SACK permission, and
// where the timestamp and SACK options lie. `start` is the packet offset of the options, `len`
// their length (doff * 4 - 20). Returns the offset where parsing stopped.
static __noinline int parse_tcp_options(void* data, void* data_end, __u64 start, __u64 len,
                                        struct tcp_opts* o) {
  o->mss = 0;
  o->ts = 0;
  o->sack = 0;
  o->sack_len = 0;
  o->wscale = NO_WSCALE;
  o->sack_ok = 0;
  // 64-bit offsets (no 32-bit copies whose bounds a verifier would lose).
  __u64 off = 0;
  for (int i = 0; i < 40; i++) {
    if (off >= len || off >= 40) break;
    __u8* p = data + ((start + off) & OFF_MASK);
    if ((void*)(p + 1) > data_end) break;
    __u8 kind = p[0];
    if (kind == TCPOPT_EOL) break;
    if (kind == TCPOPT_NOP) {
      off = (off + 1) & 0x3f;
      continue;
    }
    if ((void*)(p + 2) > data_end) break;
    __u64 size = p[1];
    if (size < 2 || off + size > len) break;  // "silly options"
    if (kind == TCPOPT_MSS && size == 4) {
      if ((void*)(p + 4) > data_end) break;
      __u16 mss = (__u16)p[2] << 8 | p[3];
      if (mss) o->mss = mss;
    } else if (kind == TCPOPT_WINDOW && size == 3) {
      if ((void*)(p + 3) > data_end) break;
      o->wscale = p[2] > 14 ? 14 : p[2];  // TCP_MAX_WSCALE
    } else if (kind == TCPOPT_SACK_PERM && size == 2) {
      o->sack_ok = 1;
    } else if (kind == TCPOPT_TIMESTAMP && size == 10) {
      o->ts = (start + off) & OFF_MASK;
    } else if (kind == TCPOPT_SACK && size >= 10 && ((size - 2) & 7) == 0) {
      o->sack = (start + off) & OFF_MASK;
      o->sack_len = size;
    }
    // Masked, so that every path that read an option's length comes back to the loop with the
    // same range, which a verifier prunes as one state.
    off = (off + size) & 0x3f;
  }
  return (int)off;
}

// A TCP segment this program writes: a SYN-ACK, a SYN, an ACK. Host byte order but addresses
// and ports.
#define OUT_MSS 0x01
#define OUT_TS 0x02
#define OUT_SACK_PERM 0x04
#define OUT_WSCALE 0x08

struct tcp_out {
  __be32 saddr;
  __be32 daddr;
  __be16 sport;
  __be16 dport;
  __u32 seq;
  __u32 ack;
  __u32 tsval;
  __u32 tsecr;
  __u16 window;
  __u16 mss;
  __u8 flags;
  __u8 options;  // OUT_*
  __u8 wscale;
  __u8 pad;
};

// Rewrites the frame into the segment `o` (Ethernet and VLAN header kept, MAC addresses swapped
// when `swap_mac`, a fresh 20-byte IP header, the TCP header and options as SYNPROXY's
// synproxy_build_options lays them out): 0, or -1 when the frame cannot be resized.
static __always_inline int emit(struct xdp_md* volatile* ctxp, __u32 l3, int swap_mac,
                                const struct tcp_out* o) {
  __u32 optlen = 0;
  if (o->options & OUT_MSS) optlen += 4;
  if (o->options & OUT_TS)
    optlen += 12;
  else if (o->options & OUT_SACK_PERM)
    optlen += 4;
  if (o->options & OUT_WSCALE) optlen += 4;
  __u32 tcp_len = 20 + optlen;
  void* data = (void*)(long)(*ctxp)->data;
  void* data_end = (void*)(long)(*ctxp)->data_end;
  int grow = (int)(l3 + 20 + tcp_len) - (int)(data_end - data);
  if (bpf_xdp_adjust_tail(*ctxp, grow)) return -1;
  data = (void*)(long)(*ctxp)->data;
  data_end = (void*)(long)(*ctxp)->data_end;
  if (data + 14 > data_end) return -1;
  if (swap_mac) {
    struct ethhdr* eth = data;
    __u8 mac[ETH_ALEN];
    __builtin_memcpy(mac, eth->h_source, ETH_ALEN);
    __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
    __builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
  }

  struct iphdr ip;
  __builtin_memset(&ip, 0, sizeof(ip));
  ip.version = 4;
  ip.ihl = 5;
  ip.tot_len = bpf_htons(20 + tcp_len);
  ip.frag_off = bpf_htons(0x4000);  // don't fragment, as synproxy_build_ip
  ip.ttl = 64;
  ip.protocol = IPPROTO_TCP;
  ip.saddr = o->saddr;
  ip.daddr = o->daddr;
  // The header's 32-bit words as they lie in memory (ones'-complement sums of 32-bit words fold
  // to the sum of their 16-bit halves), added here rather than by bpf_csum_diff: a helper call
  // and a reload of what was just written cost more than the five additions.
  __u64 ip_sum = (__u64)bpf_htonl(0x45000000 | (20 + tcp_len)) + bpf_htonl(0x00004000) +
                 bpf_htonl(64 << 24 | IPPROTO_TCP << 16) + o->saddr + o->daddr;
  ip.check = csum_fold(ip_sum);

  struct tcphdr th;
  __builtin_memset(&th, 0, sizeof(th));
  th.source = o->sport;
  th.dest = o->dport;
  th.seq = bpf_htonl(o->seq);
  th.ack_seq = bpf_htonl(o->ack);
  ((__u8*)&th)[12] = (__u8)((tcp_len / 4) << 4);
  ((__u8*)&th)[13] = o->flags;
  th.window = bpf_htons(o->window);

  // The options, as 32-bit words, and their sum.
  __u32 words[5] = {0, 0, 0, 0, 0};
  if (o->options & OUT_MSS) words[0] = bpf_htonl(TCPOPT_MSS << 24 | 4 << 16 | o->mss);
  __u32 n = o->options & OUT_MSS ? 1 : 0;
  if (o->options & OUT_TS) {
    __u32 head = o->options & OUT_SACK_PERM
                     ? bpf_htonl(TCPOPT_SACK_PERM << 24 | 2 << 16 | TCPOPT_TIMESTAMP << 8 | 10)
                     : bpf_htonl(TCPOPT_NOP << 24 | TCPOPT_NOP << 16 | TCPOPT_TIMESTAMP << 8 | 10);
    if (n) {
      words[1] = head;
      words[2] = bpf_htonl(o->tsval);
      words[3] = bpf_htonl(o->tsecr);
    } else {
      words[0] = head;
      words[1] = bpf_htonl(o->tsval);
      words[2] = bpf_htonl(o->tsecr);
    }
    n += 3;
  } else if (o->options & OUT_SACK_PERM) {
    __u32 w = bpf_htonl(TCPOPT_NOP << 24 | TCPOPT_NOP << 16 | TCPOPT_SACK_PERM << 8 | 2);
    if (n)
      words[1] = w;
    else
      words[0] = w;
    n += 1;
  }
  if (o->options & OUT_WSCALE) {
    __u32 w = bpf_htonl(TCPOPT_NOP << 24 | TCPOPT_WINDOW << 16 | 3 << 8 | o->wscale);
    if (n == 4)
      words[4] = w;
    else if (n == 2)
      words[2] = w;
    else if (n == 1)
      words[1] = w;
    else
      words[0] = w;
  }

  // Checksum: the pseudo-header, the header's words as they lie in memory (the checksum and
  // urgent pointer are zero), the options (zero words add nothing).
  __u64 sum = (__u64)o->saddr + o->daddr + bpf_htons(IPPROTO_TCP) + bpf_htons(tcp_len);
  sum += (__u64)o->sport + o->dport + th.seq + th.ack_seq +
         bpf_htonl((tcp_len / 4) << 28 | (__u32)o->flags << 16 | o->window);
  sum += (__u64)words[0] + words[1] + words[2] + words[3] + words[4];
  th.check = csum_fold(sum);

  if (l3 != 14 && l3 != 18) return -1;
  struct iphdr* pip = data + l3;
  if ((void*)(pip + 1) > data_end) return -1;
  __builtin_memcpy(pip, &ip, sizeof(ip));
  struct tcphdr* ptcp = (void*)(pip + 1);
  if ((void*)(ptcp + 1) > data_end) return -1;
  __builtin_memcpy(ptcp, &th, sizeof(th));
  __u8* popt = (void*)(ptcp + 1);
  if (optlen == 20) {
    if ((void*)(popt + 20) > data_end) return -1;
    __builtin_memcpy(popt, words, 20);
  } else if (optlen == 16) {
    if ((void*)(popt + 16) > data_end) return -1;
    __builtin_memcpy(popt, words, 16);
  } else if (optlen == 12) {
    if ((void*)(popt + 12) > data_end) return -1;
    __builtin_memcpy(popt, words, 12);
  } else if (optlen == 8) {
    if ((void*)(popt + 8) > data_end) return -1;
    __builtin_memcpy(popt, words, 8);
  } else if (optlen == 4) {
    if ((void*)(popt + 4) > data_end) return -1;
    __builtin_memcpy(popt, words, 4);
  }
  return 0;
}

// bpf_tcp_raw_gen_syncookie_ipv4 on a header made on the stack: the cookie of a SYN from
// saddr:sport to daddr:dport with sequence number `seq` and MSS option `mss` (0: none, which the
// helper reads as 536). Returns the helper's result (cookie | MSS << 32, or a negative error).
static __always_inline __s64 gen_cookie(__be32 saddr, __be32 daddr, __be16 sport, __be16 dport,
                                        __u32 seq, __u16 mss) {
  struct iphdr ip;
  __builtin_memset(&ip, 0, sizeof(ip));
  ip.version = 4;
  ip.ihl = 5;
  ip.protocol = IPPROTO_TCP;
  ip.saddr = saddr;
  ip.daddr = daddr;
  struct {
    struct tcphdr th;
    __u8 opt[4];
  } syn;
  __builtin_memset(&syn, 0, sizeof(syn));
  syn.th.source = sport;
  syn.th.dest = dport;
  syn.th.seq = bpf_htonl(seq);
  ((__u8*)&syn.th)[12] = 6 << 4;
  ((__u8*)&syn.th)[13] = TCP_SYN;
  syn.opt[0] = TCPOPT_MSS;
  syn.opt[1] = 4;
  syn.opt[2] = mss >> 8;
  syn.opt[3] = mss & 0xff;
  return bpf_tcp_raw_gen_syncookie_ipv4(&ip, &syn.th, sizeof(syn));
}

static __always_inline __u64 timeout_ns(const struct synproxy_config* cfg, __u8 state) {
  __u64 s;
  if (state == CONN_SYN_SENT || state == CONN_RELAYED)
    s = cfg->handshake_timeout_s ? cfg->handshake_timeout_s : 30;
  else if (state == CONN_CLOSING)
    s = cfg->closing_timeout_s ? cfg->closing_timeout_s : 120;
  else
    s = cfg->established_timeout_s ? cfg->established_timeout_s : 3600;
  return s * NSEC_PER_SEC;
}

// The connection of `key`, or NULL when there is none or it has timed out (then forgotten).
static __always_inline struct conn* find_conn(const struct synproxy_config* cfg,
                                              struct conn_key* key, __u64 now) {
  struct conn* c = bpf_map_lookup_elem(&conns, key);
  if (!c) return 0;
  if (now - c->last_ns > timeout_ns(cfg, c->state)) {
    bpf_map_delete_elem(&conns, key);
    COUNT(counters, SP_EXPIRED);
    return 0;
  }
  return c;
}

// Moves the connection on after a FIN or RST.
static __always_inline void track_close(struct conn* c, __u8 flags, __u64 now) {
  if (flags & (TCP_FIN | TCP_RST)) c->state = CONN_CLOSING;
  c->last_ns = now;
}

// The timestamp option at packet offset `ts_off`, if any: replaces its value (which = 0) or
// echo (which = 1) by itself plus `add`, keeping the TCP checksum right.
static __always_inline void ts_add(void* data, void* data_end, struct tcphdr* tcp, __u32 ts_off,
                                   int which, __u32 add) {
  if (!ts_off) return;
  __u8* t = data + (ts_off & OFF_MASK);
  if ((void*)(t + 10) > data_end) return;
  __u32* field = (__u32*)(t + 2 + 4 * which);
  __u32 old = *field;
  __u32 new = bpf_htonl(bpf_ntohl(old) + add);
  *field = new;
  tcp->check = csum_replace4(tcp->check, old, new, ts_off & 1);
}

// The SACK blocks of the option at packet offset `sack_off` (length `len`), each edge plus `add`.
static __always_inline void sack_add(void* data, void* data_end, struct tcphdr* tcp, __u32 sack_off,
                                     __u32 len, __u32 add) {
  if (!sack_off) return;
  for (int b = 0; b < 4; b++) {
    if (10 + 8 * b > len) break;
    __u8* q = data + ((sack_off + 2 + 8 * b) & OFF_MASK);
    if ((void*)(q + 8) > data_end) break;
    __u32* edge = (__u32*)q;
    __u32 old = edge[0];
    __u32 new = bpf_htonl(bpf_ntohl(old) + add);
    edge[0] = new;
    tcp->check = csum_replace4(tcp->check, old, new, sack_off & 1);
    old = edge[1];
    new = bpf_htonl(bpf_ntohl(old) + add);
    edge[1] = new;
    tcp->check = csum_replace4(tcp->check, old, new, sack_off & 1);
  }
}

// The ACK that completes the server's handshake, in reply to its SYN-ACK `tcp` (XDP_TX).
static __always_inline int ack_server(struct xdp_md* volatile* ctxp, __u32 l3, struct iphdr* ip,
                                      struct tcphdr* tcp, const struct conn* c, __u32 srv_tsval) {
  struct tcp_out o;
  __builtin_memset(&o, 0, sizeof(o));
  o.saddr = ip->daddr;
  o.daddr = ip->saddr;
  o.sport = tcp->dest;
  o.dport = tcp->source;
  o.seq = c->client_isn + 1;
  o.ack = bpf_ntohl(tcp->seq) + 1;
  o.flags = TCP_ACK;
  o.window = c->client_window;
  if (c->flags & CONN_TS) {
    o.options = OUT_TS;
    o.tsval = c->client_tsval;
    o.tsecr = srv_tsval;
  }
  if (emit(ctxp, l3, 1, &o)) return XDP_ABORTED;
  COUNT(counters, SP_SERVER_ACK);
  return XDP_TX;
}

// A client's SYN: the cookie SYN-ACK.
static __always_inline int client_syn(struct xdp_md* volatile* ctxp, __u32 l3,
                                      const struct synproxy_config* cfg, struct tcp_opts* opts,
                                      struct iphdr* ip, struct tcphdr* tcp, __u64 now) {
  __u8 offered = cfg->options ? cfg->options : SYNPROXY_OPT_DEFAULT;
  __u8 wscale = cfg->options ? cfg->wscale : 7;
  if (wscale > 14) wscale = 14;
  __s64 value =
      gen_cookie(ip->saddr, ip->daddr, tcp->source, tcp->dest, bpf_ntohl(tcp->seq), opts->mss);
  if (value < 0) return XDP_DROP;
  struct tcp_out o;
  __builtin_memset(&o, 0, sizeof(o));
  o.saddr = ip->daddr;
  o.daddr = ip->saddr;
  o.sport = tcp->dest;
  o.dport = tcp->source;
  o.seq = (__u32)value;
  o.ack = bpf_ntohl(tcp->seq) + 1;
  o.flags = TCP_SYN | TCP_ACK;
  o.window = 0;
  o.options = OUT_MSS;
  o.mss = cfg->mss ? cfg->mss : 1460;
  if (opts->ts && (offered & SYNPROXY_OPT_TIMESTAMP)) {
    __u8* t = (void*)(long)(*ctxp)->data + (opts->ts & OFF_MASK);
    if ((void*)(t + 10) > (void*)(long)(*ctxp)->data_end) return XDP_DROP;
    o.options |= OUT_TS;
    // synproxy_init_timestamp_cookie: milliseconds, the low 6 bits the client's options.
    __u32 tsval = (__u32)(now / NSEC_PER_MSEC) & ~0x3fu;
    if (opts->wscale != NO_WSCALE && (offered & SYNPROXY_OPT_WSCALE)) {
      tsval |= opts->wscale;
      o.options |= OUT_WSCALE;
      o.wscale = wscale;
    } else {
      tsval |= 0xf;
    }
    if (opts->sack_ok && (offered & SYNPROXY_OPT_SACK_PERM)) {
      tsval |= 1 << 4;
      o.options |= OUT_SACK_PERM;
    }
    o.tsval = tsval;
    o.tsecr = bpf_ntohl(*(__u32*)(t + 2));
  }
  if (emit(ctxp, l3, 1, &o)) return XDP_ABORTED;
  COUNT(counters, SP_SYN);
  return XDP_TX;
}

// A client's ACK without a connection (or during the handshake): checks the cookie, and turns
// the ACK into the client's SYN to the server.
static __always_inline int client_ack(struct xdp_md* volatile* ctxp, __u32 l3,
                                      const struct synproxy_config* cfg, struct tcp_opts* opts,
                                      struct iphdr* ip, struct tcphdr* tcp, struct conn_key* key,
                                      __u64 now) {
  __u8 flags = ((__u8*)tcp)[13];
  if ((flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) != TCP_ACK ||
      bpf_tcp_raw_check_syncookie_ipv4(ip, tcp) != 0) {
    COUNT(counters, SP_ACK_INVALID);
    return XDP_DROP;
  }
  __u32 cookie = bpf_ntohl(tcp->ack_seq) - 1;
  __u32 isn = bpf_ntohl(tcp->seq) - 1;
  // The helper says the cookie is good, not which MSS it encodes: make the cookie of each MSS of
  // Linux's table (most likely first) and keep the one that matches. A cookie of the previous
  // minute matches none (the minute counter has moved on): then the smallest, 536.
  __u16 mss = 0;
  const __u16 table[4] = {1460, 1440, 1300, 536};
#pragma unroll
  for (int i = 0; i < 4; i++) {
    __s64 v = gen_cookie(ip->saddr, ip->daddr, tcp->source, tcp->dest, isn, table[i]);
    if (v >= 0 && (__u32)v == cookie) {
      mss = table[i];
      break;
    }
  }
  if (!mss) {
    mss = 536;
    COUNT(counters, SP_MSS_FALLBACK);
  }

  struct conn c;
  __builtin_memset(&c, 0, sizeof(c));
  c.last_ns = now;
  c.cookie = cookie;
  c.client_isn = isn;
  c.client_window = bpf_ntohs(tcp->window);
  c.state = CONN_SYN_SENT;
  c.server_shift = 0;
  c.client_shift = 0;

  struct tcp_out o;
  __builtin_memset(&o, 0, sizeof(o));
  o.saddr = ip->saddr;
  o.daddr = ip->daddr;
  o.sport = tcp->source;
  o.dport = tcp->dest;
  o.seq = isn;
  o.ack = 0;
  o.flags = TCP_SYN;
  o.window = bpf_ntohs(tcp->window);
  o.options = OUT_MSS;
  o.mss = mss;
  __u8 offered = cfg->options ? cfg->options : SYNPROXY_OPT_DEFAULT;
  if (opts->ts && (offered & SYNPROXY_OPT_TIMESTAMP)) {
    __u8* t = (void*)(long)(*ctxp)->data + (opts->ts & OFF_MASK);
    if ((void*)(t + 10) > (void*)(long)(*ctxp)->data_end) return XDP_DROP;
    __u32 tsval = bpf_ntohl(*(__u32*)(t + 2));
    __u32 tsecr = bpf_ntohl(*(__u32*)(t + 6));
    // synproxy_check_timestamp_cookie: the echo carries the client's SYN options.
    o.options |= OUT_TS;
    o.tsval = tsval;
    o.tsecr = 0;
    if ((tsecr & 0xf) != 0xf) {
      o.options |= OUT_WSCALE;
      o.wscale = tsecr & 0xf;
      c.client_shift = cfg->options ? cfg->wscale : 7;
      if (c.client_shift > 14) c.client_shift = 14;
    }
    if (tsecr & (1 << 4)) o.options |= OUT_SACK_PERM;
    c.flags |= CONN_TS;
    c.ts_cookie = tsecr;
    c.client_tsval = tsval;
  }
  if (bpf_map_update_elem(&conns, key, &c, BPF_ANY)) return XDP_DROP;
  if (emit(ctxp, l3, 0, &o)) return XDP_ABORTED;
  COUNT(counters, SP_ACK_VALID);
  return XDP_PASS;
}

static __always_inline int client_packet(struct xdp_md* volatile* ctxp, __u32 l3,
                                         const struct synproxy_config* cfg, struct tcp_opts* opts,
                                         struct iphdr* ip, struct tcphdr* tcp, __u64 now) {
  __u8 flags = ((__u8*)tcp)[13];
  if ((flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) == TCP_SYN)
    return client_syn(ctxp, l3, cfg, opts, ip, tcp, now);
  struct conn_key key = {.client_addr = ip->saddr,
                         .server_addr = ip->daddr,
                         .client_port = tcp->source,
                         .server_port = tcp->dest};
  struct conn* c = find_conn(cfg, &key, now);
  if (!c) return client_ack(ctxp, l3, cfg, opts, ip, tcp, &key, now);
  // The addresses and ports of a closed connection used again: a client may reuse its port at
  // once when the server closed first (the server keeps TIME-WAIT, the client nothing), as ab
  // does within a second. A handshake ACK with a valid cookie then starts the new connection
  // (as conntrack reopens a closed one on a new SYN); translated into the old connection's
  // numbers it would only draw the server's TIME-WAIT ACK, and the client would wait forever.
  if (c->state == CONN_CLOSING && (flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) == TCP_ACK &&
      bpf_tcp_raw_check_syncookie_ipv4(ip, tcp) == 0)
    return client_ack(ctxp, l3, cfg, opts, ip, tcp, &key, now);
  if (c->state == CONN_SYN_SENT) {
    // The same ACK again sends the SYN again; anything else waits for the server.
    if (bpf_ntohl(tcp->ack_seq) == c->cookie + 1 && bpf_ntohl(tcp->seq) == c->client_isn + 1 &&
        (flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) == TCP_ACK)
      return client_ack(ctxp, l3, cfg, opts, ip, tcp, &key, now);
    COUNT(counters, SP_EARLY_CLIENT);
    return XDP_DROP;
  }
  if (c->state == CONN_RELAYED) c->state = CONN_ESTABLISHED;
  void* data = (void*)(long)(*ctxp)->data;
  void* data_end = (void*)(long)(*ctxp)->data_end;
  if (flags & TCP_ACK) {
    __u32 old = tcp->ack_seq;
    __u32 new = bpf_htonl(bpf_ntohl(old) - c->delta);
    tcp->ack_seq = new;
    tcp->check = csum_replace4(tcp->check, old, new, 0);
    sack_add(data, data_end, tcp, opts->sack, opts->sack_len, -c->delta);
  }
  if (c->flags & CONN_TS) ts_add(data, data_end, tcp, opts->ts, 1, c->tsoff);
  track_close(c, flags, now);
  COUNT(counters, SP_CLIENT_TO_SERVER);
  return XDP_PASS;
}

static __always_inline int server_packet(struct xdp_md* volatile* ctxp, __u32 l3,
                                         const struct synproxy_config* cfg, struct tcp_opts* opts,
                                         struct iphdr* ip, struct tcphdr* tcp, __u64 now) {
  __u8 flags = ((__u8*)tcp)[13];
  struct conn_key key = {.client_addr = ip->daddr,
                         .server_addr = ip->saddr,
                         .client_port = tcp->dest,
                         .server_port = tcp->source};
  struct conn* c = find_conn(cfg, &key, now);
  void* data = (void*)(long)(*ctxp)->data;
  void* data_end = (void*)(long)(*ctxp)->data_end;
  __u32 srv_tsval = 0;
  if (opts->ts) {
    __u8* t = data + (opts->ts & OFF_MASK);
    if ((void*)(t + 10) > data_end) return XDP_DROP;
    srv_tsval = bpf_ntohl(*(__u32*)(t + 2));
  }
  if ((flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) == (TCP_SYN | TCP_ACK)) {
    if (!c) {
      COUNT(counters, SP_SYNACK_STRAY);
      return XDP_DROP;
    }
    if (c->state != CONN_SYN_SENT) {
      // A retransmission: the server has not had our ACK (or the client's first segment).
      if (bpf_ntohl(tcp->seq) + c->delta != c->cookie ||
          bpf_ntohl(tcp->ack_seq) != c->client_isn + 1) {
        COUNT(counters, SP_SYNACK_STRAY);
        return XDP_DROP;
      }
      c->last_ns = now;
      if (c->state == CONN_RELAYED) c->state = CONN_ESTABLISHED;
      return ack_server(ctxp, l3, ip, tcp, c, srv_tsval);
    }
    if (bpf_ntohl(tcp->ack_seq) != c->client_isn + 1) {
      COUNT(counters, SP_SYNACK_STRAY);
      return XDP_DROP;
    }
    c->delta = c->cookie - bpf_ntohl(tcp->seq);
    if ((c->flags & CONN_TS) && opts->ts)
      c->tsoff = srv_tsval - c->ts_cookie;
    else
      c->flags &= ~CONN_TS;
    c->server_shift = opts->wscale != NO_WSCALE && c->client_shift ? opts->wscale : 0;
    if (!c->client_shift) c->server_shift = 0;
    c->last_ns = now;
    COUNT(counters, SP_SYNACK);
    if (cfg->options & SYNPROXY_ACK_SERVER_FIRST) {
      c->state = CONN_ESTABLISHED;
      return ack_server(ctxp, l3, ip, tcp, c, srv_tsval);
    }
    // The window update SYNPROXY sends the client (synproxy_send_client_ack), made of the
    // SYN-ACK: our ISN + 1, the server's window in the client's scale, our timestamps.
    c->state = CONN_RELAYED;
    struct tcp_out o;
    __builtin_memset(&o, 0, sizeof(o));
    o.saddr = ip->saddr;
    o.daddr = ip->daddr;
    o.sport = tcp->source;
    o.dport = tcp->dest;
    o.seq = c->cookie + 1;
    o.ack = c->client_isn + 1;
    o.flags = TCP_ACK;
    o.window = bpf_ntohs(tcp->window) >> (c->client_shift & 15);
    if (c->flags & CONN_TS) {
      __u8* t = data + (opts->ts & OFF_MASK);
      if ((void*)(t + 10) > data_end) return XDP_DROP;
      o.options = OUT_TS;
      o.tsval = srv_tsval - c->tsoff;
      o.tsecr = bpf_ntohl(*(__u32*)(t + 6));
    }
    if (emit(ctxp, l3, 0, &o)) return XDP_ABORTED;
    COUNT(counters, SP_SERVER_TO_CLIENT);
    return XDP_PASS;
  }
  if (!c) {
    COUNT(counters, SP_SERVER_NO_STATE);
    return XDP_DROP;
  }
  if (c->state == CONN_SYN_SENT) {
    // Only a refusal can come before the SYN-ACK: the client sees it at the sequence number it
    // expects.
    if (!(flags & TCP_RST)) {
      COUNT(counters, SP_SERVER_NO_STATE);
      return XDP_DROP;
    }
    c->delta = c->cookie + 1 - bpf_ntohl(tcp->seq);
  }
  __u32 old = tcp->seq;
  __u32 new = bpf_htonl(bpf_ntohl(old) + c->delta);
  tcp->seq = new;
  tcp->check = csum_replace4(tcp->check, old, new, 0);
  if (c->server_shift != c->client_shift) {
    __u32 w = ((__u32)bpf_ntohs(tcp->window) << (c->server_shift & 15)) >> (c->client_shift & 15);
    if (w > 0xffff) w = 0xffff;
    __u16 oldw = tcp->window;
    tcp->window = bpf_htons(w);
    tcp->check = csum_replace2(tcp->check, oldw, tcp->window);
  }
  if (c->flags & CONN_TS) ts_add(data, data_end, tcp, opts->ts, 0, -c->tsoff);
  track_close(c, flags, now);
  COUNT(counters, SP_SERVER_TO_CLIENT);
  return XDP_PASS;
}

SEC("xdp")
int synproxy(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_PASS;
  __u32 l3 = sizeof(*eth);
  __be16 proto = eth->h_proto;
  if (proto == bpf_htons(ETH_P_8021Q)) {
    struct vlan_hdr* vlan = (void*)(eth + 1);
    if ((void*)(vlan + 1) > data_end) return XDP_PASS;
    proto = vlan->proto;
    l3 += sizeof(*vlan);
  }
  if (proto != bpf_htons(ETH_P_IP)) goto unprotected;
  struct iphdr* ip = data + l3;
  if ((void*)(ip + 1) > data_end || ip->protocol != IPPROTO_TCP) goto unprotected;
  struct tcphdr* tcp = (void*)ip + ip->ihl * 4;
  if (ip->ihl < 5 || (void*)(tcp + 1) > data_end) goto unprotected;

  __u32 zero = 0;
  const struct synproxy_config* cfg = bpf_map_lookup_elem(&config, &zero);
  if (!cfg) return XDP_PASS;
  __be32 mask = cfg->server_mask ? cfg->server_mask : 0xffffffff;
  int to_server = !cfg->server_addr || (ip->daddr & mask) == cfg->server_addr;
  int from_server = !cfg->server_addr || (ip->saddr & mask) == cfg->server_addr;
  if (cfg->server_ifindex) {
    if (ctx->ingress_ifindex == cfg->server_ifindex)
      to_server = 0;
    else
      from_server = 0;
  }
  __u32 port = bpf_ntohs(tcp->dest);
  __u8* protected = bpf_map_lookup_elem(&ports, &port);
  to_server = to_server && protected && *protected;
  port = bpf_ntohs(tcp->source);
  protected = bpf_map_lookup_elem(&ports, &port);
  from_server = from_server && protected && *protected;
  if (!to_server && !from_server) goto unprotected;

  // The protected service's packets: plain IPv4 and a whole TCP header, or dropped.
  if (ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff)) || tcp->doff < 5) {
    COUNT(counters, SP_MALFORMED);
    return XDP_DROP;
  }
  struct tcp_opts* opts = bpf_map_lookup_elem(&scratch, &zero);
  if (!opts) return XDP_DROP;
  if (parse_tcp_options(data, data_end, l3 + 40, tcp->doff * 4 - 20, opts) > 40) return XDP_DROP;
  __u64 now = bpf_ktime_get_ns();
  // The context through one stack slot that holds nothing else: every reload of it is then the
  // context on every path, as vigil's load-time rewrite of context accesses must see (it follows
  // registers and slots through the program's paths all at once, not one path at a time).
  struct xdp_md* volatile ctx_slot = ctx;
  if (to_server) return client_packet(&ctx_slot, l3, cfg, opts, ip, tcp, now);
  return server_packet(&ctx_slot, l3, cfg, opts, ip, tcp, now);

unprotected:
  COUNT(counters, SP_UNPROTECTED);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

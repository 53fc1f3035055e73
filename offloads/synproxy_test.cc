// synproxy.bpf.c on vigil's interpreter, vigil's JIT and the kernel (BPF_PROG_TEST_RUN, the same
// object; skipped without root): a whole proxied connection — client SYN, cookie SYN-ACK, ACK,
// SYN to the server, the server's SYN-ACK, the window update, data both ways with SACK blocks and
// timestamps, a retransmitted SYN-ACK, FIN — checked packet by packet against what SYNPROXY
// sends, cookies checked with vigil's copy of Linux's algorithm (ebpf/syncookie.h), plus the
// drops (invalid ACKs, stray SYN-ACKs) and random frames compared across the three engines.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>

#include "craft/frame.h"
#include "ebpf/syncookie.h"
#include "offloads/offload_harness.h"

namespace vigil::offloads {
namespace {

constexpr uint32_t kPass = 2, kDrop = 1, kTx = 3;
constexpr uint16_t kClientPort = 40000, kServerPort = 80;

// Counter indices of synproxy.bpf.c.
enum {
  kSyn = 0,
  kAckValid,
  kAckInvalid,
  kMssFallback,
  kSynAck,
  kSynAckStray,
  kServerAck,
  kClientToServer,
  kServerToClient,
  kServerNoState,
  kExpired,
  kMalformed,
  kUnprotected,
  kEarlyClient,
};

std::string ObjectPath() { return std::string(VIGIL_OFFLOAD_DIR) + "/synproxy.bpf.o"; }

uint32_t Be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
uint16_t Be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
void Put32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24), p[1] = uint8_t(v >> 16), p[2] = uint8_t(v >> 8), p[3] = uint8_t(v);
}

// Options as Linux lays them out.
Bytes Mss(uint16_t mss) { return {2, 4, uint8_t(mss >> 8), uint8_t(mss)}; }
Bytes Ts(uint32_t val, uint32_t ecr, bool sack_perm = false) {
  Bytes b = sack_perm ? Bytes{4, 2, 8, 10} : Bytes{1, 1, 8, 10};
  b.resize(12);
  Put32(b.data() + 4, val);
  Put32(b.data() + 8, ecr);
  return b;
}
Bytes Ws(uint8_t ws) { return {1, 3, 3, ws}; }
Bytes Sack(std::vector<std::pair<uint32_t, uint32_t>> blocks) {
  Bytes b = {1, 1, 5, uint8_t(2 + 8 * blocks.size())};
  for (auto [l, r] : blocks) {
    b.resize(b.size() + 8);
    Put32(b.data() + b.size() - 8, l);
    Put32(b.data() + b.size() - 4, r);
  }
  return b;
}
Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct Seg {
  bool from_client = true;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  Bytes options;
  Bytes payload;
  uint16_t dport = kServerPort;
};

Bytes Frame(const Seg& s) {
  craft::FrameSpec spec;
  spec.ethernet->src = s.from_client ? craft::kClientMac : craft::kServerMac;
  spec.ethernet->dst = s.from_client ? craft::kServerMac : craft::kClientMac;
  spec.ip.src = craft::Addr(s.from_client ? "10.0.0.1" : "10.0.0.2");
  spec.ip.dst = craft::Addr(s.from_client ? "10.0.0.2" : "10.0.0.1");
  spec.transport = craft::TcpHeader{.src_port = s.from_client ? kClientPort : s.dport,
                                    .dst_port = s.from_client ? s.dport : kClientPort,
                                    .seq = s.seq,
                                    .ack = s.ack,
                                    .flags = s.flags,
                                    .window = s.window,
                                    .options = s.options};
  spec.payload = s.payload;
  return craft::BuildFrame(spec);
}

// A parsed output frame (Ethernet, 20-byte IPv4 header, TCP).
struct Out {
  Bytes frame;
  const uint8_t* ip() const { return frame.data() + 14; }
  const uint8_t* tcp() const { return frame.data() + 34; }
  uint32_t saddr() const { return Be32(ip() + 12); }
  uint16_t sport() const { return Be16(tcp()); }
  uint16_t dport() const { return Be16(tcp() + 2); }
  uint32_t seq() const { return Be32(tcp() + 4); }
  uint32_t ack() const { return Be32(tcp() + 8); }
  uint8_t flags() const { return tcp()[13]; }
  uint16_t window() const { return Be16(tcp() + 14); }
  size_t tcp_len() const { return size_t(tcp()[12] >> 4) * 4; }
  Bytes options() const { return Bytes(tcp() + 20, tcp() + tcp_len()); }
  Bytes payload() const { return Bytes(tcp() + tcp_len(), frame.data() + 14 + Be16(ip() + 2)); }
};

uint16_t Fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}
uint64_t SumBe16(const uint8_t* p, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; i += 2) s += uint32_t(p[i]) << 8 | (i + 1 < n ? p[i + 1] : 0);
  return s;
}

// Both checksums of an output frame are right (they sum to 0xffff).
void ExpectChecksums(const Out& o) {
  ASSERT_GE(o.frame.size(), 54u);
  EXPECT_EQ(o.ip()[0], 0x45);
  EXPECT_EQ(Fold(SumBe16(o.ip(), 20)), 0xffff) << "IP checksum";
  const size_t tcp_len = Be16(o.ip() + 2) - 20;
  ASSERT_LE(34 + tcp_len, o.frame.size());
  uint64_t s = SumBe16(o.ip() + 12, 8) + 6 + tcp_len + SumBe16(o.tcp(), tcp_len);
  EXPECT_EQ(Fold(s), 0xffff) << "TCP checksum";
}

struct Config {
  uint8_t options = 0;  // 0: defaults
  uint8_t wscale = 7;
};

class Proxy {
 public:
  explicit Proxy(std::unique_ptr<OffloadEngine> e, Config cfg = {}) : e_(std::move(e)) {
    // struct synproxy_config: server 10.0.0.2/32, MSS 1460, options.
    Bytes c(28, 0);
    c[0] = 10, c[3] = 2;
    c[12] = 0xb4, c[13] = 0x05;
    c[14] = cfg.wscale;
    c[15] = cfg.options;
    EXPECT_TRUE(e_->Update("config", Le(0, 4), c));
    EXPECT_TRUE(e_->Update("ports", Le(kServerPort, 4), Bytes{1}));
  }
  RunResult Run(const Seg& s) {
    auto r = e_->Run(Frame(s));
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : RunResult{};
  }
  OffloadEngine& engine() { return *e_; }

 private:
  std::unique_ptr<OffloadEngine> e_;
};

class SynproxyTest : public ::testing::TestWithParam<EngineKind> {
 protected:
  std::unique_ptr<OffloadEngine> Open() {
    auto e = OffloadEngine::Open(GetParam(), ObjectPath(), "synproxy");
    if (!e) {
      if (GetParam() == EngineKind::kKernel) return nullptr;
      ADD_FAILURE() << e.error().message;
      return nullptr;
    }
    return std::move(*e);
  }
  bool vigil() const { return GetParam() != EngineKind::kKernel; }
};

#define OPEN_OR_SKIP(name, ...)                                \
  auto name##_engine = Open();                                 \
  if (!name##_engine) {                                        \
    if (GetParam() == EngineKind::kKernel)                     \
      GTEST_SKIP() << "the kernel cannot run it here (root?)"; \
    return;                                                    \
  }                                                            \
  Proxy name(std::move(name##_engine), ##__VA_ARGS__)

// The whole connection, every packet checked against SYNPROXY's.
TEST_P(SynproxyTest, ProxiesAWholeConnection) {
  OPEN_OR_SKIP(p);
  const uint32_t isn = 1000, srv_isn = 900000;
  // Client SYN with Linux's options: MSS, SACK permitted, timestamps, window scale 7.
  auto r = p.Run({.seq = isn,
                  .flags = packet::kTcpSyn,
                  .window = 64240,
                  .options = Cat({Mss(1460), Ts(5000, 0, true), Ws(7)})});
  ASSERT_EQ(r.action, kTx);
  Out synack{r.frame};
  ExpectChecksums(synack);
  EXPECT_EQ(synack.saddr(), 0x0a000002u);
  EXPECT_EQ(Bytes(synack.frame.begin(), synack.frame.begin() + 6),
            Bytes(craft::kClientMac.begin(), craft::kClientMac.end()));
  EXPECT_EQ(synack.sport(), kServerPort);
  EXPECT_EQ(synack.dport(), kClientPort);
  EXPECT_EQ(synack.flags(), packet::kTcpSyn | packet::kTcpAck);
  EXPECT_EQ(synack.ack(), isn + 1);
  EXPECT_EQ(synack.window(), 0);
  const uint32_t cookie = synack.seq();
  // The options as synproxy_build_options writes them: MSS 1460, SACK-permitted + timestamps,
  // NOP + window scale 7; the timestamp's low 6 bits: the client's scale 7 and SACK.
  const Bytes opts = synack.options();
  ASSERT_EQ(opts.size(), 20u);
  EXPECT_EQ(Bytes(opts.begin(), opts.begin() + 8), (Bytes{2, 4, 0x05, 0xb4, 4, 2, 8, 10}));
  const uint32_t ts_cookie = Be32(opts.data() + 8);
  EXPECT_EQ(ts_cookie & 0x3f, 0x17u);
  EXPECT_EQ(Be32(opts.data() + 12), 5000u);
  EXPECT_EQ(Bytes(opts.begin() + 16, opts.end()), (Bytes{1, 3, 3, 7}));
  if (vigil()) {
    // The cookie is Linux's for MSS 1460 (vigil's secret), and the timestamp vigil's clock's.
    EXPECT_EQ(ts_cookie, uint32_t(OffloadClock::now_ns / 1000000) & ~0x3fu | 0x17);
    const Bytes ack_frame = Frame({.seq = isn + 1, .ack = cookie + 1, .flags = packet::kTcpAck});
    EXPECT_EQ(ebpf::CookieV4Check(ebpf::SyncookieKeys::Process(), ack_frame.data() + 14,
                                  ack_frame.data() + 34, cookie, ebpf::SyncookieTime()),
              1460);
  }

  // A forged ACK is dropped.
  r = p.Run({.seq = isn + 1, .ack = cookie + 2, .flags = packet::kTcpAck, .window = 502});
  EXPECT_EQ(r.action, kDrop);

  // The client's ACK becomes its SYN to the server: ISN, window, MSS from the cookie, window
  // scale and SACK from the timestamp echo, the client's timestamp.
  r = p.Run({.seq = isn + 1,
             .ack = cookie + 1,
             .flags = packet::kTcpAck,
             .window = 502,
             .options = Ts(5001, ts_cookie)});
  ASSERT_EQ(r.action, kPass);
  Out syn{r.frame};
  ExpectChecksums(syn);
  EXPECT_EQ(syn.saddr(), 0x0a000001u);
  EXPECT_EQ(syn.sport(), kClientPort);
  EXPECT_EQ(syn.flags(), packet::kTcpSyn);
  EXPECT_EQ(syn.seq(), isn);
  EXPECT_EQ(syn.window(), 502);
  EXPECT_EQ(syn.options(), Cat({Mss(1460), Ts(5001, 0, true), Ws(7)}));

  // The server's SYN-ACK (its own ISN and timestamps) becomes the window update to the client.
  const uint32_t srv_ts = 777000;
  r = p.Run({.from_client = false,
             .seq = srv_isn,
             .ack = isn + 1,
             .flags = packet::kTcpSyn | packet::kTcpAck,
             .window = 65160,
             .options = Cat({Mss(1460), Ts(srv_ts, 5001, true), Ws(7)})});
  ASSERT_EQ(r.action, kPass);
  Out update{r.frame};
  ExpectChecksums(update);
  EXPECT_EQ(update.flags(), packet::kTcpAck);
  EXPECT_EQ(update.seq(), cookie + 1);
  EXPECT_EQ(update.ack(), isn + 1);
  EXPECT_EQ(update.window(), 65160 >> 7);
  EXPECT_EQ(update.options(), Ts(ts_cookie, 5001));

  // Client data: the acknowledgment and the timestamp echo in the server's numbers.
  const Bytes get = craft::ToBytes("GET / HTTP/1.1\r\nHost: server\r\n\r\n");
  r = p.Run({.seq = isn + 1,
             .ack = cookie + 1,
             .flags = packet::kTcpAck | packet::kTcpPsh,
             .window = 502,
             .options = Ts(5002, ts_cookie),
             .payload = get});
  ASSERT_EQ(r.action, kPass);
  Out c2s{r.frame};
  ExpectChecksums(c2s);
  EXPECT_EQ(c2s.seq(), isn + 1);
  EXPECT_EQ(c2s.ack(), srv_isn + 1);
  EXPECT_EQ(c2s.options(), Ts(5002, srv_ts));
  EXPECT_EQ(c2s.payload(), get);

  // Server data: sequence and timestamp in the client's view.
  const Bytes body(1000, 'x');
  r = p.Run({.from_client = false,
             .seq = srv_isn + 1,
             .ack = isn + 1 + uint32_t(get.size()),
             .flags = packet::kTcpAck,
             .window = 500,
             .options = Ts(srv_ts + 10, 5002),
             .payload = body});
  ASSERT_EQ(r.action, kPass);
  Out s2c{r.frame};
  ExpectChecksums(s2c);
  EXPECT_EQ(s2c.seq(), cookie + 1);
  EXPECT_EQ(s2c.ack(), isn + 1 + get.size());
  EXPECT_EQ(s2c.window(), 500);  // the server's scale is the configured one
  EXPECT_EQ(s2c.options(), Ts(ts_cookie + 10, 5002));
  EXPECT_EQ(s2c.payload(), body);

  // A client ACK with SACK blocks (at an odd offset, after one NOP): the edges in the server's
  // numbers.
  Bytes sack_opts = Cat({Bytes{1}, Bytes{5, 18}, Bytes(16, 0), Ts(5003, ts_cookie + 10)});
  Put32(sack_opts.data() + 3, cookie + 2001);
  Put32(sack_opts.data() + 7, cookie + 3001);
  Put32(sack_opts.data() + 11, cookie + 4001);
  Put32(sack_opts.data() + 15, cookie + 5001);
  sack_opts.resize(32, 0);
  r = p.Run({.seq = isn + 1 + uint32_t(get.size()),
             .ack = cookie + 1001,
             .flags = packet::kTcpAck,
             .window = 500,
             .options = sack_opts});
  ASSERT_EQ(r.action, kPass);
  Out sacked{r.frame};
  ExpectChecksums(sacked);
  EXPECT_EQ(sacked.ack(), srv_isn + 1001);
  const Bytes so = sacked.options();
  EXPECT_EQ(Be32(so.data() + 3), srv_isn + 2001);
  EXPECT_EQ(Be32(so.data() + 7), srv_isn + 3001);
  EXPECT_EQ(Be32(so.data() + 11), srv_isn + 4001);
  EXPECT_EQ(Be32(so.data() + 15), srv_isn + 5001);
  EXPECT_EQ(Be32(so.data() + 23), 5003u);
  EXPECT_EQ(Be32(so.data() + 27), srv_ts + 10);

  // A retransmitted SYN-ACK is answered with the ACK to the server (XDP_TX).
  r = p.Run({.from_client = false,
             .seq = srv_isn,
             .ack = isn + 1,
             .flags = packet::kTcpSyn | packet::kTcpAck,
             .window = 65160,
             .options = Cat({Mss(1460), Ts(srv_ts + 1000, 5001, true), Ws(7)})});
  ASSERT_EQ(r.action, kTx);
  Out ack{r.frame};
  ExpectChecksums(ack);
  EXPECT_EQ(ack.saddr(), 0x0a000001u);
  EXPECT_EQ(ack.dport(), kServerPort);
  EXPECT_EQ(ack.flags(), packet::kTcpAck);
  EXPECT_EQ(ack.seq(), isn + 1);
  EXPECT_EQ(ack.ack(), srv_isn + 1);
  EXPECT_EQ(ack.window(), 502);
  EXPECT_EQ(ack.options(), Ts(5001, srv_ts + 1000));

  // FIN from the client: translated, and the connection is closing.
  r = p.Run({.seq = isn + 1 + uint32_t(get.size()),
             .ack = cookie + 1001,
             .flags = packet::kTcpAck | packet::kTcpFin,
             .window = 500,
             .options = Ts(5004, ts_cookie + 10)});
  ASSERT_EQ(r.action, kPass);
  EXPECT_EQ(Out{r.frame}.ack(), srv_isn + 1001);

  OffloadEngine& e = p.engine();
  EXPECT_EQ(e.Counter("counters", kSyn), 1u);
  EXPECT_EQ(e.Counter("counters", kAckValid), 1u);
  EXPECT_EQ(e.Counter("counters", kAckInvalid), 1u);
  EXPECT_EQ(e.Counter("counters", kSynAck), 1u);
  EXPECT_EQ(e.Counter("counters", kServerAck), 1u);
  EXPECT_EQ(e.Counter("counters", kClientToServer), 3u);
  EXPECT_EQ(e.Counter("counters", kServerToClient), 2u);
  EXPECT_EQ(e.Keys("conns").size(), 1u);
}

// A client that reuses its port as soon as the last connection closed (the server closed first:
// the server is in TIME-WAIT, the client holds nothing): its handshake ACK starts a new
// connection, the SYN with its new ISN goes to the server; the old connection's numbers are not
// applied to it.
TEST_P(SynproxyTest, APortUsedAgainAfterCloseStartsANewConnection) {
  OPEN_OR_SKIP(p);
  const uint32_t srv_isn = 900000;
  uint32_t isn = 1000;
  for (int incarnation = 0; incarnation < 2; ++incarnation, isn += 7777777) {
    auto r = p.Run({.seq = isn, .flags = packet::kTcpSyn, .window = 64240, .options = Mss(1460)});
    ASSERT_EQ(r.action, kTx) << incarnation;
    const uint32_t cookie = Out{r.frame}.seq();
    r = p.Run({.seq = isn + 1, .ack = cookie + 1, .flags = packet::kTcpAck, .window = 502});
    ASSERT_EQ(r.action, kPass) << incarnation;
    Out syn{r.frame};
    EXPECT_EQ(syn.flags(), packet::kTcpSyn) << incarnation;
    EXPECT_EQ(syn.seq(), isn) << incarnation;
    r = p.Run({.from_client = false,
               .seq = srv_isn + incarnation,
               .ack = isn + 1,
               .flags = packet::kTcpSyn | packet::kTcpAck,
               .window = 65160,
               .options = Mss(1460)});
    ASSERT_EQ(r.action, kPass) << incarnation;
    // The server closes first, then the client: both FINs through, the connection closing.
    r = p.Run({.from_client = false,
               .seq = srv_isn + incarnation + 1,
               .ack = isn + 1,
               .flags = packet::kTcpAck | packet::kTcpFin,
               .window = 500});
    ASSERT_EQ(r.action, kPass) << incarnation;
    r = p.Run({.seq = isn + 1,
               .ack = cookie + 2,
               .flags = packet::kTcpAck | packet::kTcpFin,
               .window = 500});
    ASSERT_EQ(r.action, kPass) << incarnation;
    EXPECT_EQ(Out{r.frame}.ack(), srv_isn + incarnation + 2) << incarnation;
  }
  OffloadEngine& e = p.engine();
  EXPECT_EQ(e.Counter("counters", kAckValid), 2u);
  EXPECT_EQ(e.Counter("counters", kSynAck), 2u);
  EXPECT_EQ(e.Keys("conns").size(), 1u);
}

// With SYNPROXY_ACK_SERVER_FIRST the server's first SYN-ACK is answered with the ACK at once;
// without timestamps the client's options are lost (as in SYNPROXY) but its MSS is not.
TEST_P(SynproxyTest, AcksTheServerFirstWhenConfiguredAndWorksWithoutTimestamps) {
  OPEN_OR_SKIP(p, Config{.options = 0x01 | 0x02 | 0x04 | 0x08, .wscale = 9});
  auto r = p.Run({.seq = 77, .flags = packet::kTcpSyn, .window = 8192, .options = Mss(1300)});
  ASSERT_EQ(r.action, kTx);
  Out synack{r.frame};
  EXPECT_EQ(synack.options(), Mss(1460));  // no timestamps: no scale, no SACK
  const uint32_t cookie = synack.seq();
  r = p.Run({.seq = 78, .ack = cookie + 1, .flags = packet::kTcpAck, .window = 8192});
  ASSERT_EQ(r.action, kPass);
  EXPECT_EQ(Out{r.frame}.options(), Mss(1300));  // the client's, from the cookie
  r = p.Run({.from_client = false,
             .seq = 5555,
             .ack = 78,
             .flags = packet::kTcpSyn | packet::kTcpAck,
             .window = 29200,
             .options = Mss(1460)});
  ASSERT_EQ(r.action, kTx);
  Out ack{r.frame};
  ExpectChecksums(ack);
  EXPECT_EQ(ack.seq(), 78u);
  EXPECT_EQ(ack.ack(), 5556u);
  EXPECT_EQ(ack.window(), 8192);
  EXPECT_TRUE(ack.options().empty());
  // Data from the server now reaches the client in its numbers.
  r = p.Run({.from_client = false,
             .seq = 5556,
             .ack = 78,
             .flags = packet::kTcpAck,
             .window = 29200,
             .payload = Bytes(10, 'y')});
  ASSERT_EQ(r.action, kPass);
  EXPECT_EQ(Out{r.frame}.seq(), cookie + 1);
  EXPECT_EQ(Out{r.frame}.window(), 29200);  // neither side scales
}

TEST_P(SynproxyTest, DropsStrayAndInvalidPacketsAndPassesOthers) {
  OPEN_OR_SKIP(p);
  // A SYN-ACK nobody asked for, and server data without a connection.
  EXPECT_EQ(
      p.Run({.from_client = false, .seq = 1, .ack = 2, .flags = packet::kTcpSyn | packet::kTcpAck})
          .action,
      kDrop);
  EXPECT_EQ(p.Run({.from_client = false, .seq = 1, .ack = 2, .flags = packet::kTcpAck}).action,
            kDrop);
  // ACKs with forged cookies, a RST without a connection.
  std::mt19937 rng(7);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(p.Run({.seq = rng(), .ack = rng(), .flags = packet::kTcpAck}).action, kDrop);
  EXPECT_EQ(p.Run({.seq = 5, .flags = packet::kTcpRst}).action, kDrop);
  // Another port passes untouched.
  const Seg other{.seq = 1, .flags = packet::kTcpSyn, .dport = 22};
  auto r = p.Run(other);
  EXPECT_EQ(r.action, kPass);
  EXPECT_EQ(r.frame, Frame(other));
  OffloadEngine& e = p.engine();
  EXPECT_EQ(e.Counter("counters", kSynAckStray), 1u);
  EXPECT_EQ(e.Counter("counters", kServerNoState), 1u);
  EXPECT_EQ(e.Counter("counters", kAckInvalid), 51u);
  EXPECT_EQ(e.Counter("counters", kUnprotected), 1u);
  EXPECT_TRUE(e.Keys("conns").empty());
}

// A connection idle past its timeout is forgotten (vigil's engines: their clock is the test's).
TEST_P(SynproxyTest, ForgetsConnectionsAfterTheTimeout) {
  if (!vigil()) GTEST_SKIP() << "the kernel's clock cannot be moved";
  OPEN_OR_SKIP(p);
  auto r = p.Run({.seq = 10, .flags = packet::kTcpSyn, .options = Mss(1460)});
  const uint32_t cookie = Out{r.frame}.seq();
  ASSERT_EQ(p.Run({.seq = 11, .ack = cookie + 1, .flags = packet::kTcpAck}).action, kPass);
  const uint64_t saved = OffloadClock::now_ns;
  OffloadClock::now_ns += 31'000'000'000ull;  // past the 30 s handshake timeout
  EXPECT_EQ(
      p.Run({.from_client = false, .seq = 9, .ack = 11, .flags = packet::kTcpSyn | packet::kTcpAck})
          .action,
      kDrop);
  OffloadClock::now_ns = saved;
  EXPECT_EQ(p.engine().Counter("counters", kExpired), 1u);
}

INSTANTIATE_TEST_SUITE_P(Engines, SynproxyTest,
                         ::testing::Values(EngineKind::kInterpreter, EngineKind::kJit,
                                           EngineKind::kKernel),
                         [](const auto& info) { return std::string(EngineName(info.param)); });

// Random frames to and from the protected port (every flag combination, options, truncations)
// through all three engines: the same verdicts, and the same frames but for what only the
// cookie's secret and the clock decide (a SYN-ACK's sequence number, timestamp and checksum).
TEST(SynproxyDifferential, SameVerdictsAndFramesOnEveryEngine) {
  auto kernel = OffloadEngine::Open(EngineKind::kKernel, ObjectPath(), "synproxy");
  std::vector<std::unique_ptr<Proxy>> engines;
  for (EngineKind k : {EngineKind::kInterpreter, EngineKind::kJit}) {
    auto e = OffloadEngine::Open(k, ObjectPath(), "synproxy");
    ASSERT_TRUE(e) << e.error().message;
    engines.push_back(std::make_unique<Proxy>(std::move(*e)));
  }
  if (kernel) engines.push_back(std::make_unique<Proxy>(std::move(*kernel)));
  std::mt19937 rng(21);
  const Bytes option_sets[] = {{},
                               Mss(1460),
                               Cat({Mss(536), Ts(1, 2, true), Ws(14)}),
                               Cat({Mss(9000), Ws(3)}),
                               Ts(3, 4),
                               Bytes{1, 1, 4, 2},
                               Bytes{2, 1, 8, 10, 0, 0},
                               Bytes{8, 40}};
  std::map<uint32_t, int> verdicts;
  for (int n = 0; n < 3000; ++n) {
    Seg s{.from_client = rng() % 3 != 0,
          .seq = rng(),
          .ack = rng(),
          .flags = uint8_t(rng() % 4 ? (rng() % 2 ? packet::kTcpSyn : packet::kTcpAck) : rng()),
          .window = uint16_t(rng()),
          .options = option_sets[rng() % std::size(option_sets)],
          .dport = uint16_t(rng() % 8 ? kServerPort : 443)};
    if (rng() % 4 == 0) s.payload.assign(rng() % 200, uint8_t(rng()));
    Bytes f = Frame(s);
    if (rng() % 10 == 0) f.resize(14 + rng() % (f.size() - 14));
    if (f.size() < 14) continue;
    std::vector<RunResult> results;
    for (auto& e : engines) {
      auto r = e->engine().Run(f);
      ASSERT_TRUE(r) << r.error().message;
      results.push_back(*r);
    }
    ++verdicts[results[0].action];
    for (size_t i = 1; i < results.size(); ++i) {
      Bytes a = results[0].frame, b = results[i].frame;
      if (results[0].action == kTx && a.size() >= 54 && a[47] == 0x12) {  // a SYN-ACK
        for (Bytes* x : {&a, &b})
          for (size_t j : {38, 39, 40, 41, 50, 51, 62, 63, 64, 65})
            if (j < x->size()) (*x)[j] = 0;
      }
      ASSERT_EQ(results[0].action, results[i].action) << "frame " << n << " engine " << i;
      ASSERT_EQ(a, b) << "frame " << n << " engine " << i;
    }
  }
  EXPECT_GE(verdicts.size(), 3u);  // passes, drops and cookie SYN-ACKs
  for (const char* counter_map : {"counters"})
    for (uint32_t c = 0; c < 14; ++c)
      for (size_t i = 1; i < engines.size(); ++i)
        EXPECT_EQ(engines[0]->engine().Counter(counter_map, c),
                  engines[i]->engine().Counter(counter_map, c))
            << "counter " << c;
  if (!kernel) GTEST_SKIP() << "vigil's two engines agree; the kernel: " << kernel.error().message;
}

}  // namespace
}  // namespace vigil::offloads

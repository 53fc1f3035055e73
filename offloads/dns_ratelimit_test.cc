// dns_ratelimit.bpf.c on vigil's interpreter and JIT over simulated seconds (their clock is the
// test's): per-source (/24, /56) and per-name limits within 10% of rate x time + burst, others
// untouched, slip answers with TC=1 and right checksums, the RFC 9018 cookie exemption (cookies
// made with vigil's SipHash), malformed names dropped; and random queries through the two and the
// kernel (BPF_PROG_TEST_RUN, the same object; skipped without root) with the same verdicts,
// frames and counters.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>

#include "craft/frame.h"
#include "ebpf/syncookie.h"
#include "offloads/offload_harness.h"

namespace vigil::offloads {
namespace {

constexpr uint32_t kPass = 2, kDrop = 1, kTx = 3;

enum {
  kQueries = 0,
  kPassed,
  kAllowlisted,
  kCookieValid,
  kCookieInvalid,
  kSrcLimited,
  kNameLimited,
  kDropped,
  kSlipped,
  kMalformed,
  kNotQuery,
};

std::string ObjectPath() { return std::string(VIGIL_OFFLOAD_DIR) + "/dns_ratelimit.bpf.o"; }

const uint8_t kSecret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

struct Limits {
  uint32_t src_rate = 0, src_burst = 0, name_rate = 0, name_burst = 0, slip = 0;
  bool cookies = false;
};

// struct dns_config.
Bytes ConfigValue(const Limits& l) {
  Bytes c(56, 0);
  auto put = [&](size_t off, uint32_t v) { std::memcpy(c.data() + off, &v, 4); };
  put(0, l.src_rate);
  put(4, l.src_burst);
  put(8, l.name_rate);
  put(12, l.name_burst);
  put(16, l.slip);
  c[22] = l.cookies ? 1 : 0;
  c[24] = 0x5e;  // name_seed
  std::memcpy(c.data() + 32, kSecret, 16);
  return c;
}

Bytes Name(std::string_view dotted) {
  Bytes out;
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string_view::npos) dot = dotted.size();
    out.push_back(uint8_t(dot - start));
    out.insert(out.end(), dotted.begin() + start, dotted.begin() + dot);
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

// The server cookie of RFC 9018 for `client_cookie` at `client` (4 or 16 bytes).
Bytes ServerCookie(const Bytes& client_cookie, const Bytes& client, uint32_t ts) {
  Bytes msg = client_cookie;
  msg.insert(msg.end(),
             {1, 0, 0, 0, uint8_t(ts >> 24), uint8_t(ts >> 16), uint8_t(ts >> 8), uint8_t(ts)});
  msg.insert(msg.end(), client.begin(), client.end());
  uint64_t k[2];
  std::memcpy(k, kSecret, 16);
  const uint64_t h = ebpf::SipHash24(msg, k);
  Bytes out(msg.begin() + 8, msg.begin() + 16);
  for (int i = 0; i < 8; ++i) out.push_back(uint8_t(h >> (8 * i)));
  return out;
}

struct Query {
  std::string src = "10.1.1.1";
  std::string name = "www.example.com";
  uint16_t id = 1;
  std::optional<Bytes> cookie;  // the whole COOKIE option data (client + server cookie)
  Bytes raw_name;               // replaces the encoded name when set
};

Bytes QueryFrame(const Query& q) {
  Bytes dns = {uint8_t(q.id >> 8),       uint8_t(q.id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0,
               uint8_t(q.cookie ? 1 : 0)};
  const Bytes name = q.raw_name.empty() ? Name(q.name) : q.raw_name;
  dns.insert(dns.end(), name.begin(), name.end());
  dns.insert(dns.end(), {0, 1, 0, 1});  // A, IN
  if (q.cookie) {
    const uint16_t len = uint16_t(q.cookie->size());
    dns.insert(dns.end(), {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, uint8_t(0), uint8_t(4 + len), 0, 10,
                           uint8_t(len >> 8), uint8_t(len)});
    dns.insert(dns.end(), q.cookie->begin(), q.cookie->end());
  }
  const bool v6 = q.src.find(':') != std::string::npos;
  return craft::UdpFrame({craft::Addr(q.src), 5353},
                         {craft::Addr(v6 ? "2001:db8::53" : "10.0.0.53"), 53}, dns);
}

std::unique_ptr<OffloadEngine> Open(EngineKind kind, const Limits& l) {
  auto e = OffloadEngine::Open(kind, ObjectPath(), "dns_ratelimit");
  if (!e) return nullptr;
  EXPECT_TRUE((*e)->Update("config", Le(0, 4), ConfigValue(l)));
  return std::move(*e);
}

class DnsLimits : public ::testing::TestWithParam<EngineKind> {
 protected:
  void SetUp() override { saved_ = OffloadClock::now_ns; }
  void TearDown() override { OffloadClock::now_ns = saved_; }
  // Sends `qps` queries a second of each of `streams` for `seconds`, interleaved; returns how
  // many of each passed.
  std::vector<uint64_t> Flood(OffloadEngine& e,
                              const std::vector<std::pair<Query, uint32_t>>& streams,
                              uint32_t seconds) {
    std::vector<uint64_t> passed(streams.size());
    const uint64_t tick = 1'000'000;  // 1 ms
    for (uint64_t t = 0; t < seconds * 1000ull; ++t) {
      OffloadClock::now_ns += tick;
      for (size_t i = 0; i < streams.size(); ++i) {
        const uint32_t qps = streams[i].second;
        // Spread qps queries a second over the milliseconds.
        const uint64_t due = (t + 1) * qps / 1000 - t * qps / 1000;
        for (uint64_t k = 0; k < due; ++k) {
          auto r = e.Run(QueryFrame(streams[i].first));
          EXPECT_TRUE(r);
          if (r && r->action == kPass) ++passed[i];
        }
      }
    }
    return passed;
  }
  uint64_t saved_ = 0;
};

void ExpectNear(uint64_t got, double want, const char* what) {
  EXPECT_GE(double(got), 0.9 * want) << what;
  EXPECT_LE(double(got), 1.1 * want) << what;
}

TEST_P(DnsLimits, PerSourcePrefixWithinTenPercentOthersUntouched) {
  auto e = Open(GetParam(), {.src_rate = 100});
  ASSERT_TRUE(e);
  // 1,000 q/s from two addresses of one /24, 40 q/s from another /24; IPv6 the same by /56.
  auto passed = Flood(*e,
                      {{{.src = "10.1.1.1"}, 600},
                       {{.src = "10.1.1.200"}, 400},
                       {{.src = "10.1.2.7"}, 40},
                       {{.src = "2001:db8:0:1ff::1"}, 500},
                       {{.src = "2001:db8:0:1aa::2"}, 500},
                       {{.src = "2001:db8:0:200::1"}, 40}},
                      10);
  ExpectNear(passed[0] + passed[1], 100 * 10 + 100, "the limited /24");
  EXPECT_EQ(passed[2], 400u) << "another /24";
  ExpectNear(passed[3] + passed[4], 100 * 10 + 100, "the limited /56");
  EXPECT_EQ(passed[5], 400u) << "another /56";
  EXPECT_EQ(e->Counter("counters", kSrcLimited),
            e->Counter("counters", kQueries) - e->Counter("counters", kPassed));
  EXPECT_EQ(e->Keys("src_buckets").size(), 4u);
}

TEST_P(DnsLimits, PerNameWithinTenPercentCaseInsensitive) {
  auto e = Open(GetParam(), {.name_rate = 50, .name_burst = 10});
  ASSERT_TRUE(e);
  auto passed = Flood(*e,
                      {{{.src = "10.9.0.1", .name = "flood.example"}, 300},
                       {{.src = "10.8.0.1", .name = "FLOOD.Example"}, 300},
                       {{.src = "10.9.0.1", .name = "other.example"}, 20}},
                      10);
  ExpectNear(passed[0] + passed[1], 50 * 10 + 10, "the flooded name");
  EXPECT_EQ(passed[2], 200u) << "another name";
  EXPECT_GT(e->Counter("counters", kNameLimited), 5000u);
}

TEST_P(DnsLimits, SlipsEveryNthWithATruncatedAnswer) {
  auto e = Open(GetParam(), {.src_rate = 1, .src_burst = 1, .slip = 2});
  ASSERT_TRUE(e);
  const Query q{.src = "10.2.2.2", .name = "Slip.Example", .id = 0xbeef};
  const Bytes in = QueryFrame(q);
  std::vector<uint32_t> actions;
  RunResult tc;
  for (int i = 0; i < 7; ++i) {
    auto r = e->Run(in);
    ASSERT_TRUE(r);
    actions.push_back(r->action);
    if (r->action == kTx) tc = *r;
  }
  EXPECT_EQ(actions, (std::vector<uint32_t>{kPass, kDrop, kTx, kDrop, kTx, kDrop, kTx}));
  // The answer: addresses and ports swapped, QR and TC set, RD kept, the question and nothing
  // else, both checksums right.
  const Bytes& f = tc.frame;
  const size_t qlen = Name(q.name).size() + 4;
  ASSERT_EQ(f.size(), 14 + 20 + 8 + 12 + qlen);
  EXPECT_EQ(Bytes(f.begin(), f.begin() + 6), Bytes(in.begin() + 6, in.begin() + 12));
  EXPECT_EQ(Bytes(f.begin() + 26, f.begin() + 30), Bytes(in.begin() + 30, in.begin() + 34));
  EXPECT_EQ(f[34] << 8 | f[35], 53);
  EXPECT_EQ(f[36] << 8 | f[37], 5353);
  EXPECT_EQ(f[42] << 8 | f[43], 0xbeef);
  EXPECT_EQ(f[44] << 8 | f[45], 0x8300);  // QR, TC, RD
  EXPECT_EQ(Bytes(f.begin() + 46, f.begin() + 54), (Bytes{0, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Bytes(f.begin() + 54, f.end()), Bytes(in.begin() + 54, in.begin() + 54 + qlen));
  auto sum16 = [](const uint8_t* p, size_t n) {
    uint64_t s = 0;
    for (size_t i = 0; i < n; i += 2) s += uint32_t(p[i]) << 8 | (i + 1 < n ? p[i + 1] : 0);
    return s;
  };
  auto fold = [](uint64_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return s;
  };
  EXPECT_EQ(fold(sum16(f.data() + 14, 20)), 0xffffu) << "IP checksum";
  const size_t udp_len = f.size() - 34;
  EXPECT_EQ(fold(sum16(f.data() + 26, 8) + 17 + udp_len + sum16(f.data() + 34, udp_len)), 0xffffu)
      << "UDP checksum";
  EXPECT_EQ(e->Counter("counters", kSlipped), 3u);
  EXPECT_EQ(e->Counter("counters", kDropped), 3u);
}

TEST_P(DnsLimits, ValidServerCookiesAreExempt) {
  auto e = Open(GetParam(), {.src_rate = 1, .src_burst = 1, .cookies = true});
  ASSERT_TRUE(e);
  const Bytes client_cookie = {0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8};
  Bytes good = client_cookie;
  const Bytes server = ServerCookie(client_cookie, {10, 3, 3, 3}, 1700000000);
  good.insert(good.end(), server.begin(), server.end());
  Bytes bad = good;
  bad.back() ^= 1;
  Bytes other_client = client_cookie;
  const Bytes other = ServerCookie(client_cookie, {10, 3, 3, 4}, 1700000000);
  other_client.insert(other_client.end(), other.begin(), other.end());
  auto run = [&](Query q) { return e->Run(QueryFrame(q))->action; };
  EXPECT_EQ(run({.src = "10.3.3.3"}), kPass);  // the burst
  EXPECT_EQ(run({.src = "10.3.3.3"}), kDrop);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(run({.src = "10.3.3.3", .cookie = good}), kPass);
  EXPECT_EQ(run({.src = "10.3.3.3", .cookie = bad}), kDrop);
  EXPECT_EQ(run({.src = "10.3.3.3", .cookie = other_client}), kDrop);   // another address's
  EXPECT_EQ(run({.src = "10.3.3.3", .cookie = client_cookie}), kDrop);  // a client cookie only
  EXPECT_EQ(e->Counter("counters", kCookieValid), 5u);
  // IPv6.
  Bytes good6 = client_cookie;
  Bytes a6(16, 0);
  a6[0] = 0x20, a6[1] = 0x01, a6[2] = 0x0d, a6[3] = 0xb8, a6[15] = 9;
  const Bytes server6 = ServerCookie(client_cookie, a6, 42);
  good6.insert(good6.end(), server6.begin(), server6.end());
  EXPECT_EQ(run({.src = "2001:db8::9"}), kPass);
  EXPECT_EQ(run({.src = "2001:db8::9"}), kDrop);
  EXPECT_EQ(run({.src = "2001:db8::9", .cookie = good6}), kPass);
}

TEST_P(DnsLimits, DropsMalformedNamesAndPassesResponses) {
  auto e = Open(GetParam(), {.src_rate = 1000});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->Run(QueryFrame({.raw_name = {3, 'w', 'w', 'w', 0xc0, 12}}))->action, kDrop);
  EXPECT_EQ(e->Run(QueryFrame({.raw_name = {60, 'a', 'b'}}))->action, kDrop);  // past the end
  Bytes long_name;
  for (int i = 0; i < 5; ++i) {
    long_name.push_back(60);
    long_name.insert(long_name.end(), 60, 'a');
  }
  long_name.push_back(0);
  EXPECT_EQ(e->Run(QueryFrame({.raw_name = long_name}))->action, kDrop);  // over 255 bytes
  EXPECT_EQ(e->Counter("counters", kMalformed), 3u);
  Bytes response = QueryFrame({});
  response[44] |= 0x80;  // QR
  EXPECT_EQ(e->Run(response)->action, kPass);
  EXPECT_EQ(e->Counter("counters", kNotQuery), 1u);
}

INSTANTIATE_TEST_SUITE_P(Engines, DnsLimits,
                         ::testing::Values(EngineKind::kInterpreter, EngineKind::kJit),
                         [](const auto& info) { return std::string(EngineName(info.param)); });

// Random queries (sources, names, cases, cookies good and bad, truncations) through vigil's two
// engines and the kernel: the same verdicts, frames, counters and bucket keys. Limits low enough
// (1 a second, bursts of 3) that the kernel's clock, which the test cannot move, never refills a
// bucket during the run.
TEST(DnsDifferential, SameVerdictsFramesAndMapsOnEveryEngine) {
  const Limits limits{
      .src_rate = 1, .src_burst = 3, .name_rate = 1, .name_burst = 4, .slip = 3, .cookies = true};
  std::vector<std::unique_ptr<OffloadEngine>> engines;
  engines.push_back(Open(EngineKind::kInterpreter, limits));
  engines.push_back(Open(EngineKind::kJit, limits));
  ASSERT_TRUE(engines[0] && engines[1]);
  auto kernel = Open(EngineKind::kKernel, limits);
  if (kernel) engines.push_back(std::move(kernel));
  const char* names[] = {"a.example", "B.example", "b.EXAMPLE", "x.y.z.example.org", "example"};
  const Bytes client_cookie = {1, 2, 3, 4, 5, 6, 7, 8};
  std::mt19937 rng(53);
  std::map<uint32_t, int> verdicts;
  for (int n = 0; n < 3000; ++n) {
    Query q;
    const bool v6 = rng() % 4 == 0;
    q.src = v6 ? "2001:db8:" + std::to_string(rng() % 3) + "::" + std::to_string(rng() % 100)
               : "10.0." + std::to_string(rng() % 6) + "." + std::to_string(rng() % 200);
    q.name = names[rng() % std::size(names)];
    q.id = uint16_t(rng());
    if (rng() % 5 == 0) {
      Bytes c = client_cookie;
      Bytes addr = v6 ? Bytes(16, 0) : Bytes(4, 0);
      const auto a = craft::Addr(q.src);
      std::memcpy(addr.data(), a.bytes.data(), addr.size());
      const Bytes s = ServerCookie(client_cookie, addr, 7);
      c.insert(c.end(), s.begin(), s.end());
      if (rng() % 2) c[20] ^= 1;
      q.cookie = c;
    }
    Bytes f = QueryFrame(q);
    if (rng() % 10 == 0) f.resize(42 + rng() % (f.size() - 42));
    std::vector<RunResult> results;
    for (auto& e : engines) {
      auto r = e->Run(f);
      ASSERT_TRUE(r) << r.error().message;
      results.push_back(*r);
    }
    ++verdicts[results[0].action];
    for (size_t i = 1; i < results.size(); ++i) {
      ASSERT_EQ(results[0].action, results[i].action) << "query " << n << " engine " << i;
      ASSERT_EQ(results[0].frame, results[i].frame) << "query " << n << " engine " << i;
    }
  }
  EXPECT_EQ(verdicts.size(), 3u);  // pass, drop, slip
  for (uint32_t c = 0; c <= kNotQuery; ++c)
    for (size_t i = 1; i < engines.size(); ++i)
      EXPECT_EQ(engines[0]->Counter("counters", c), engines[i]->Counter("counters", c))
          << "counter " << c;
  for (const char* m : {"src_buckets", "name_buckets"})
    for (size_t i = 1; i < engines.size(); ++i) {
      auto a = engines[0]->Keys(m), b = engines[i]->Keys(m);
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      EXPECT_EQ(a, b) << m;
    }
  if (engines.size() < 3)
    GTEST_SKIP() << "vigil's two engines agree; the kernel cannot run it here";
}

}  // namespace
}  // namespace vigil::offloads

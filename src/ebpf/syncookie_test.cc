// SYN cookies: SipHash-2-4 against the reference vectors, and the kernel's generate-then-check
// round trip through the helpers (ids 204-207) for IPv4 and IPv6, with the MSS table, the
// two-minute age limit and the refusals.
#include "ebpf/syncookie.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "ebpf/helpers.h"
#include "ebpf/isa.h"
#include "ebpf/scratch.h"

namespace vigil::ebpf {
namespace {

TEST(Syncookie, SipHashReferenceVectors) {
  // From the SipHash paper's reference implementation (vectors.h): key 00..0f, message 00..len-1.
  const uint64_t key[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
  uint8_t msg[64];
  for (int i = 0; i < 64; ++i) msg[i] = uint8_t(i);
  EXPECT_EQ(SipHash24({msg, 0}, key), 0x726fdb47dd0e0e31ull);
  EXPECT_EQ(SipHash24({msg, 1}, key), 0x74f839c593dc67fdull);
  EXPECT_EQ(SipHash24({msg, 8}, key), 0x93f5f5799a932462ull);
  EXPECT_EQ(SipHash24({msg, 15}, key), 0xa129ca6149be45e5ull);
  EXPECT_EQ(SipHash24({msg, 63}, key), 0x958a324ceb064572ull);
}

// An IPv4 (or IPv6) header followed by a TCP header with optional MSS option.
struct Segment {
  std::vector<uint8_t> bytes;
  size_t ip_len;
  uint8_t* ip() { return bytes.data(); }
  uint8_t* tcp() { return bytes.data() + ip_len; }
  uint32_t tcp_len() const { return uint32_t(bytes.size() - ip_len); }
};

Segment Syn(bool v6, uint16_t sport, uint16_t dport, uint32_t seq, uint16_t mss_option) {
  Segment s;
  s.ip_len = v6 ? 40 : 20;
  const size_t tcp_len = mss_option ? 24 : 20;
  s.bytes.assign(s.ip_len + tcp_len, 0);
  uint8_t* ip = s.ip();
  if (v6) {
    ip[0] = 0x60;
    ip[6] = 6;
    for (int i = 0; i < 16; ++i) ip[8 + i] = uint8_t(0x20 + i), ip[24 + i] = uint8_t(0x90 + i);
  } else {
    ip[0] = 0x45;
    ip[9] = 6;
    const uint8_t src[4] = {192, 0, 2, 1}, dst[4] = {198, 51, 100, 7};
    std::memcpy(ip + 12, src, 4);
    std::memcpy(ip + 16, dst, 4);
  }
  uint8_t* t = s.tcp();
  t[0] = uint8_t(sport >> 8), t[1] = uint8_t(sport);
  t[2] = uint8_t(dport >> 8), t[3] = uint8_t(dport);
  for (int i = 0; i < 4; ++i) t[4 + i] = uint8_t(seq >> (24 - 8 * i));
  t[12] = uint8_t((tcp_len / 4) << 4);
  t[13] = 0x02;  // SYN
  if (mss_option) {
    t[20] = 2, t[21] = 4, t[22] = uint8_t(mss_option >> 8), t[23] = uint8_t(mss_option);
  }
  return s;
}

// The client's ACK to a SYN-ACK carrying `cookie`: seq = ISN + 1, ack_seq = cookie + 1.
Segment Ack(const Segment& syn, uint32_t cookie) {
  Segment a = syn;
  a.bytes.resize(a.ip_len + 20);
  uint8_t* t = a.tcp();
  uint32_t seq = uint32_t(t[4]) << 24 | uint32_t(t[5]) << 16 | uint32_t(t[6]) << 8 | t[7];
  seq += 1;
  const uint32_t ack = cookie + 1;
  for (int i = 0; i < 4; ++i) {
    t[4 + i] = uint8_t(seq >> (24 - 8 * i));
    t[8 + i] = uint8_t(ack >> (24 - 8 * i));
  }
  t[12] = 5 << 4;
  t[13] = 0x10;  // ACK
  return a;
}

uint64_t Call(Scratch& s, int32_t id, uint64_t a, uint64_t b, uint64_t c = 0) {
  HelperFn fn = HelperTable::Kernel().Find(id);
  EXPECT_NE(fn, nullptr) << id;
  return fn ? fn(s, a, b, c, 0, 0) : 0;
}

TEST(Syncookie, HelpersRoundTripWithTheMssTable) {
  struct Case {
    bool v6;
    uint16_t mss_option;
    uint16_t want_mss;
  } cases[] = {{false, 0, 536},    {false, 1460, 1460}, {false, 1459, 1440}, {false, 1400, 1300},
               {false, 100, 536},  {false, 9000, 1460}, {true, 0, 1220},     {true, 1440, 1440},
               {true, 9000, 8940}, {true, 1419, 1220}};
  Scratch scratch;
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << (c.v6 ? "v6" : "v4") << " mss " << c.mss_option);
    Segment syn = Syn(c.v6, 40000, 443, 0x12345678, c.mss_option);
    const uint64_t r =
        Call(scratch, c.v6 ? kHelperTcpRawGenSyncookieIpv6 : kHelperTcpRawGenSyncookieIpv4,
             uint64_t(syn.ip()), uint64_t(syn.tcp()), syn.tcp_len());
    ASSERT_LT(int64_t(r), int64_t(1) << 48) << "error " << int64_t(r);
    EXPECT_EQ(r >> 32, c.want_mss);
    const uint32_t cookie = uint32_t(r);
    const int32_t check = c.v6 ? kHelperTcpRawCheckSyncookieIpv6 : kHelperTcpRawCheckSyncookieIpv4;
    Segment ack = Ack(syn, cookie);
    EXPECT_EQ(Call(scratch, check, uint64_t(ack.ip()), uint64_t(ack.tcp())), 0u);
    // The low-level check gives back the MSS the cookie carries.
    const SyncookieKeys& keys = SyncookieKeys::Process();
    const int mss = c.v6 ? CookieV6Check(keys, ack.ip(), ack.tcp(), cookie, SyncookieTime())
                         : CookieV4Check(keys, ack.ip(), ack.tcp(), cookie, SyncookieTime());
    EXPECT_EQ(mss, c.want_mss);
    // Any change to the connection's identity or the numbers fails the check.
    for (int field = 0; field < 4; ++field) {
      Segment bad = ack;
      switch (field) {
        case 0:
          bad.ip()[c.v6 ? 8 : 12] ^= 1;  // source address
          break;
        case 1:
          bad.tcp()[3] ^= 1;  // destination port
          break;
        case 2:
          // The client's sequence number (the ISN is added to the cookie linearly, so, as in
          // Linux, a change of a few units can land on another valid MSS index; 2^16 cannot).
          bad.tcp()[5] ^= 1;
          break;
        default:
          bad.tcp()[11] ^= 0x40;  // ack_seq
      }
      EXPECT_EQ(int64_t(Call(scratch, check, uint64_t(bad.ip()), uint64_t(bad.tcp()))), -13)
          << "field " << field;
    }
  }
}

// The cookies against the kernel's formula written out with the reference SipHash over the bytes
// cookie_hash hashes (the helpers' own hashing is word by word, both hashes at once):
// hash(key 0, count 0) + ISN + (count << 24) + ((hash(key 1, count) + MSS index) & 0xffffff).
TEST(Syncookie, CookiesAreTheKernelsFormula) {
  std::mt19937_64 next(21);
  for (int round = 0; round < 200; ++round) {
    const SyncookieKeys keys{{{next(), next()}, {next(), next()}}};
    const bool v6 = round % 2;
    const uint16_t sport = uint16_t(next()), dport = uint16_t(next());
    const uint32_t seq = uint32_t(next()), count = uint32_t(next());
    Segment syn = Syn(v6, sport, dport, seq, 1460);
    for (size_t i = 0; i < (v6 ? 32u : 8u); ++i) syn.ip()[(v6 ? 8 : 12) + i] = uint8_t(next());
    auto hash = [&](const uint64_t key[2], uint32_t c) {
      uint8_t bytes[40];
      size_t n;
      if (v6) {  // saddr, daddr, count, sport, dport
        std::memcpy(bytes, syn.ip() + 8, 32);
        std::memcpy(bytes + 32, &c, 4);
        std::memcpy(bytes + 36, syn.tcp(), 4);
        n = 40;
      } else {  // saddr, daddr, sport << 16 | dport (a host-order word), count
        std::memcpy(bytes, syn.ip() + 12, 8);
        uint16_t ports[2];
        std::memcpy(ports, syn.tcp(), 4);
        const uint32_t word = uint32_t(ports[0]) << 16 | ports[1];
        std::memcpy(bytes + 8, &word, 4);
        std::memcpy(bytes + 12, &c, 4);
        n = 16;
      }
      return uint32_t(SipHash24({bytes, n}, key));
    };
    const uint32_t index = v6 ? 2 : 3;  // 1460 is 1460 in IPv4's table, 1440 in IPv6's
    const uint32_t want = hash(keys.key[0], 0) + seq + (count << 24) +
                          ((hash(keys.key[1], count) + index) & 0xffffff);
    uint16_t mss = 1460;
    const uint32_t got = v6 ? CookieV6Init(keys, syn.ip(), syn.tcp(), &mss, count)
                            : CookieV4Init(keys, syn.ip(), syn.tcp(), &mss, count);
    EXPECT_EQ(got, want) << "round " << round;
  }
}

TEST(Syncookie, CookiesLastTwoMinutes) {
  const SyncookieKeys keys{{{1, 2}, {3, 4}}};
  Segment syn = Syn(false, 1111, 80, 777, 1460);
  uint16_t mss = 1460;
  const uint32_t t0 = 1000;
  const uint32_t cookie = CookieV4Init(keys, syn.ip(), syn.tcp(), &mss, t0);
  Segment ack = Ack(syn, cookie);
  EXPECT_EQ(CookieV4Check(keys, ack.ip(), ack.tcp(), cookie, t0), 1460);
  EXPECT_EQ(CookieV4Check(keys, ack.ip(), ack.tcp(), cookie, t0 + 1), 1460);
  EXPECT_EQ(CookieV4Check(keys, ack.ip(), ack.tcp(), cookie, t0 + 2), 0);
  EXPECT_EQ(CookieV4Check(keys, ack.ip(), ack.tcp(), cookie, t0 - 1), 0);  // from the future
  // The minute counter sits in the top 8 bits: the same SYN a minute later differs there.
  mss = 1460;
  const uint32_t later = CookieV4Init(keys, syn.ip(), syn.tcp(), &mss, t0 + 1);
  EXPECT_NE(later, cookie);
  // Other keys do not accept it.
  const SyncookieKeys other{{{1, 2}, {3, 5}}};
  EXPECT_EQ(CookieV4Check(other, ack.ip(), ack.tcp(), cookie, t0), 0);
}

TEST(Syncookie, MssOptionParsing) {
  auto with_options = [](std::vector<uint8_t> opts) {
    std::vector<uint8_t> th(20 + opts.size(), 0);
    th[12] = uint8_t(((20 + opts.size()) / 4) << 4);
    std::memcpy(th.data() + 20, opts.data(), opts.size());
    return ParseTcpMssOption(th.data());
  };
  EXPECT_EQ(with_options({}), 0);
  EXPECT_EQ(with_options({2, 4, 0x05, 0xb4}), 1460);
  EXPECT_EQ(with_options({1, 1, 1, 1, 2, 4, 0x02, 0x18, 0, 0, 0, 0}), 536);
  EXPECT_EQ(with_options({3, 3, 7, 1, 2, 4, 0x05, 0x00}), 1280);  // after window scale
  EXPECT_EQ(with_options({0, 0, 0, 0, 2, 4, 0x05, 0x00}), 0);     // after end of list
  EXPECT_EQ(with_options({2, 5, 0x05, 0xb4}), 0);                 // wrong length
  EXPECT_EQ(with_options({4, 1, 2, 4}), 0);                       // silly option size
  EXPECT_EQ(with_options({2, 4, 0, 0}), 0);                       // zero MSS is ignored
}

TEST(Syncookie, HelperRefusals) {
  Scratch scratch;
  Segment syn = Syn(false, 1, 2, 3, 1460);
  // th_len must equal doff * 4 and be at least 20.
  EXPECT_EQ(int64_t(Call(scratch, kHelperTcpRawGenSyncookieIpv4, uint64_t(syn.ip()),
                         uint64_t(syn.tcp()), 20)),
            -kEINVAL);
  EXPECT_EQ(int64_t(Call(scratch, kHelperTcpRawGenSyncookieIpv4, uint64_t(syn.ip()),
                         uint64_t(syn.tcp()), 8)),
            -kEINVAL);
  // Checked mode: pointers the program may not read end the run.
  Scratch checked({.checked = true});
  Call(checked, kHelperTcpRawGenSyncookieIpv4, uint64_t(syn.ip()), uint64_t(syn.tcp()), 24);
  EXPECT_NE(checked.error.find("not readable"), std::string::npos) << checked.error;
  Scratch checked2({.checked = true});
  checked2.AddRegion(syn.bytes.data(), syn.bytes.size(), false);
  const uint64_t r =
      Call(checked2, kHelperTcpRawGenSyncookieIpv4, uint64_t(syn.ip()), uint64_t(syn.tcp()), 24);
  EXPECT_TRUE(checked2.error.empty()) << checked2.error;
  EXPECT_EQ(r >> 32, 1460u);
}

}  // namespace
}  // namespace vigil::ebpf

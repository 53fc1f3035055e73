#include "ebpf/syncookie.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <bit>
#include <cstring>

#include "ebpf/helpers.h"
#include "ebpf/isa.h"
#include "ebpf/scratch.h"
#include "fmt/format.h"

namespace vigil::ebpf {
namespace {

constexpr uint32_t kCookieBits = 24;  // the low 24 bits carry the MSS index, the top 8 the time
constexpr uint32_t kCookieMask = (uint32_t(1) << kCookieBits) - 1;
constexpr uint32_t kMaxCookieAge = 2;  // minutes (MAX_SYNCOOKIE_AGE)
constexpr uint16_t kTcpMssDefault = 536;
constexpr uint16_t kMssTableV4[] = {536, 1300, 1440, 1460};
constexpr uint16_t kMssTableV6[] = {1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60};
constexpr int64_t kEACCES = 13;

uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint16_t Load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
static_assert(std::endian::native == std::endian::little,
              "cookie_hash reads raw network-order words as a little-endian kernel does");
uint64_t Load64(const uint8_t* p) {  // little-endian, as SipHash reads its words
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
uint32_t LoadBe32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

// SipHash-2-4 over whole 64-bit words, inline: a cookie's two hashes are independent chains of
// dependent operations, and inline in one function the processor runs them side by side.
class SipState {
 public:
  [[gnu::always_inline]] explicit SipState(const uint64_t key[2])
      : v0_(0x736f6d6570736575ull ^ key[0]),
        v1_(0x646f72616e646f6dull ^ key[1]),
        v2_(0x6c7967656e657261ull ^ key[0]),
        v3_(0x7465646279746573ull ^ key[1]) {}
  [[gnu::always_inline]] void Word(uint64_t m) {
    v3_ ^= m;
    Round();
    Round();
    v0_ ^= m;
  }
  // The last word (the length in the top byte, the tail's bytes below) and the finalization.
  [[gnu::always_inline]] uint64_t Finish(uint64_t last) {
    Word(last);
    v2_ ^= 0xff;
    Round();
    Round();
    Round();
    Round();
    return v0_ ^ v1_ ^ v2_ ^ v3_;
  }

 private:
  [[gnu::always_inline]] static uint64_t Rotl(uint64_t x, int b) {
    return (x << b) | (x >> (64 - b));
  }
  [[gnu::always_inline]] void Round() {
    v0_ += v1_;
    v1_ = Rotl(v1_, 13);
    v1_ ^= v0_;
    v0_ = Rotl(v0_, 32);
    v2_ += v3_;
    v3_ = Rotl(v3_, 16);
    v3_ ^= v2_;
    v0_ += v3_;
    v3_ = Rotl(v3_, 21);
    v3_ ^= v0_;
    v2_ += v1_;
    v1_ = Rotl(v1_, 17);
    v1_ ^= v2_;
    v2_ = Rotl(v2_, 32);
  }
  uint64_t v0_, v1_, v2_, v3_;
};

// cookie_hash (IPv4): siphash_4u32(saddr, daddr, sport << 16 | dport, count), all as the raw
// network-order words the kernel reads on a little-endian host: 16 bytes, two words.
[[gnu::always_inline]] inline uint32_t HashV4(const uint64_t key[2], const uint8_t* iph,
                                              const uint8_t* th, uint32_t count) {
  SipState s(key);
  s.Word(Load64(iph + 12));  // saddr, daddr
  s.Word(uint64_t(uint32_t(Load16(th)) << 16 | Load16(th + 2)) | uint64_t(count) << 32);
  return uint32_t(s.Finish(uint64_t(16) << 56));
}

// cookie_hash (IPv6): siphash over {saddr, daddr, count, sport, dport}: 40 bytes, five words.
[[gnu::always_inline]] inline uint32_t HashV6(const uint64_t key[2], const uint8_t* ip6h,
                                              const uint8_t* th, uint32_t count) {
  SipState s(key);
  for (int i = 0; i < 4; ++i) s.Word(Load64(ip6h + 8 + 8 * i));
  s.Word(uint64_t(count) | uint64_t(Load32(th)) << 32);  // source and destination ports
  return uint32_t(s.Finish(uint64_t(40) << 56));
}

// Two SipHash-2-4 computations in step: a cookie's two hashes of one connection (key 0 with
// count 0, key 1 with the minute) share no data, so their rounds run side by side.
class SipPair {
 public:
  [[gnu::always_inline]] SipPair(const uint64_t key_a[2], const uint64_t key_b[2])
      : a_(key_a), b_(key_b) {}
  [[gnu::always_inline]] void Word(uint64_t m_a, uint64_t m_b) {
    a_.Word(m_a);
    b_.Word(m_b);
  }
  struct Hashes {
    uint32_t a, b;  // the low 32 bits, as the kernel's cookie_hash keeps them
  };
  [[gnu::always_inline]] Hashes Finish(uint64_t last) {
    return {uint32_t(a_.Finish(last)), uint32_t(b_.Finish(last))};
  }

 private:
  SipState a_, b_;
};

// HashV4 under keys[0] with count 0 and under keys[1] with `count`, at once.
[[gnu::always_inline]] inline SipPair::Hashes HashV4Pair(const SyncookieKeys& keys,
                                                         const uint8_t* iph, const uint8_t* th,
                                                         uint32_t count) {
  SipPair p(keys.key[0], keys.key[1]);
  const uint64_t addresses = Load64(iph + 12);
  const uint64_t ports = uint32_t(Load16(th)) << 16 | Load16(th + 2);
  p.Word(addresses, addresses);
  p.Word(ports, ports | uint64_t(count) << 32);
  return p.Finish(uint64_t(16) << 56);
}

// HashV6 under keys[0] with count 0 and under keys[1] with `count`, at once.
[[gnu::always_inline]] inline SipPair::Hashes HashV6Pair(const SyncookieKeys& keys,
                                                         const uint8_t* ip6h, const uint8_t* th,
                                                         uint32_t count) {
  SipPair p(keys.key[0], keys.key[1]);
  for (int i = 0; i < 4; ++i) {
    const uint64_t w = Load64(ip6h + 8 + 8 * i);
    p.Word(w, w);
  }
  const uint64_t ports = uint64_t(Load32(th)) << 32;
  p.Word(ports, ports | count);
  return p.Finish(uint64_t(40) << 56);
}

// secure_tcp_syn_cookie, from the two hashes of the connection (base: key 0, count 0; minute:
// key 1, `count`).
uint32_t SecureCookie(SipPair::Hashes h, uint32_t sseq, uint32_t data, uint32_t count) {
  return h.a + sseq + (count << kCookieBits) + ((h.b + data) & kCookieMask);
}

template <class Hash>
uint32_t CheckCookie(const SyncookieKeys& keys, Hash hash, uint32_t cookie, uint32_t sseq,
                     uint32_t count) {
  cookie -= hash(keys.key[0], 0) + sseq;
  const uint32_t diff = (count - (cookie >> kCookieBits)) & (uint32_t(-1) >> kCookieBits);
  if (diff >= kMaxCookieAge) return uint32_t(-1);
  return (cookie - hash(keys.key[1], count - diff)) & kCookieMask;
}

template <size_t N>
uint32_t MssIndex(const uint16_t (&table)[N], uint16_t* mss) {
  uint32_t i = N - 1;
  for (; i > 0; --i)
    if (*mss >= table[i]) break;
  *mss = table[i];
  return i;
}

// --- The helpers. ---

[[gnu::cold]] bool CheckedReadable(Scratch& s, uint64_t p, uint64_t size, const char* helper,
                                   const char* what) {
  if (s.CanRead(p, size)) return true;
  s.Fail(fmt::format("{}: {} {:#x} ({} bytes) is not readable", helper, what, p, size));
  return false;
}

// Checked runs only: whether [p, p + size) is readable (the run fails, naming it, when not).
[[gnu::always_inline]] inline bool Readable(Scratch& s, uint64_t p, uint64_t size,
                                            const char* helper, const char* what) {
  return !s.config().checked || CheckedReadable(s, p, size, helper, what);
}

template <bool kV6>
uint64_t GenSyncookie(Scratch& s, uint64_t iph, uint64_t th, uint64_t th_len, uint64_t, uint64_t) {
  const char* name = kV6 ? "bpf_tcp_raw_gen_syncookie_ipv6" : "bpf_tcp_raw_gen_syncookie_ipv4";
  if (!Readable(s, iph, kV6 ? 40 : 20, name, "ip header")) return 0;
  const uint32_t len = uint32_t(th_len);
  if (len < 20) return uint64_t(-kEINVAL);
  if (!Readable(s, th, len, name, "tcp header")) return 0;
  const auto* t = reinterpret_cast<const uint8_t*>(th);
  if (len != uint32_t(t[12] >> 4) * 4) return uint64_t(-kEINVAL);
  uint16_t mss = ParseTcpMssOption(t);
  if (mss == 0) mss = kTcpMssDefault;
  const auto* ip = reinterpret_cast<const uint8_t*>(iph);
  const SyncookieKeys& keys = SyncookieKeys::Process();
  const uint32_t cookie = kV6 ? CookieV6Init(keys, ip, t, &mss, SyncookieTime())
                              : CookieV4Init(keys, ip, t, &mss, SyncookieTime());
  return uint64_t(cookie) | uint64_t(mss) << 32;
}

template <bool kV6>
uint64_t CheckSyncookie(Scratch& s, uint64_t iph, uint64_t th, uint64_t, uint64_t, uint64_t) {
  const char* name = kV6 ? "bpf_tcp_raw_check_syncookie_ipv6" : "bpf_tcp_raw_check_syncookie_ipv4";
  if (!Readable(s, iph, kV6 ? 40 : 20, name, "ip header")) return 0;
  if (!Readable(s, th, 20, name, "tcp header")) return 0;
  const auto* ip = reinterpret_cast<const uint8_t*>(iph);
  const auto* t = reinterpret_cast<const uint8_t*>(th);
  const uint32_t cookie = LoadBe32(t + 8) - 1;  // ack_seq - 1
  const SyncookieKeys& keys = SyncookieKeys::Process();
  const int mss = kV6 ? CookieV6Check(keys, ip, t, cookie, SyncookieTime())
                      : CookieV4Check(keys, ip, t, cookie, SyncookieTime());
  return mss > 0 ? 0 : uint64_t(-kEACCES);
}

}  // namespace

uint64_t SipHash24(std::span<const uint8_t> data, const uint64_t key[2]) {
  SipState s(key);
  const size_t full = data.size() / 8 * 8;
  for (size_t i = 0; i < full; i += 8) s.Word(Load64(data.data() + i));
  uint64_t last = uint64_t(data.size()) << 56;
  for (size_t k = 0; k < data.size() - full; ++k) last |= uint64_t(data[full + k]) << (8 * k);
  return s.Finish(last);
}

const SyncookieKeys& SyncookieKeys::Process() {
  static const SyncookieKeys keys = [] {
    SyncookieKeys k{};
    uint8_t* p = reinterpret_cast<uint8_t*>(k.key);
    size_t got = 0;
    while (got < sizeof(k.key)) {
      const ssize_t n = getrandom(p + got, sizeof(k.key) - got, 0);
      if (n <= 0) break;
      got += size_t(n);
    }
    if (got < sizeof(k.key)) {  // no entropy source: still distinct per process and boot
      timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      k.key[0][0] ^= uint64_t(ts.tv_nsec) * 0x9e3779b97f4a7c15ull;
      k.key[1][1] ^= uint64_t(ts.tv_sec) * 0xc2b2ae3d27d4eb4full ^ uint64_t(getpid());
    }
    return k;
  }();
  return keys;
}

uint16_t ParseTcpMssOption(const uint8_t* th) {
  const uint8_t* p = th + 20;
  int length = int(th[12] >> 4) * 4 - 20;
  // The usual SYN a cookie is made for (an MSS option alone): no loop.
  if (length == 4 && p[0] == 2 && p[1] == 4) return uint16_t(p[2] << 8 | p[3]);
  uint16_t mss = 0;
  while (length > 0) {
    const uint8_t opcode = *p++;
    if (opcode == 0) return mss;  // end of option list
    if (opcode == 1) {            // no-operation
      --length;
      continue;
    }
    if (length < 2) return mss;
    const int size = *p++;
    if (size < 2 || size > length) return mss;
    if (opcode == 2 && size == 4) {
      const uint16_t in = uint16_t(p[0] << 8 | p[1]);
      if (in) mss = in;
    }
    p += size - 2;
    length -= size;
  }
  return mss;
}

uint32_t SyncookieTime() {
  // The coarse clock (the last tick's time, as the kernel's jiffies): a minute counter needs no
  // more, and reading it costs a few nanoseconds less than the precise clock, per SYN.
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return uint32_t(uint64_t(ts.tv_sec) / 60);
}

uint32_t CookieV4Init(const SyncookieKeys& keys, const uint8_t* iph, const uint8_t* th,
                      uint16_t* mss, uint32_t count) {
  const uint32_t index = MssIndex(kMssTableV4, mss);
  return SecureCookie(HashV4Pair(keys, iph, th, count), LoadBe32(th + 4), index, count);
}

int CookieV4Check(const SyncookieKeys& keys, const uint8_t* iph, const uint8_t* th, uint32_t cookie,
                  uint32_t count) {
  auto hash = [&](const uint64_t key[2], uint32_t c) { return HashV4(key, iph, th, c); };
  const uint32_t index = CheckCookie(keys, hash, cookie, LoadBe32(th + 4) - 1, count);
  return index < std::size(kMssTableV4) ? kMssTableV4[index] : 0;
}

uint32_t CookieV6Init(const SyncookieKeys& keys, const uint8_t* ip6h, const uint8_t* th,
                      uint16_t* mss, uint32_t count) {
  const uint32_t index = MssIndex(kMssTableV6, mss);
  return SecureCookie(HashV6Pair(keys, ip6h, th, count), LoadBe32(th + 4), index, count);
}

int CookieV6Check(const SyncookieKeys& keys, const uint8_t* ip6h, const uint8_t* th,
                  uint32_t cookie, uint32_t count) {
  auto hash = [&](const uint64_t key[2], uint32_t c) { return HashV6(key, ip6h, th, c); };
  const uint32_t index = CheckCookie(keys, hash, cookie, LoadBe32(th + 4) - 1, count);
  return index < std::size(kMssTableV6) ? kMssTableV6[index] : 0;
}

void AddSyncookieHelpers(HelperTable& table) {
  table.Set(kHelperTcpRawGenSyncookieIpv4, "bpf_tcp_raw_gen_syncookie_ipv4", GenSyncookie<false>);
  table.Set(kHelperTcpRawGenSyncookieIpv6, "bpf_tcp_raw_gen_syncookie_ipv6", GenSyncookie<true>);
  table.Set(kHelperTcpRawCheckSyncookieIpv4, "bpf_tcp_raw_check_syncookie_ipv4",
            CheckSyncookie<false>);
  table.Set(kHelperTcpRawCheckSyncookieIpv6, "bpf_tcp_raw_check_syncookie_ipv6",
            CheckSyncookie<true>);
}

}  // namespace vigil::ebpf

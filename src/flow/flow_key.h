// FlowKey: the bidirectional (symmetric) identity of a flow — both addresses, both ports, the
// transport protocol and up to two VLAN (virtual LAN) ids — stored in a canonical order so that
// the two directions of one conversation give the same key and the same hash.
//
//   flow::KeyedPacket k;
//   if (flow::MakeKey(packet, &k)) table.Prefetch(k.hash);
//   // k.src_is_lo says which end of the canonical key sent this packet.
//
// Canonical order: the (address, port) pair that compares lower (address bytes first, then port)
// is "lo", the other "hi". A packet whose source is lo has src_is_lo = true. Cost: 48 bytes
// written and one hash over six 64-bit words (four multiplies) per packet; no allocation.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include "packet/packet.h"

namespace vigil::flow {

struct alignas(8) FlowKey {
  std::array<uint8_t, 16> addr_lo{};  // IPv4 in the first 4 bytes, the rest zero
  std::array<uint8_t, 16> addr_hi{};
  uint16_t port_lo = 0;  // 0 for protocols without ports (ICMP included)
  uint16_t port_hi = 0;
  uint16_t vlan[2] = {0, 0};  // outer, inner; 0 when absent
  uint8_t proto = 0;
  uint8_t family = 0;  // 4 or 6
  uint16_t pad = 0;    // always zero so that memcmp and the hash see defined bytes

  friend bool operator==(const FlowKey& a, const FlowKey& b) {
    // Six word compares, inlined: this runs on every lookup (a memcmp call costs more).
    uint64_t x[6], y[6];
    std::memcpy(x, &a, sizeof(x));
    std::memcpy(y, &b, sizeof(y));
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]) |
            (x[5] ^ y[5])) == 0;
  }
};
static_assert(sizeof(FlowKey) == 48);

// 64-bit hash of the key's six words: three independent 64 x 64 -> 128-bit multiplies of word
// pairs (each word XORed with its own constant), their high and low halves folded together, and
// one more such multiply to mix the three (the "folded multiply" of wyhash and rapidhash). Short
// and parallel: about a dozen instructions per packet where a serial chain of rounds took
// several times that. The same key always hashes the same way, so both directions agree. The
// constants have non-zero upper halves, so an IPv4 address word (upper half zero) never cancels
// its constant.
[[nodiscard]] inline uint64_t HashKey(const FlowKey& key) {
  uint64_t w[6];
  std::memcpy(w, &key, sizeof(w));
  const auto fold = [](uint64_t a, uint64_t b) {
    const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
    return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
  };
  const uint64_t a = fold(w[0] ^ 0xa0761d6478bd642full, w[1] ^ 0xe7037ed1a0b428dbull);
  const uint64_t b = fold(w[2] ^ 0x8ebc6af09c88c6e3ull, w[3] ^ 0x589965cc75374cc3ull);
  const uint64_t c = fold(w[4] ^ 0x1d8e4e27c47d124full, w[5] ^ 0x9e3779b97f4a7c15ull);
  return fold(a ^ ((c << 32) | (c >> 32)) ^ 0x2d358dccaa6c78a5ull, b ^ 0x8bb84b93962eacc9ull);
}

// A packet's key, its hash, and which end of the key sent it.
struct KeyedPacket {
  FlowKey key;
  uint64_t hash = 0;
  bool src_is_lo = true;
};

// Builds the key of a decoded packet. Returns false when the packet has no IP layer or is an IP
// fragment (fragments are reassembled first; a non-first fragment has no ports to key on).
[[nodiscard]] bool MakeKey(const packet::Packet& p, KeyedPacket* out);

// Builds a key from explicit fields (for tests and benchmarks); `src`/`dst` must be the same
// family.
[[nodiscard]] KeyedPacket MakeKey(const base::IpAddress& src, uint16_t src_port,
                                  const base::IpAddress& dst, uint16_t dst_port, uint8_t proto,
                                  uint16_t vlan0 = 0, uint16_t vlan1 = 0);

}  // namespace vigil::flow

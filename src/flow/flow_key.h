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
// written and one hash over six 64-bit words per packet; no allocation.
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
    return std::memcmp(&a, &b, sizeof(FlowKey)) == 0;
  }
};
static_assert(sizeof(FlowKey) == 48);

// 64-bit hash of the key's six words (multiply-rotate mixing with a final avalanche, as in
// MurmurHash3's fmix64). The same key always hashes the same way, so both directions agree.
[[nodiscard]] inline uint64_t HashKey(const FlowKey& key) {
  uint64_t words[6];
  std::memcpy(words, &key, sizeof(words));
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (uint64_t w : words) {
    w *= 0x87c37b91114253d5ull;
    w = (w << 31) | (w >> 33);
    h ^= w * 0x4cf5ad432745937full;
    h = ((h << 27) | (h >> 37)) * 5 + 0x52dce729;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
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

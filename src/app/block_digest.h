// The Merkle-Damgard framing MD5 (RFC 1321) and SHA-1 (FIPS 180-4) share: the message in 64-byte
// blocks, then the tail, a 1 bit, zeros and the message length in bits (little-endian for MD5,
// big-endian for SHA-1) to a multiple of 64 bytes.
//
//   FeedBlocks(data, /*big_endian_length=*/true, [&](const uint8_t* block) { Compress(block, h);
//   });
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace vigil::app {

template <class Compress>
void FeedBlocks(std::string_view data, bool big_endian_length, Compress&& compress) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t n = data.size();
  for (; n >= 64; n -= 64, p += 64) compress(p);
  uint8_t tail[128] = {};
  std::memcpy(tail, p, n);
  tail[n] = 0x80;
  const size_t blocks = n + 9 <= 64 ? 1 : 2;
  const uint64_t bits = uint64_t(data.size()) * 8;
  for (size_t i = 0; i < 8; ++i) {
    const size_t at = big_endian_length ? blocks * 64 - 1 - i : blocks * 64 - 8 + i;
    tail[at] = uint8_t(bits >> (8 * i));
  }
  for (size_t b = 0; b < blocks; ++b) compress(tail + 64 * b);
}

}  // namespace vigil::app

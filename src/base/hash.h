// Mix64: the 64-bit finalizer of MurmurHash3 (fmix64), which spreads every input bit over the
// whole word. For hash tables and cache keys, not for anything an attacker must not forge.
#pragma once

#include <cstdint>

namespace vigil::base {

[[nodiscard]] constexpr uint64_t Mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

}  // namespace vigil::base

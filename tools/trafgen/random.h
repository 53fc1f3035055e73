// Rng: the traffic generator's source of randomness, identical on every platform.
//
// std::mt19937_64 is specified bit for bit by the standard, but the std:: distributions are not
// (libstdc++ and libc++ turn the same engine output into different numbers), so every draw here
// goes through small functions written out below. The same seed then gives byte-identical
// traffic with any compiler and standard library.
//
//   trafgen::Rng rng(42);
//   uint64_t port = rng.Range(32768, 60999);        // inclusive bounds
//   if (rng.Chance(0.05)) SwapSegments();           // 5 % of the time
//   const char* ua = rng.Pick(kUserAgents);         // one element of an array
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace vigil::trafgen {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // 64 random bits.
  uint64_t Next() { return engine_(); }

  // Uniform in [0, n); 0 when n is 0. Rejection sampling, so no value is favoured.
  uint64_t Below(uint64_t n) {
    if (n <= 1) return 0;
    const uint64_t threshold = (0 - n) % n;  // 2^64 mod n: the biased low values to reject
    while (true) {
      uint64_t r = engine_();
      if (r >= threshold) return r % n;
    }
  }

  // Uniform in [lo, hi], both included; lo when hi < lo.
  uint64_t Range(uint64_t lo, uint64_t hi) { return hi <= lo ? lo : lo + Below(hi - lo + 1); }

  // Uniform in [0, 1) with 53 random bits: exact in IEEE doubles, so the same everywhere.
  double Unit() { return double(engine_() >> 11) * 0x1.0p-53; }

  // True with probability p (p <= 0 never, p >= 1 always).
  bool Chance(double p) { return Unit() < p; }

  // A uniformly chosen element; the span must not be empty.
  template <class T>
  const T& Pick(std::span<const T> items) {
    return items[Below(items.size())];
  }
  template <class T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Below(N)];
  }
  template <class T>
  const T& Pick(const std::vector<T>& items) {
    return items[Below(items.size())];
  }

  // An index chosen with probability proportional to weights[i]; 0 when all weights are 0.
  size_t Weighted(std::span<const uint32_t> weights) {
    uint64_t total = 0;
    for (uint32_t w : weights) total += w;
    if (total == 0) return 0;
    uint64_t r = Below(total);
    for (size_t i = 0; i < weights.size(); ++i) {
      if (r < weights[i]) return i;
      r -= weights[i];
    }
    return weights.size() - 1;
  }

  // `n` random bytes appended to `out`.
  // Each 64-bit draw gives 8 bytes, least significant first (the last draw's low bytes).
  void Fill(std::vector<uint8_t>& out, size_t n) {
    size_t at = out.size();
    out.resize(at + n);
    uint8_t* p = out.data() + at;
    for (; n >= 8; n -= 8, p += 8) {
      uint64_t r = engine_();
      for (int i = 0; i < 8; ++i) p[i] = uint8_t(r >> (8 * i));
    }
    if (n > 0) {
      uint64_t r = engine_();
      for (size_t i = 0; i < n; ++i) p[i] = uint8_t(r >> (8 * i));
    }
  }

  // `n` characters drawn from `alphabet` (which must not be empty).
  std::string Text(size_t n, std::string_view alphabet) {
    std::string s;
    s.reserve(n);
    for (size_t i = 0; i < n; ++i) s.push_back(alphabet[Below(alphabet.size())]);
    return s;
  }

 private:
  std::mt19937_64 engine_;
};

inline constexpr std::string_view kLowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789";
inline constexpr std::string_view kHexDigits = "0123456789abcdef";
inline constexpr std::string_view kAlnum =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

}  // namespace vigil::trafgen

// Byte-order-explicit loads from packet bytes. Network data is big-endian; the type says so, so
// that a host-order value can never be mistaken for a wire value.
//
//   uint16_t port = base::LoadBe16(tcp + 2);
#pragma once

#include <cstdint>
#include <cstring>

namespace vigil::base {

// A 16-bit big-endian (network order) value as it lies in memory.
struct be16 {
  uint8_t bytes[2];
  [[nodiscard]] uint16_t value() const { return uint16_t(bytes[0] << 8 | bytes[1]); }
};

// A 32-bit big-endian (network order) value as it lies in memory.
struct be32 {
  uint8_t bytes[4];
  [[nodiscard]] uint32_t value() const {
    return uint32_t(bytes[0]) << 24 | uint32_t(bytes[1]) << 16 | uint32_t(bytes[2]) << 8 | bytes[3];
  }
};

[[nodiscard]] inline uint16_t LoadBe16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
[[nodiscard]] inline uint32_t LoadBe32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
[[nodiscard]] inline uint16_t LoadLe16(const uint8_t* p) { return uint16_t(p[1] << 8 | p[0]); }
[[nodiscard]] inline uint32_t LoadLe32(const uint8_t* p) {
  return uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0];
}
inline void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void StoreBe32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

}  // namespace vigil::base

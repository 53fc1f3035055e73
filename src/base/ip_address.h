// IpAddress: an IPv4 or IPv6 address held in 16 bytes (IPv4 in the first 4), comparable and
// hashable, with text conversion in the usual notations ("10.0.0.1", "2001:db8::1").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil::base {

struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  uint8_t family = 0;  // 4 or 6; 0 = unset

  [[nodiscard]] static IpAddress V4(const uint8_t* four_bytes);
  [[nodiscard]] static IpAddress V6(const uint8_t* sixteen_bytes);
  // Parses dotted IPv4 or any RFC 4291 IPv6 text; nullopt when it is neither.
  [[nodiscard]] static std::optional<IpAddress> Parse(std::string_view text);

  [[nodiscard]] bool is_v4() const { return family == 4; }
  [[nodiscard]] bool is_v6() const { return family == 6; }
  [[nodiscard]] int bit_width() const { return family == 4 ? 32 : 128; }
  // True when the first `prefix_len` bits equal those of `network` (same family).
  [[nodiscard]] bool InPrefix(const IpAddress& network, int prefix_len) const;
  [[nodiscard]] std::string ToString() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
};

}  // namespace vigil::base

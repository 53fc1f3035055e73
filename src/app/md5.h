// MD5 (RFC 1321), for JA3 / JA3S fingerprints (ja3.hash, ja3s.hash), which are MD5 digests by
// definition; not for anything that needs a secure hash.
//
//   std::string hex = app::Md5Hex("771,4865-4866,0-23,29,0");   // 32 lowercase hex digits
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::app {

[[nodiscard]] std::array<uint8_t, 16> Md5(std::string_view data);
// The digest as 32 lowercase hexadecimal digits.
[[nodiscard]] std::string Md5Hex(std::string_view data);

}  // namespace vigil::app

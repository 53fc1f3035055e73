#include "base/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace vigil::base {

IpAddress IpAddress::V4(const uint8_t* four_bytes) {
  IpAddress a;
  std::memcpy(a.bytes.data(), four_bytes, 4);
  a.family = 4;
  return a;
}

IpAddress IpAddress::V6(const uint8_t* sixteen_bytes) {
  IpAddress a;
  std::memcpy(a.bytes.data(), sixteen_bytes, 16);
  a.family = 6;
  return a;
}

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  uint8_t raw[16];
  if (inet_pton(AF_INET, buf, raw) == 1) return V4(raw);
  if (inet_pton(AF_INET6, buf, raw) == 1) return V6(raw);
  return std::nullopt;
}

bool IpAddress::InPrefix(const IpAddress& network, int prefix_len) const {
  if (family != network.family) return false;
  int full = prefix_len / 8;
  if (std::memcmp(bytes.data(), network.bytes.data(), full) != 0) return false;
  int rest = prefix_len % 8;
  if (rest == 0) return true;
  uint8_t mask = uint8_t(0xff << (8 - rest));
  return (bytes[full] & mask) == (network.bytes[full] & mask);
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (family == 4) return inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
  if (family == 6) return inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return "?";
}

}  // namespace vigil::base

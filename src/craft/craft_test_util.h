// A small frame dissector for the craft tests, written independently of the builder so that the
// tests check the builder's bytes against the RFCs rather than against itself.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace vigil::craft::testing {

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t Be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

// RFC 1071: the folded one's-complement sum of 16-bit words. Over data that includes a correct
// checksum field it comes to 0xffff.
inline uint16_t OnesSum(const std::vector<uint8_t>& data) {
  uint64_t sum = 0;
  for (size_t i = 0; i < data.size(); i += 2) {
    uint16_t word = static_cast<uint16_t>(data[i] << 8);
    if (i + 1 < data.size()) word |= data[i + 1];
    sum += word;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

struct Dissected {
  std::vector<uint16_t> vlan_tpids;
  std::vector<uint16_t> vlan_tcis;
  uint16_t ethertype = 0;
  size_t l3 = 0;
  int version = 0;
  // IPv4
  size_t ip_header_len = 0;
  uint16_t total_length = 0;
  uint16_t ip_id = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint32_t fragment_offset = 0;  // bytes
  uint8_t ttl = 0;
  bool ip_checksum_ok = false;
  // IPv6
  uint16_t payload_length = 0;
  std::vector<uint8_t> extension_chain;   // header types in order
  std::optional<size_t> fragment_header;  // offset of an IPv6 fragment header
  uint32_t fragment_id = 0;
  // Transport
  uint8_t protocol = 0;
  size_t l4 = 0;
  size_t ip_end = 0;
  bool l4_checksum_ok = false;  // only checked for unfragmented packets
  uint16_t src_port = 0, dst_port = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t tcp_flags = 0;
  uint8_t icmp_type = 0;
  std::vector<uint8_t> payload;
};

// Parses an Ethernet (ethernet = true) or bare IP frame; nullopt when it does not hold together.
inline std::optional<Dissected> Dissect(const std::vector<uint8_t>& f, bool ethernet = true) {
  Dissected d;
  size_t pos = 0;
  if (ethernet) {
    if (f.size() < 14) return std::nullopt;
    pos = 12;
    uint16_t type = Be16(&f[pos]);
    while (type == 0x8100 || type == 0x88a8) {
      if (f.size() < pos + 6) return std::nullopt;
      d.vlan_tpids.push_back(type);
      d.vlan_tcis.push_back(Be16(&f[pos + 2]));
      pos += 4;
      type = Be16(&f[pos]);
    }
    d.ethertype = type;
    pos += 2;
  }
  d.l3 = pos;
  if (f.size() < pos + 1) return std::nullopt;
  d.version = f[pos] >> 4;
  std::vector<uint8_t> pseudo;
  if (d.version == 4) {
    if (f.size() < pos + 20) return std::nullopt;
    d.ip_header_len = (f[pos] & 15) * 4;
    d.total_length = Be16(&f[pos + 2]);
    if (d.ip_header_len < 20 || pos + d.total_length > f.size() || d.total_length < d.ip_header_len)
      return std::nullopt;
    d.ip_id = Be16(&f[pos + 4]);
    uint16_t frag = Be16(&f[pos + 6]);
    d.dont_fragment = frag & 0x4000;
    d.more_fragments = frag & 0x2000;
    d.fragment_offset = (frag & 0x1fff) * 8u;
    d.ttl = f[pos + 8];
    d.protocol = f[pos + 9];
    d.ip_checksum_ok = OnesSum({f.begin() + pos, f.begin() + pos + d.ip_header_len}) == 0xffff;
    d.l4 = pos + d.ip_header_len;
    d.ip_end = pos + d.total_length;
    pseudo.insert(pseudo.end(), f.begin() + pos + 12, f.begin() + pos + 20);
    pseudo.push_back(0);
    pseudo.push_back(d.protocol);
    uint16_t l4_len = static_cast<uint16_t>(d.ip_end - d.l4);
    pseudo.push_back(static_cast<uint8_t>(l4_len >> 8));
    pseudo.push_back(static_cast<uint8_t>(l4_len));
  } else if (d.version == 6) {
    if (f.size() < pos + 40) return std::nullopt;
    d.payload_length = Be16(&f[pos + 4]);
    d.ttl = f[pos + 7];
    d.ip_end = pos + 40 + d.payload_length;
    if (d.ip_end > f.size()) return std::nullopt;
    uint8_t nh = f[pos + 6];
    size_t p = pos + 40;
    while (nh == 0 || nh == 43 || nh == 44 || nh == 60) {
      if (p + 8 > d.ip_end) return std::nullopt;
      d.extension_chain.push_back(nh);
      size_t len = nh == 44 ? 8 : (f[p + 1] + 1) * 8u;
      if (nh == 44) {
        d.fragment_header = p;
        uint16_t off = Be16(&f[p + 2]);
        d.fragment_offset = off & 0xfff8;
        d.more_fragments = off & 1;
        d.fragment_id = Be32(&f[p + 4]);
      }
      nh = f[p];
      p += len;
      if (p > d.ip_end) return std::nullopt;
      if (d.fragment_header) break;  // what follows is fragment data
    }
    d.protocol = nh;
    d.l4 = p;
    pseudo.insert(pseudo.end(), f.begin() + pos + 8, f.begin() + pos + 40);
    uint32_t l4_len = static_cast<uint32_t>(d.ip_end - d.l4);
    for (int s = 24; s >= 0; s -= 8) pseudo.push_back(static_cast<uint8_t>(l4_len >> s));
    pseudo.insert(pseudo.end(), {0, 0, 0, d.protocol});
  } else {
    return std::nullopt;
  }

  const bool fragment = d.more_fragments || d.fragment_offset != 0 || d.fragment_header;
  std::vector<uint8_t> segment(f.begin() + d.l4, f.begin() + d.ip_end);
  size_t header = 0;
  if (!fragment && d.protocol == 6) {
    if (segment.size() < 20) return std::nullopt;
    d.src_port = Be16(&segment[0]);
    d.dst_port = Be16(&segment[2]);
    d.seq = Be32(&segment[4]);
    d.ack = Be32(&segment[8]);
    header = (segment[12] >> 4) * 4u;
    d.tcp_flags = segment[13];
  } else if (!fragment && d.protocol == 17) {
    if (segment.size() < 8 || Be16(&segment[4]) != segment.size()) return std::nullopt;
    d.src_port = Be16(&segment[0]);
    d.dst_port = Be16(&segment[2]);
    header = 8;
  } else if (!fragment && (d.protocol == 1 || d.protocol == 58)) {
    if (segment.size() < 8) return std::nullopt;
    d.icmp_type = segment[0];
    header = 8;
  }
  if (header > segment.size()) return std::nullopt;
  if (!fragment && header > 0) {
    std::vector<uint8_t> covered = d.protocol == 1 ? std::vector<uint8_t>{} : pseudo;
    covered.insert(covered.end(), segment.begin(), segment.end());
    d.l4_checksum_ok = OnesSum(covered) == 0xffff;
  }
  d.payload.assign(segment.begin() + header, segment.end());
  return d;
}

}  // namespace vigil::craft::testing

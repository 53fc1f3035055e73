#include "net/reject.h"

#include <algorithm>
#include <cstring>

namespace vigil::net {
namespace {

constexpr size_t kIpv4Header = 20;
constexpr size_t kIpv6Header = 40;
constexpr size_t kTcpHeader = 20;
constexpr size_t kIcmpHeader = 8;
constexpr size_t kIpv6MinMtu = 1280;

void Put16(uint8_t* at, uint16_t v) {
  at[0] = uint8_t(v >> 8);
  at[1] = uint8_t(v);
}
void Put32(uint8_t* at, uint32_t v) {
  Put16(at, uint16_t(v >> 16));
  Put16(at + 2, uint16_t(v));
}

// The ones' complement sum of RFC 1071, not yet folded.
uint32_t Sum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (; n > 1; p += 2, n -= 2) sum += uint32_t(p[0]) << 8 | p[1];
  if (n == 1) sum += uint32_t(p[0]) << 8;
  return sum;
}
uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

// The addresses of the packet's IP header: where they are and how long.
struct Addresses {
  const uint8_t* src;
  const uint8_t* dst;
  size_t len;
};
Addresses AddressesOf(const packet::Packet& p) {
  const uint8_t* ip = p.data + p.l3_offset;
  if (p.ip_version == 4) return {ip + 12, ip + 16, 4};
  return {ip + 8, ip + 24, 16};
}

// Writes the link-layer header (swapping the Ethernet addresses when the reply goes back) and an
// IP header from `src` to `dst` for `l4_len` bytes of protocol `proto`; returns the offset of the
// transport header, or 0 when `out` is too small.
size_t WriteHeaders(const packet::Packet& p, bool swap_mac, const uint8_t* src, const uint8_t* dst,
                    uint8_t proto, size_t l4_len, std::span<uint8_t> out) {
  const size_t ip_len = p.ip_version == 4 ? kIpv4Header : kIpv6Header;
  if (out.size() < p.l3_offset + ip_len + l4_len) return 0;
  uint8_t* o = out.data();
  std::memcpy(o, p.data, p.l3_offset);
  if (swap_mac) {
    std::memcpy(o, p.data + 6, 6);
    std::memcpy(o + 6, p.data, 6);
  }
  uint8_t* ip = o + p.l3_offset;
  std::memset(ip, 0, ip_len);
  if (p.ip_version == 4) {
    ip[0] = 0x45;
    Put16(ip + 2, uint16_t(kIpv4Header + l4_len));
    ip[8] = 64;
    ip[9] = proto;
    std::memcpy(ip + 12, src, 4);
    std::memcpy(ip + 16, dst, 4);
    Put16(ip + 10, Fold(Sum(ip, kIpv4Header)));
  } else {
    ip[0] = 0x60;
    Put16(ip + 4, uint16_t(l4_len));
    ip[6] = proto;
    ip[7] = 64;
    std::memcpy(ip + 8, src, 16);
    std::memcpy(ip + 24, dst, 16);
  }
  return p.l3_offset + ip_len;
}

// The transport checksum over the pseudo-header of the IP header at `ip`.
uint16_t TransportChecksum(const uint8_t* ip, int version, uint8_t proto, const uint8_t* l4,
                           size_t l4_len) {
  uint32_t sum = version == 4 ? Sum(ip + 12, 8) : Sum(ip + 8, 32);
  sum += proto;
  sum += uint32_t(l4_len);
  return Fold(Sum(l4, l4_len, sum));
}

bool IsEthernetIp(const packet::Packet& p) {
  return p.linktype == packet::LinkType::kEthernet && p.l3_offset >= 14 &&
         (p.ip_version == 4 || p.ip_version == 6);
}

}  // namespace

size_t BuildTcpReset(const packet::Packet& p, ReplyTo to, std::span<uint8_t> out) {
  if (!IsEthernetIp(p) || !p.has_tcp || (p.tcp_flags & packet::kTcpRst) != 0) return 0;
  const Addresses a = AddressesOf(p);
  const bool back = to == ReplyTo::kSource;
  const uint8_t proto = packet::kProtoTcp;
  size_t l4 = back ? WriteHeaders(p, true, a.dst, a.src, proto, kTcpHeader, out)
                   : WriteHeaders(p, false, a.src, a.dst, proto, kTcpHeader, out);
  if (l4 == 0) return 0;
  uint8_t* t = out.data() + l4;
  std::memset(t, 0, kTcpHeader);
  Put16(t, back ? p.dst_port : p.src_port);
  Put16(t + 2, back ? p.src_port : p.dst_port);
  uint32_t seg_len = p.payload_len + ((p.tcp_flags & packet::kTcpSyn) != 0 ? 1 : 0) +
                     ((p.tcp_flags & packet::kTcpFin) != 0 ? 1 : 0);
  uint8_t flags = packet::kTcpRst;
  if (back) {
    // From the destination: the sender accepts a reset whose sequence number is what it has
    // acknowledged; one that acknowledged nothing gets an ACK of its segment instead.
    if ((p.tcp_flags & packet::kTcpAck) != 0) {
      Put32(t + 4, p.tcp_ack);
    } else {
      Put32(t + 8, p.tcp_seq + seg_len);
      flags |= packet::kTcpAck;
    }
  } else {
    // From the source: the segment is dropped, so the destination still expects its first byte.
    Put32(t + 4, p.tcp_seq);
    if ((p.tcp_flags & packet::kTcpAck) != 0) {
      Put32(t + 8, p.tcp_ack);
      flags |= packet::kTcpAck;
    }
  }
  t[12] = uint8_t(kTcpHeader / 4) << 4;
  t[13] = flags;
  const uint8_t* ip = out.data() + p.l3_offset;
  Put16(t + 16, TransportChecksum(ip, p.ip_version, proto, t, kTcpHeader));
  return l4 + kTcpHeader;
}

size_t BuildPortUnreachable(const packet::Packet& p, std::span<uint8_t> out) {
  if (!IsEthernetIp(p)) return 0;
  // Never an error about an error (RFC 1122 §3.2.2, RFC 4443 §2.4): ICMPv4 errors are types
  // 3-5 and 11-12, ICMPv6 errors types below 128.
  if (p.has_icmp &&
      ((p.ip_version == 4 && (p.icmp_type == 3 || p.icmp_type == 4 || p.icmp_type == 5 ||
                              p.icmp_type == 11 || p.icmp_type == 12)) ||
       (p.ip_version == 6 && p.icmp_type < 128))) {
    return 0;
  }
  const uint8_t* offending = p.data + p.l3_offset;
  const size_t offending_len = p.caplen - p.l3_offset;
  size_t quote;
  uint8_t proto;
  if (p.ip_version == 4) {
    // The offending header (with its options) and the first 8 bytes of its data (RFC 792).
    size_t ihl = size_t(offending[0] & 0x0f) * 4;
    quote = std::min(offending_len, ihl + 8);
    proto = packet::kProtoIcmp;
  } else {
    // As much as fits in the minimum IPv6 MTU (RFC 4443 §3.1).
    quote = std::min(offending_len, kIpv6MinMtu - kIpv6Header - kIcmpHeader);
    proto = packet::kProtoIcmpv6;
  }
  const Addresses a = AddressesOf(p);
  size_t l4 = WriteHeaders(p, true, a.dst, a.src, proto, kIcmpHeader + quote, out);
  if (l4 == 0) return 0;
  uint8_t* icmp = out.data() + l4;
  std::memset(icmp, 0, kIcmpHeader);
  icmp[0] = p.ip_version == 4 ? 3 : 1;  // destination unreachable
  icmp[1] = p.ip_version == 4 ? 3 : 4;  // port unreachable
  std::memcpy(icmp + kIcmpHeader, offending, quote);
  const size_t icmp_len = kIcmpHeader + quote;
  uint16_t sum = p.ip_version == 4
                     ? Fold(Sum(icmp, icmp_len))
                     : TransportChecksum(out.data() + p.l3_offset, 6, proto, icmp, icmp_len);
  Put16(icmp + 2, sum);
  return l4 + icmp_len;
}

}  // namespace vigil::net

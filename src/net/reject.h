// Reject replies: what an inline vigil sends when a `reject` rule drops a packet — a TCP reset
// for TCP (RFC 9293 §3.10.7.1: an acceptable RST carries the sequence number the receiver
// expects), an ICMP or ICMPv6 "port unreachable" for anything else, as Snort 3's reject module and
// Suricata's respond-reject do.
//
//   std::array<uint8_t, net::kMaxReplyBytes> buf;
//   size_t n = net::BuildTcpReset(packet, net::ReplyTo::kSource, buf);   // 0: cannot reply
//   if (n > 0) port.Transmit({{.data = buf.data(), .caplen = uint32_t(n)}});
//
// A reply keeps the packet's link-layer header (VLAN tags included), with the Ethernet addresses
// swapped when it goes back to the source. Every checksum is computed. Only Ethernet frames are
// answered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "packet/packet.h"

namespace vigil::net {

// Large enough for any reply: link header + IPv6 header + ICMPv6 header + the 1232 bytes of the
// offending packet that fit in the IPv6 minimum MTU.
inline constexpr size_t kMaxReplyBytes = 1536;

enum class ReplyTo {
  kSource,       // back to the sender of the packet (leaves by the interface it came in on)
  kDestination,  // on to where the packet was going (leaves by the other interface)
};

// A RST for the connection of TCP packet `p`, into `out`; the frame's length, or 0 when `p` is
// not a TCP segment in an Ethernet frame, is itself a reset, or `out` is too small.
[[nodiscard]] size_t BuildTcpReset(const packet::Packet& p, ReplyTo to, std::span<uint8_t> out);

// An ICMP (type 3 code 3) or ICMPv6 (type 1 code 4) port unreachable to the source of `p`, quoting
// it as RFC 792 and RFC 4443 ask; 0 when `p` is not IP in an Ethernet frame, is itself an ICMP
// error, or `out` is too small.
[[nodiscard]] size_t BuildPortUnreachable(const packet::Packet& p, std::span<uint8_t> out);

}  // namespace vigil::net

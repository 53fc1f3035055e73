// Frame building for tests: describe a frame layer by layer, get its bytes with every length and
// checksum right (IPv4 header checksum; TCP, UDP and ICMPv6 checksums over the IPv4 or IPv6
// pseudo-header; ICMP checksum), so that tcpdump and tshark decode it cleanly. Also splits an IP
// packet into fragments. Used by unit tests, end-to-end tests, fuzz seeds and the traffic
// generator; not on the packet path.
//
//   using namespace vigil;
//   craft::Bytes syn = craft::BuildFrame({
//       .ethernet = craft::EthernetHeader{.vlans = {{.id = 100}}},
//       .ip = {.src = craft::Addr("10.0.0.1"), .dst = craft::Addr("10.0.0.2"), .ttl = 3},
//       .transport = craft::TcpHeader{.src_port = 40000, .dst_port = 80,
//                                     .seq = 1, .flags = packet::kTcpSyn},
//   });
//   auto pieces = craft::Fragment(big_udp_frame, 512);  // Result<std::vector<Bytes>>
//
// A field left at its default gets a sensible value; the `checksum` overrides exist to build
// deliberately broken frames.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "base/ip_address.h"
#include "base/result.h"
#include "packet/packet.h"

namespace vigil::craft {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
// VLAN (virtual LAN) tag types.
inline constexpr uint16_t kEtherTypeVlan = 0x8100;  // IEEE 802.1Q customer tag
inline constexpr uint16_t kEtherTypeQinQ = 0x88a8;  // IEEE 802.1ad service (outer) tag

// Locally administered addresses, so that crafted traffic never names a real vendor.
inline constexpr Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
inline constexpr Mac kServerMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

// IPv6 extension header numbers (they share the IP protocol number space).
inline constexpr uint8_t kIpv6HopByHop = 0;
inline constexpr uint8_t kIpv6Routing = 43;
inline constexpr uint8_t kIpv6Fragment = 44;
inline constexpr uint8_t kIpv6NoNextHeader = 59;
inline constexpr uint8_t kIpv6DestinationOptions = 60;

// The bytes of `text`, for payloads.
[[nodiscard]] Bytes ToBytes(std::string_view text);
// Parses an address literal; a bad literal is a bug in the test, so it aborts with a message.
[[nodiscard]] base::IpAddress Addr(std::string_view text);

struct VlanTag {
  uint16_t id = 0;                 // 12 bits
  uint8_t priority = 0;            // 3 bits (PCP = priority code point)
  uint16_t tpid = kEtherTypeVlan;  // tag protocol identifier: 0x8100, or 0x88a8 for an outer tag
};

struct EthernetHeader {
  Mac src = kClientMac;
  Mac dst = kServerMac;
  std::vector<VlanTag> vlans;  // outermost first; 0, 1 or 2 (more are written too)
  // Pad the frame with zeros to the 60-byte Ethernet minimum, as a network card does; the IP
  // length then tells the decoder where the packet really ends.
  bool pad_to_minimum = false;
  std::optional<uint16_t> ethertype;  // overrides the type derived from the IP version
};

// An IPv6 extension header. `body` is what follows its next-header and length bytes; the builder
// pads it (with PadN options for hop-by-hop and destination options, zeros otherwise) so the
// header is a multiple of 8 bytes, and fills in both bytes.
struct Ipv6Extension {
  uint8_t type = kIpv6DestinationOptions;
  Bytes body;
};
[[nodiscard]] Ipv6Extension HopByHop(Bytes options = {});
[[nodiscard]] Ipv6Extension DestinationOptions(Bytes options = {});
// A routing header of `routing_type` listing `addresses` (type 0/2 style: 4 reserved bytes, then
// the addresses).
[[nodiscard]] Ipv6Extension Routing(uint8_t routing_type, uint8_t segments_left,
                                    const std::vector<base::IpAddress>& addresses);
// A fragment header: `offset` in bytes (a multiple of 8), more-fragments flag, identification.
[[nodiscard]] Ipv6Extension FragmentHeader(uint16_t offset, bool more_fragments,
                                           uint32_t identification);

// The IP layer; the family of `src` chooses IPv4 or IPv6 (`dst` must match).
struct IpHeader {
  base::IpAddress src;
  base::IpAddress dst;
  uint8_t ttl = 64;  // IPv6: hop limit
  uint8_t tos = 0;   // IPv6: traffic class
  // IPv4 only.
  uint16_t id = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;      // in bytes; a multiple of 8
  Bytes options;                     // padded with zeros (end of options list) to a multiple of 4
  std::optional<uint16_t> checksum;  // replaces the computed header checksum
  // IPv6 only.
  uint32_t flow_label = 0;                // 20 bits
  std::vector<Ipv6Extension> extensions;  // in order; the builder chains their next headers
  // The protocol after the IP header (and extensions); by default the transport's (6, 17, 1 or
  // 58), or 59 "no next header" for IPv6 and 253 (experimental) for IPv4 without a transport.
  std::optional<uint8_t> protocol;
};

struct TcpHeader {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = packet::kTcpAck;
  uint16_t window = 65535;
  uint16_t urgent = 0;
  Bytes options;  // padded with zeros to a multiple of 4; at most 40 bytes are kept
  std::optional<uint16_t> checksum;
};

struct UdpHeader {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  std::optional<uint16_t> checksum;  // e.g. 0 for "no checksum" over IPv4
};

// ICMP over IPv4 or ICMPv6 over IPv6, by the IP family. The type numbers are the family's own
// (echo request is 8 for ICMP, 128 for ICMPv6). `id` and `seq` fill the four bytes after the
// checksum, which is where echo messages keep them.
struct IcmpHeader {
  uint8_t type = 8;
  uint8_t code = 0;
  uint16_t id = 0;
  uint16_t seq = 0;
  std::optional<uint16_t> checksum;
};

// No transport header: the payload follows the IP header as is (set IpHeader::protocol).
struct NoTransport {};

using Transport = std::variant<NoTransport, TcpHeader, UdpHeader, IcmpHeader>;

struct FrameSpec {
  // Ethernet by default; nullopt builds a bare IP packet (for the raw, IPv4 and IPv6 link types).
  std::optional<EthernetHeader> ethernet = EthernetHeader{};
  IpHeader ip;
  Transport transport;
  Bytes payload;
};

// The frame's bytes. Lengths wrap at 16 bits: keep IP packets under 64 KiB.
[[nodiscard]] Bytes BuildFrame(const FrameSpec& spec);

// A transport endpoint.
struct Endpoint {
  base::IpAddress ip;
  uint16_t port = 0;
};

// A UDP datagram from `src` to `dst` in an Ethernet frame (or bare, with ethernet = nullopt).
[[nodiscard]] Bytes UdpFrame(const Endpoint& src, const Endpoint& dst,
                             std::span<const uint8_t> payload,
                             std::optional<EthernetHeader> ethernet = EthernetHeader{});
// An ICMP (IPv4) or ICMPv6 (IPv6) echo request, or reply when `reply` is true.
[[nodiscard]] Bytes IcmpEchoFrame(const base::IpAddress& src, const base::IpAddress& dst,
                                  bool reply, uint16_t id, uint16_t seq,
                                  std::span<const uint8_t> payload = {},
                                  std::optional<EthernetHeader> ethernet = EthernetHeader{});

// Splits the IP packet in `frame` into fragments of at most `max_fragment_payload` bytes of
// fragmentable data each (rounded down to a multiple of 8), every one with the frame's link
// header. IPv4: the header (options included) is repeated with the right offset, more-fragments
// flag, length and checksum; don't-fragment is cleared; an existing fragment is split further.
// IPv6: the unfragmentable part (header, hop-by-hop, routing and any destination options before
// routing) is repeated and a fragment header with `ipv6_identification` inserted. Concatenating
// the fragments' data by offset gives back the original IP payload. A packet that already fits
// comes back unchanged, alone. Fails when the frame is not IP over `linktype` (Ethernet with any
// VLAN tags, raw, IPv4 or IPv6), is cut short, is already an IPv6 fragment, or
// max_fragment_payload < 8.
[[nodiscard]] base::Result<std::vector<Bytes>> Fragment(
    std::span<const uint8_t> frame, size_t max_fragment_payload,
    packet::LinkType linktype = packet::LinkType::kEthernet,
    uint32_t ipv6_identification = 0x00c0ffee);

}  // namespace vigil::craft

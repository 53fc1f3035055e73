// Packet: one captured frame and what the decoder learned about it.
//
// The capture source fills the raw part (data, lengths, timestamp, link type, number); the decoder
// fills the decoded part. `data` is borrowed: it stays valid only while the batch that holds the
// packet is being processed. Every decoded pointer points into `data`, and every length has been
// checked against `caplen`, so later stages never re-check header bounds.
#pragma once

#include <cstdint>

#include "base/ip_address.h"

namespace vigil::packet {

// Link-layer header types, numbered as in pcap's LINKTYPE_* registry.
enum class LinkType : uint16_t {
  kNull = 0,  // BSD loopback: 4-byte host-order address family
  kEthernet = 1,
  kPpp = 9,         // PPP (RFC 1661): an optional ff 03 address/control, a 1- or 2-byte protocol
  kRaw = 101,       // raw IPv4 or IPv6, version from the first nibble
  kLoop = 108,      // OpenBSD loopback: 4-byte network-order address family
  kLinuxSll = 113,  // Linux cooked capture v1
  kIpv4 = 228,
  kIpv6 = 229,
  kLinuxSll2 = 276,  // Linux cooked capture v2
};

// IP protocol numbers used by the decoder and the rules.
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoIpip = 4;   // IPv4 in IP
inline constexpr uint8_t kProtoIpv6 = 41;  // IPv6 in IP
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpv6 = 58;

// TCP flag bits as in the TCP header's flags byte (plus the NS bit is not kept).
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpUrg = 0x20;
inline constexpr uint8_t kTcpEce = 0x40;
inline constexpr uint8_t kTcpCwr = 0x80;

struct Timestamp {
  int64_t sec = 0;
  uint32_t nsec = 0;
};

struct Packet {
  // ---- Raw, filled by the capture source ----
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;   // bytes present in `data`
  uint32_t wirelen = 0;  // bytes the frame had on the wire
  Timestamp ts;
  uint64_t number = 0;  // 1-based position in the input (Suricata's pcap_cnt)
  LinkType linktype = LinkType::kEthernet;

  // ---- Decoded, filled by decode::Decoder ----
  uint16_t vlan_ids[2] = {0, 0};
  uint8_t vlan_count = 0;  // 0..2 kept; deeper stacks are decoded but not kept

  uint8_t ip_version = 0;  // 0 = no IP layer decoded, else 4 or 6
  base::IpAddress src_ip;
  base::IpAddress dst_ip;
  uint8_t ip_proto = 0;      // the transport protocol after any IPv6 extension headers
  uint8_t ttl = 0;           // IPv4 TTL or IPv6 hop limit
  uint8_t tos = 0;           // IPv4 TOS or IPv6 traffic class
  uint32_t ip_id = 0;        // IPv4 identification, or the IPv6 fragment header's identification
  bool is_fragment = false;  // more-fragments set or non-zero fragment offset
  uint16_t fragment_offset = 0;  // in bytes
  bool more_fragments = false;
  bool ip_checksum_bad = false;  // IPv4 header checksum did not verify (counted, not enforced)
  uint16_t l3_offset = 0;        // start of the IP header in `data`
  uint16_t l4_offset = 0;        // start of the transport header in `data` (0 = none)

  bool has_tcp = false;
  bool has_udp = false;
  bool has_icmp = false;  // ICMP or ICMPv6 (see ip_proto)
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t tcp_flags = 0;
  uint32_t tcp_seq = 0;
  uint32_t tcp_ack = 0;
  uint16_t tcp_window = 0;
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;

  // Application payload: after the TCP/UDP/ICMP header, trimmed to the IP length (link-layer
  // padding excluded) and to what was captured. For a non-first fragment (l4_offset == 0) it is
  // the fragment's data; for other IP protocols (GRE, ESP, ...) all of the upper layer.
  const uint8_t* payload = nullptr;
  uint32_t payload_len = 0;

  // Set on a packet decoded from the payload of an IP-in-IP (protocol 4) or IPv6-in-IP (41)
  // packet: the packet that carried it (Suricata's tunnel), valid as long as this one.
  const Packet* outer = nullptr;

  // Clears the decoded part so the packet object can be reused.
  void ResetDecoded() {
    Packet fresh;
    fresh.data = data;
    fresh.caplen = caplen;
    fresh.wirelen = wirelen;
    fresh.ts = ts;
    fresh.number = number;
    fresh.linktype = linktype;
    *this = fresh;
  }
};

}  // namespace vigil::packet

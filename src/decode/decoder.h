// Decoder: the first stage on the packet path. It reads a captured frame's link layer, any VLAN
// (virtual local area network) tags, the IPv4 or IPv6 header with its options or extension headers,
// and the TCP, UDP, ICMP or ICMPv6 header, and fills the decoded part of `packet::Packet`.
// Malformed and truncated headers are never errors: each is a named counter in `DecodeStats` (see
// decode_stats.h) and the packet goes on with whatever could be decoded.
//
//   decode::Decoder decoder;
//   decoder.DecodeBatch(batch);           // once per batch, before any other stage
//   for (packet::Packet& p : batch) {
//     if (p.has_tcp) Inspect(p.src_port, p.dst_port, p.payload, p.payload_len);
//   }
//   decoder.stats().ForEach(PrintCounter);
//
// What the decoder fills, beyond the field comments in packet.h:
// - Link layers: Ethernet II (802.3 frames carrying LLC, logical link control, are counted as
//   `llc`, not decoded), BSD loopback NULL (host-order family, either byte order accepted) and
//   LOOP (network order), raw IP, IPv4, IPv6, Linux cooked capture v1 and v2, PPP (IPv4 and
//   IPv6; other PPP protocols count as `other`). Up to kMaxVlanTags
//   stacked 802.1Q/802.1ad tags (EtherTypes 0x8100, 0x88a8, 0x9100) are walked; the outer two ids
//   are kept.
// - IPv4: only a header with version 4, IHL (Internet header length) >= 5 inside the capture and
//   a total length >= IHL*4 counts as decoded (ip_version = 4). The checksum is verified: a bad
//   one sets `ip_checksum_bad` and is counted, the packet is still decoded. Options are checked
//   for well-formedness only.
// - IPv6: the extension-header chain (hop-by-hop, routing, fragment, destination options,
//   authentication header, mobility, host identity protocol, shim6) is walked up to
//   kMaxIpv6ExtHeaders headers; ESP (encapsulating security payload) and No Next Header end it and
//   become `ip_proto`. When the chain is malformed, `ip_proto` is the header where decoding stopped
//   and no transport header is decoded. A payload length of 0 followed by hop-by-hop is read as a
//   jumbogram whose payload runs to the end of the capture.
// - Fragments: a first fragment (offset 0, more-fragments set) has its transport header decoded
//   when it is present. A non-first fragment has no transport header: `l4_offset` stays 0 and
//   `payload`/`payload_len` hold the fragment's data (what follows the IP header and, for IPv6,
//   the fragment header), so that defragmentation can find it.
// - Transport: the header (TCP options included) must lie entirely within the capture and within
//   the IP payload, else it is counted and not decoded (has_tcp etc. stay false, l4_offset 0).
//   Transport checksums are not verified: offloaded captures often carry unfinished ones.
// - Other IP protocols (GRE, SCTP, ESP, tunnelled IP …): `l4_offset` is where the upper layer
//   starts and `payload` is all of it, trimmed like any payload.
// - Payload never extends past `caplen` nor past the IP length (link-layer padding excluded);
//   for UDP it also stops at the UDP length when that is shorter than the IP payload.
// - Tunnels: DecodeTunnel() decodes the packet an IP-in-IP (4), IPv6-in-IP (41) or GRE (47,
//   generic routing encapsulation) packet carries. GRE version 0 (RFC 2784/2890: checksum, key,
//   sequence number and RFC 1701 source-routing entries skipped) carrying IPv4, IPv6, PPP or
//   Ethernet (transparent bridging, 0x6558), and version 1, PPTP's enhanced GRE (RFC 2637: key
//   required, optional sequence and acknowledgment numbers) carrying PPP, are decoded; the inner
//   packet starts at what the GRE header carries, so a PPP or Ethernet inner packet keeps that
//   link layer (as Suricata's tunnel packets do). Other GRE protocols and malformed GRE headers
//   are counted (decode.gre.*) and not decoded.
//
// Cost: one pass over the headers, each byte read once, plus the IPv4 header checksum (IHL*2
// 16-bit additions). No allocation, no string work, no virtual call; counters are array slots.
// `Decode` never reads outside [data, data + caplen), whatever the bytes are.
#pragma once

#include <cstddef>
#include <cstdint>

#include "decode/decode_stats.h"
#include "packet/batch.h"
#include "packet/packet.h"

namespace vigil::decode {

// Tags decoded per frame; a deeper stack is counted (decode.vlan.too_deep) and not decoded.
inline constexpr int kMaxVlanTags = 8;
// IPv6 extension headers walked per packet; more is counted (decode.ipv6.too_many_ext_headers).
inline constexpr int kMaxIpv6ExtHeaders = 8;

class Decoder {
 public:
  // Clears the decoded part of `p` and fills it from p.data[0, p.caplen) per p.linktype.
  // Precondition: p.data points at p.caplen readable bytes (may be null when caplen is 0).
  void Decode(packet::Packet& p);
  // Decode() on every packet of the batch, in order.
  void DecodeBatch(packet::Batch& b);

  // True when `outer` (decoded, not a fragment) carries a tunnel protocol DecodeTunnel reads:
  // IP in IP, IPv6 in IP or GRE, with a payload. Reads no byte; counts nothing.
  [[nodiscard]] static bool CarriesTunnel(const packet::Packet& outer);
  // Makes `inner` the packet `outer`'s tunnel carries and decodes it (inner.outer = &outer;
  // timestamp and number copied; inner.data points into outer.data). Returns false, leaving
  // `inner` unspecified, when the tunnel header is malformed or its protocol is not one vigil
  // decodes (both counted), or there is nothing inside.
  [[nodiscard]] bool DecodeTunnel(const packet::Packet& outer, packet::Packet& inner);

  [[nodiscard]] const DecodeStats& stats() const { return stats_; }

 private:
  void Count(Anomaly a) { ++stats_.anomalies[static_cast<size_t>(a)]; }

  // Each takes the offset in p.data where its header starts; offset <= p.caplen on entry.
  void DecodeEthertype(packet::Packet& p, uint16_t type, uint32_t offset);
  void DecodeLoopbackFamily(packet::Packet& p, uint32_t family);
  void DecodeIpv4(packet::Packet& p, uint32_t offset);
  void DecodeIpv6(packet::Packet& p, uint32_t offset);
  // The upper layer `proto` starts at `offset`; `end` bounds it by the IP length and the capture,
  // `declared_end` by the IP length alone (the two differ when the capture was cut short).
  void DecodeUpper(packet::Packet& p, uint8_t proto, uint32_t offset, uint32_t end,
                   uint32_t declared_end);
  void DecodeTcp(packet::Packet& p, uint32_t offset, uint32_t end, uint32_t declared_end);
  void DecodeUdp(packet::Packet& p, uint32_t offset, uint32_t end, uint32_t declared_end);
  void DecodeIcmp(packet::Packet& p, uint32_t offset, uint32_t end, bool v6);

  // Where the packet inside a GRE payload starts (relative to `gre`) and its link type; false
  // when it is not decoded (counted).
  bool ParseGre(const uint8_t* gre, uint32_t len, uint32_t* inner_at, packet::LinkType* linktype);

  DecodeStats stats_;
};

}  // namespace vigil::decode

#include "decode/decoder.h"

#include "base/bytes.h"
#include "base/ip_address.h"

namespace vigil::decode {
namespace {

using base::LoadBe16;
using base::LoadBe32;
using packet::LinkType;
using packet::Packet;

constexpr uint32_t kEthernetHeaderLen = 14;
constexpr uint32_t kVlanTagLen = 4;
constexpr uint32_t kLoopbackHeaderLen = 4;
constexpr uint32_t kSllHeaderLen = 16;
constexpr uint32_t kSllProtocolOffset = 14;
constexpr uint32_t kSll2HeaderLen = 20;
constexpr uint16_t kPppIpv4 = 0x0021;  // PPP protocol numbers (RFC 1332, RFC 5072)
constexpr uint16_t kPppIpv6 = 0x0057;
constexpr uint32_t kIpv4MinHeaderLen = 20;
constexpr uint32_t kIpv6HeaderLen = 40;
constexpr uint32_t kTcpMinHeaderLen = 20;
constexpr uint32_t kUdpHeaderLen = 8;
constexpr uint32_t kIcmpHeaderLen = 8;
constexpr uint32_t kIpv6FragmentHeaderLen = 8;
constexpr uint32_t kMaxIpLength = 65535;
constexpr uint8_t kProtoGre = 47;

// GRE (RFC 2784, 2890, 1701; PPTP's version 1, RFC 2637): the first 16 bits.
constexpr uint16_t kGreChecksum = 0x8000;
constexpr uint16_t kGreRouting = 0x4000;
constexpr uint16_t kGreKey = 0x2000;
constexpr uint16_t kGreSequence = 0x1000;
constexpr uint16_t kGreStrictRoute = 0x0800;
constexpr uint16_t kGreRecursion = 0x0700;
constexpr uint16_t kGreAck = 0x0080;       // version 1 only
constexpr uint16_t kGreReserved = 0x0078;  // version 1: 0x0078; version 0: also 0x0080
constexpr uint16_t kGreVersion = 0x0007;
constexpr uint32_t kGreHeaderLen = 4;
constexpr uint16_t kGreTransparentEthernet = 0x6558;

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint16_t kEtherTypePpp = 0x880b;      // what GRE names PPP by
constexpr uint16_t kEtherTypeVlan = 0x8100;     // 802.1Q customer tag
constexpr uint16_t kEtherTypeQinQ = 0x88a8;     // 802.1ad service tag
constexpr uint16_t kEtherTypeQinQOld = 0x9100;  // pre-standard service tag
constexpr uint16_t kMaxEthernetLength = 1500;   // 802.3: the field is a length, LLC follows

// Loopback address families (AF_INET, and AF_INET6 as numbered by the BSDs and Darwin).
constexpr uint32_t kFamilyInet = 2;
constexpr uint32_t kFamilyInet6Bsd = 24;
constexpr uint32_t kFamilyInet6FreeBsd = 28;
constexpr uint32_t kFamilyInet6Darwin = 30;

// IPv6 extension headers (IANA protocol numbers).
constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6Ah = 51;  // authentication header
constexpr uint8_t kIpv6DestOptions = 60;
constexpr uint8_t kIpv6Mobility = 135;
constexpr uint8_t kIpv6Hip = 139;  // host identity protocol
constexpr uint8_t kIpv6Shim6 = 140;

// ESP (encapsulating security payload, 50) and No Next Header (59) are not in the list: what
// follows them is opaque, so they end the chain like an upper-layer protocol.
bool IsIpv6ExtensionHeader(uint8_t next) {
  switch (next) {
    case kIpv6HopByHop:
    case kIpv6Routing:
    case kIpv6Fragment:
    case kIpv6Ah:
    case kIpv6DestOptions:
    case kIpv6Mobility:
    case kIpv6Hip:
    case kIpv6Shim6:
      return true;
    default:
      return false;
  }
}

constexpr uint8_t kIpv4OptEol = 0;
constexpr uint8_t kIpv4OptNop = 1;
constexpr uint8_t kTcpOptEol = 0;
constexpr uint8_t kTcpOptNop = 1;
constexpr uint8_t kTcpOptMss = 2;
constexpr uint8_t kTcpOptWindowScale = 3;
constexpr uint8_t kTcpOptSackPermitted = 4;
constexpr uint8_t kTcpOptSack = 5;
constexpr uint8_t kTcpOptTimestamp = 8;

constexpr uint16_t kIpv4MoreFragments = 0x2000;
constexpr uint16_t kIpv4OffsetMask = 0x1fff;

// True when the IPv4 header's one's-complement sum, checksum field included, is all ones.
bool Ipv4ChecksumOk(const uint8_t* h, uint32_t len) {
  uint32_t sum = 0;
  for (uint32_t i = 0; i + 1 < len; i += 2) sum += LoadBe16(h + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

// Options are type-length-value records except the one-byte EOL (end of list) and NOP.
bool Ipv4OptionsOk(const uint8_t* o, uint32_t len) {
  uint32_t i = 0;
  while (i < len) {
    const uint8_t kind = o[i];
    if (kind == kIpv4OptEol) return true;
    if (kind == kIpv4OptNop) {
      ++i;
      continue;
    }
    if (len - i < 2) return false;
    const uint8_t opt_len = o[i + 1];
    if (opt_len < 2 || opt_len > len - i) return false;
    i += opt_len;
  }
  return true;
}

// Beyond the record structure, the options the stacks act on must have their RFC lengths: a
// wrong one is what evasion and stack-crash attempts look like.
bool TcpOptionsOk(const uint8_t* o, uint32_t len) {
  uint32_t i = 0;
  while (i < len) {
    const uint8_t kind = o[i];
    if (kind == kTcpOptEol) return true;
    if (kind == kTcpOptNop) {
      ++i;
      continue;
    }
    if (len - i < 2) return false;
    const uint8_t opt_len = o[i + 1];
    if (opt_len < 2 || opt_len > len - i) return false;
    switch (kind) {
      case kTcpOptMss:
        if (opt_len != 4) return false;
        break;
      case kTcpOptWindowScale:
        if (opt_len != 3) return false;
        break;
      case kTcpOptSackPermitted:
        if (opt_len != 2) return false;
        break;
      case kTcpOptSack:
        if (opt_len < 10 || (opt_len - 2) % 8 != 0) return false;
        break;
      case kTcpOptTimestamp:
        if (opt_len != 10) return false;
        break;
      default:
        break;
    }
    i += opt_len;
  }
  return true;
}

// [begin, end) must lie within [0, caplen]; callers guarantee it.
void SetPayload(Packet& p, uint32_t begin, uint32_t end) {
  p.payload = p.data + begin;
  p.payload_len = end - begin;
}

}  // namespace

void Decoder::DecodeBatch(packet::Batch& b) {
  for (Packet& p : b) Decode(p);
}

void Decoder::Decode(Packet& p) {
  p.ResetDecoded();
  ++stats_.packets;
  stats_.bytes += p.caplen;
  const uint8_t* d = p.data;
  const uint32_t caplen = p.caplen;

  switch (p.linktype) {
    case LinkType::kEthernet:
      if (caplen < kEthernetHeaderLen) return Count(Anomaly::kEthTruncated);
      return DecodeEthertype(p, LoadBe16(d + 12), kEthernetHeaderLen);
    case LinkType::kNull: {
      if (caplen < kLoopbackHeaderLen) return Count(Anomaly::kLoopbackTruncated);
      // Written in the capturing host's byte order; a family always fits in 16 bits, so set
      // high bits mean the writer was big-endian.
      uint32_t family = base::LoadLe32(d);
      if (family > 0xffff) family = LoadBe32(d);
      return DecodeLoopbackFamily(p, family);
    }
    case LinkType::kLoop:
      if (caplen < kLoopbackHeaderLen) return Count(Anomaly::kLoopbackTruncated);
      return DecodeLoopbackFamily(p, LoadBe32(d));
    case LinkType::kRaw:
      if (caplen < 1) return Count(Anomaly::kRawTruncated);
      if (d[0] >> 4 == 4) return DecodeIpv4(p, 0);
      if (d[0] >> 4 == 6) return DecodeIpv6(p, 0);
      return Count(Anomaly::kRawBadVersion);
    case LinkType::kIpv4:
      return DecodeIpv4(p, 0);
    case LinkType::kIpv6:
      return DecodeIpv6(p, 0);
    case LinkType::kLinuxSll:
      if (caplen < kSllHeaderLen) return Count(Anomaly::kSllTruncated);
      return DecodeEthertype(p, LoadBe16(d + kSllProtocolOffset), kSllHeaderLen);
    case LinkType::kLinuxSll2:
      if (caplen < kSll2HeaderLen) return Count(Anomaly::kSll2Truncated);
      return DecodeEthertype(p, LoadBe16(d), kSll2HeaderLen);
    case LinkType::kPpp: {
      // An optional HDLC-like address and control (ff 03, RFC 1662), then the protocol: one byte
      // when its low bit is set (protocol-field compression, RFC 1661 6.5), else two.
      uint32_t at = caplen >= 2 && d[0] == 0xff && d[1] == 0x03 ? 2 : 0;
      if (caplen < at + 1 || (!(d[at] & 1) && caplen < at + 2)) {
        return Count(Anomaly::kPppTruncated);
      }
      const bool compressed = d[at] & 1;
      const uint16_t proto = compressed ? d[at] : LoadBe16(d + at);
      at += compressed ? 1 : 2;
      if (proto == kPppIpv4) return DecodeIpv4(p, at);
      if (proto == kPppIpv6) return DecodeIpv6(p, at);
      ++stats_.other;  // link control, authentication, ...: not IP
      return;
    }
  }
  Count(Anomaly::kLinkUnsupported);
}

bool Decoder::CarriesTunnel(const Packet& outer) {
  return outer.ip_version != 0 && !outer.is_fragment && outer.payload_len > 0 &&
         (outer.ip_proto == packet::kProtoIpip || outer.ip_proto == packet::kProtoIpv6 ||
          outer.ip_proto == kProtoGre);
}

bool Decoder::ParseGre(const uint8_t* gre, uint32_t len, uint32_t* inner_at, LinkType* linktype) {
  if (len < kGreHeaderLen) {
    Count(Anomaly::kGreTruncated);
    return false;
  }
  const uint16_t flags = LoadBe16(gre);
  const uint16_t proto = LoadBe16(gre + 2);
  uint32_t at = kGreHeaderLen;
  switch (flags & kGreVersion) {
    case 0:
      // Nested encapsulation (recursion) and the reserved bits are obsolete: no sender sets them.
      if (flags & (kGreRecursion | kGreAck | kGreReserved)) {
        Count(Anomaly::kGreBadFlags);
        return false;
      }
      if (flags & (kGreChecksum | kGreRouting)) at += 4;  // checksum and routing offset
      if (flags & kGreKey) at += 4;
      if (flags & kGreSequence) at += 4;
      if (flags & kGreRouting) {
        // RFC 1701 source route entries: family (2), offset (1), length (1), then `length`
        // bytes; a null entry (family 0, length 0) ends the list.
        while (true) {
          if (len < at + 4) {
            Count(Anomaly::kGreTruncated);
            return false;
          }
          const uint16_t family = LoadBe16(gre + at);
          const uint8_t sre_len = gre[at + 3];
          at += 4 + sre_len;
          if (family == 0 && sre_len == 0) break;
        }
      }
      break;
    case 1:
      // PPTP: always a key (payload length, call id), never checksum, routing or recursion,
      // and only PPP inside.
      if (!(flags & kGreKey) || proto != kEtherTypePpp ||
          (flags & (kGreChecksum | kGreRouting | kGreStrictRoute | kGreRecursion | kGreReserved))) {
        Count(Anomaly::kGreBadFlags);
        return false;
      }
      at += 4;
      if (flags & kGreSequence) at += 4;
      if (flags & kGreAck) at += 4;
      break;
    default:
      Count(Anomaly::kGreBadVersion);
      return false;
  }
  if (at > len) {
    Count(Anomaly::kGreTruncated);
    return false;
  }
  switch (proto) {
    case kEtherTypeIpv4:
    case kEtherTypeIpv6:
      *linktype = LinkType::kRaw;
      break;
    case kEtherTypePpp:
      *linktype = LinkType::kPpp;
      break;
    case kGreTransparentEthernet:
      *linktype = LinkType::kEthernet;
      break;
    default:
      Count(Anomaly::kGreUnsupportedProtocol);
      return false;
  }
  ++stats_.gre;
  *inner_at = at;
  return at < len;  // a PPTP acknowledgment carries nothing
}

bool Decoder::DecodeTunnel(const Packet& outer, Packet& inner) {
  if (!CarriesTunnel(outer)) return false;
  uint32_t at = 0;
  LinkType linktype = LinkType::kRaw;
  if (outer.ip_proto == kProtoGre && !ParseGre(outer.payload, outer.payload_len, &at, &linktype)) {
    return false;
  }
  inner = Packet{};
  inner.data = outer.payload + at;
  inner.caplen = inner.wirelen = outer.payload_len - at;
  inner.linktype = linktype;
  inner.ts = outer.ts;
  inner.number = outer.number;
  Decode(inner);
  inner.outer = &outer;
  return true;
}

void Decoder::DecodeLoopbackFamily(Packet& p, uint32_t family) {
  switch (family) {
    case kFamilyInet:
      return DecodeIpv4(p, kLoopbackHeaderLen);
    case kFamilyInet6Bsd:
    case kFamilyInet6FreeBsd:
    case kFamilyInet6Darwin:
      return DecodeIpv6(p, kLoopbackHeaderLen);
    default:
      ++stats_.other;
  }
}

void Decoder::DecodeEthertype(Packet& p, uint16_t type, uint32_t offset) {
  int tags = 0;
  while (type == kEtherTypeVlan || type == kEtherTypeQinQ || type == kEtherTypeQinQOld) {
    if (tags == kMaxVlanTags) return Count(Anomaly::kVlanTooDeep);
    if (p.caplen - offset < kVlanTagLen) return Count(Anomaly::kVlanTruncated);
    const uint8_t* tag = p.data + offset;
    if (tags == 0) ++stats_.vlan;
    if (tags < 2) {
      p.vlan_ids[tags] = LoadBe16(tag) & 0x0fff;
      p.vlan_count = uint8_t(tags + 1);
    } else if (tags == 2) {
      Count(Anomaly::kVlanIdsNotKept);
    }
    ++tags;
    type = LoadBe16(tag + 2);
    offset += kVlanTagLen;
  }

  switch (type) {
    case kEtherTypeIpv4:
      return DecodeIpv4(p, offset);
    case kEtherTypeIpv6:
      return DecodeIpv6(p, offset);
    case kEtherTypeArp:
      ++stats_.arp;
      ++stats_.other;
      return;
    default:
      if (type <= kMaxEthernetLength) ++stats_.llc;
      ++stats_.other;
  }
}

void Decoder::DecodeIpv4(Packet& p, uint32_t offset) {
  const uint32_t caplen = p.caplen;
  if (caplen - offset < kIpv4MinHeaderLen) return Count(Anomaly::kIpv4Truncated);
  const uint8_t* ip = p.data + offset;
  if (ip[0] >> 4 != 4) return Count(Anomaly::kIpv4BadVersion);
  const uint32_t header_len = uint32_t(ip[0] & 0x0f) * 4;
  if (header_len < kIpv4MinHeaderLen) return Count(Anomaly::kIpv4BadHeaderLength);
  if (header_len > caplen - offset) return Count(Anomaly::kIpv4Truncated);
  const uint32_t total_len = LoadBe16(ip + 2);
  if (total_len < header_len) return Count(Anomaly::kIpv4BadTotalLength);

  // Bytes past the total length are link-layer padding (Ethernet's 60-byte minimum) and are
  // not part of the packet.
  const uint32_t declared_end = offset + total_len;
  uint32_t end = declared_end;
  if (end > caplen) {
    Count(Anomaly::kIpv4Truncated);
    end = caplen;
  }
  if (!Ipv4OptionsOk(ip + kIpv4MinHeaderLen, header_len - kIpv4MinHeaderLen)) {
    Count(Anomaly::kIpv4BadOption);
  }
  if (!Ipv4ChecksumOk(ip, header_len)) {
    Count(Anomaly::kIpv4BadChecksum);
    p.ip_checksum_bad = true;
  }

  p.ip_version = 4;
  p.l3_offset = uint16_t(offset);
  p.tos = ip[1];
  p.ip_id = LoadBe16(ip + 4);
  p.ttl = ip[8];
  p.ip_proto = ip[9];
  p.src_ip = base::IpAddress::V4(ip + 12);
  p.dst_ip = base::IpAddress::V4(ip + 16);
  ++stats_.ipv4;

  const uint16_t flags_offset = LoadBe16(ip + 6);
  p.more_fragments = (flags_offset & kIpv4MoreFragments) != 0;
  p.fragment_offset = uint16_t((flags_offset & kIpv4OffsetMask) * 8);
  p.is_fragment = p.more_fragments || p.fragment_offset != 0;
  const uint32_t l4 = offset + header_len;
  if (p.is_fragment) {
    ++stats_.fragments;
    if (p.fragment_offset + (total_len - header_len) > kMaxIpLength) {
      Count(Anomaly::kIpv4FragmentTooLarge);
    }
    // A later fragment carries the middle of the upper-layer data, not its header.
    if (p.fragment_offset != 0) return SetPayload(p, l4, end);
  }
  DecodeUpper(p, p.ip_proto, l4, end, declared_end);
}

void Decoder::DecodeIpv6(Packet& p, uint32_t offset) {
  const uint32_t caplen = p.caplen;
  if (caplen - offset < kIpv6HeaderLen) return Count(Anomaly::kIpv6Truncated);
  const uint8_t* ip = p.data + offset;
  if (ip[0] >> 4 != 6) return Count(Anomaly::kIpv6BadVersion);
  const uint32_t payload_len = LoadBe16(ip + 4);
  uint8_t next = ip[6];

  uint32_t declared_end = offset + kIpv6HeaderLen + payload_len;
  if (payload_len == 0 && next == kIpv6HopByHop) {
    // RFC 2675 jumbogram (also what Linux BIG TCP puts on the wire of a capture): the real
    // length is in a hop-by-hop option; the capture is the best bound there is.
    Count(Anomaly::kIpv6Jumbogram);
    declared_end = caplen;
  }
  uint32_t end = declared_end;
  if (end > caplen) {
    Count(Anomaly::kIpv6Truncated);
    end = caplen;
  }

  p.ip_version = 6;
  p.l3_offset = uint16_t(offset);
  p.tos = uint8_t(LoadBe16(ip) >> 4);
  p.ttl = ip[7];
  p.src_ip = base::IpAddress::V6(ip + 8);
  p.dst_ip = base::IpAddress::V6(ip + 24);
  ++stats_.ipv6;

  uint32_t cur = offset + kIpv6HeaderLen;
  bool seen_fragment_header = false;
  for (int headers = 0; IsIpv6ExtensionHeader(next); ++headers) {
    p.ip_proto = next;  // where decoding stops if this header turns out to be malformed
    if (headers == kMaxIpv6ExtHeaders) return Count(Anomaly::kIpv6TooManyExtHeaders);
    if (next == kIpv6HopByHop && headers != 0) Count(Anomaly::kIpv6HopByHopNotFirst);
    const uint32_t left = end - cur;
    if (left < 2) return Count(Anomaly::kIpv6ExtHeaderTruncated);
    const uint8_t* h = p.data + cur;
    uint32_t header_len;
    if (next == kIpv6Fragment) {
      header_len = kIpv6FragmentHeaderLen;
    } else if (next == kIpv6Ah) {
      header_len = (uint32_t(h[1]) + 2) * 4;  // in 4-byte units, minus 2 (RFC 4302)
    } else {
      header_len = (uint32_t(h[1]) + 1) * 8;  // in 8-byte units, minus 1 (RFC 8200)
    }
    if (header_len > left) return Count(Anomaly::kIpv6ExtHeaderTruncated);

    const uint8_t following = h[0];
    cur += header_len;
    if (next == kIpv6Fragment) {
      if (seen_fragment_header) {
        // A second fragment header is an evasion attempt; the first one describes the packet.
        Count(Anomaly::kIpv6DuplicateFragmentHeader);
      } else {
        seen_fragment_header = true;
        const uint16_t offset_flags = LoadBe16(h + 2);
        p.fragment_offset = uint16_t(offset_flags & 0xfff8);
        p.more_fragments = (offset_flags & 1) != 0;
        p.ip_id = LoadBe32(h + 4);
        // An atomic fragment (offset 0, no more fragments) is a whole packet (RFC 6946).
        p.is_fragment = p.more_fragments || p.fragment_offset != 0;
        if (p.is_fragment) {
          ++stats_.fragments;
          if (p.fragment_offset + (declared_end - cur) > kMaxIpLength) {
            Count(Anomaly::kIpv6FragmentTooLarge);
          }
        }
        if (p.fragment_offset != 0) {
          p.ip_proto = following;
          return SetPayload(p, cur, end);
        }
      }
    }
    next = following;
  }
  p.ip_proto = next;
  DecodeUpper(p, next, cur, end, declared_end);
}

void Decoder::DecodeUpper(Packet& p, uint8_t proto, uint32_t offset, uint32_t end,
                          uint32_t declared_end) {
  // l4_offset is 16 bits wide; only an IPv6 jumbogram or a long extension chain gets here.
  if (offset > 0xffff) return Count(Anomaly::kIpOffsetTooLarge);
  switch (proto) {
    case packet::kProtoTcp:
      return DecodeTcp(p, offset, end, declared_end);
    case packet::kProtoUdp:
      return DecodeUdp(p, offset, end, declared_end);
    case packet::kProtoIcmp:
      return DecodeIcmp(p, offset, end, /*v6=*/false);
    case packet::kProtoIcmpv6:
      return DecodeIcmp(p, offset, end, /*v6=*/true);
    default:
      p.l4_offset = uint16_t(offset);
      SetPayload(p, offset, end);
  }
}

void Decoder::DecodeTcp(Packet& p, uint32_t offset, uint32_t end, uint32_t declared_end) {
  const uint32_t avail = end - offset;
  if (avail < kTcpMinHeaderLen) return Count(Anomaly::kTcpTruncated);
  const uint8_t* t = p.data + offset;
  const uint32_t header_len = uint32_t(t[12] >> 4) * 4;
  // Shorter than the fixed header, or longer than what the IP header says the segment is.
  if (header_len < kTcpMinHeaderLen || header_len > declared_end - offset) {
    return Count(Anomaly::kTcpBadDataOffset);
  }
  if (header_len > avail) return Count(Anomaly::kTcpTruncated);
  if (!TcpOptionsOk(t + kTcpMinHeaderLen, header_len - kTcpMinHeaderLen)) {
    Count(Anomaly::kTcpBadOptionLength);
  }

  p.has_tcp = true;
  p.l4_offset = uint16_t(offset);
  p.src_port = LoadBe16(t);
  p.dst_port = LoadBe16(t + 2);
  p.tcp_seq = LoadBe32(t + 4);
  p.tcp_ack = LoadBe32(t + 8);
  p.tcp_flags = t[13];
  p.tcp_window = LoadBe16(t + 14);
  SetPayload(p, offset + header_len, end);
  ++stats_.tcp;
}

void Decoder::DecodeUdp(Packet& p, uint32_t offset, uint32_t end, uint32_t declared_end) {
  if (end - offset < kUdpHeaderLen) return Count(Anomaly::kUdpTruncated);
  const uint8_t* u = p.data + offset;
  const uint32_t udp_len = LoadBe16(u + 4);
  const uint32_t ip_payload_len = declared_end - offset;
  uint32_t payload_end = end;
  if (udp_len < kUdpHeaderLen) {
    Count(Anomaly::kUdpBadLength);
  } else if (p.is_fragment) {
    // A first fragment holds only part of the datagram the length describes.
  } else if (udp_len > ip_payload_len) {
    Count(Anomaly::kUdpBadLength);
  } else if (udp_len < ip_payload_len) {
    // Bytes after the datagram inside the IP packet: not part of the UDP payload.
    Count(Anomaly::kUdpLengthMismatch);
    if (offset + udp_len < payload_end) payload_end = offset + udp_len;
  }

  p.has_udp = true;
  p.l4_offset = uint16_t(offset);
  p.src_port = LoadBe16(u);
  p.dst_port = LoadBe16(u + 2);
  SetPayload(p, offset + kUdpHeaderLen, payload_end);
  ++stats_.udp;
}

void Decoder::DecodeIcmp(Packet& p, uint32_t offset, uint32_t end, bool v6) {
  if (end - offset < kIcmpHeaderLen) {
    return Count(v6 ? Anomaly::kIcmpv6Truncated : Anomaly::kIcmpTruncated);
  }
  const uint8_t* h = p.data + offset;
  p.has_icmp = true;
  p.l4_offset = uint16_t(offset);
  p.icmp_type = h[0];
  p.icmp_code = h[1];
  SetPayload(p, offset + kIcmpHeaderLen, end);
  ++(v6 ? stats_.icmpv6 : stats_.icmp);
}

}  // namespace vigil::decode

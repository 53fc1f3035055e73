#include "craft/frame.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "base/bytes.h"

namespace vigil::craft {
namespace {

constexpr size_t kEthernetHeaderSize = 14;
constexpr size_t kEthernetMinimumFrame = 60;  // without the frame check sequence
constexpr size_t kIpv4HeaderSize = 20;
constexpr size_t kIpv6HeaderSize = 40;
constexpr size_t kTcpHeaderSize = 20;
constexpr size_t kTcpMaxOptions = 40;
constexpr size_t kUdpHeaderSize = 8;
constexpr size_t kFragmentHeaderSize = 8;
constexpr uint16_t kIpv4DontFragment = 0x4000;
constexpr uint16_t kIpv4MoreFragments = 0x2000;
constexpr uint16_t kIpv4OffsetMask = 0x1fff;

void Append16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void Append32(Bytes& out, uint32_t v) {
  Append16(out, static_cast<uint16_t>(v >> 16));
  Append16(out, static_cast<uint16_t>(v));
}
void AppendAddress(Bytes& out, const base::IpAddress& a) {
  out.insert(out.end(), a.bytes.begin(), a.bytes.begin() + (a.is_v6() ? 16 : 4));
}

// RFC 1071 one's-complement sum, unfolded: callers add several ranges, then fold.
uint32_t SumWords(std::span<const uint8_t> data, uint32_t sum = 0) {
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += uint32_t(data[i]) << 8 | data[i + 1];
  if (i < data.size()) sum += uint32_t(data[i]) << 8;
  return sum;
}
uint16_t FoldChecksum(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// The checksum of a transport segment, over the pseudo-header of its family (RFC 768, RFC 793,
// RFC 8200 section 8.1).
uint16_t TransportChecksum(const IpHeader& ip, uint8_t protocol, std::span<const uint8_t> segment) {
  Bytes pseudo;
  AppendAddress(pseudo, ip.src);
  AppendAddress(pseudo, ip.dst);
  if (ip.src.is_v6()) {
    Append32(pseudo, static_cast<uint32_t>(segment.size()));
    Append32(pseudo, protocol);
  } else {
    Append16(pseudo, protocol);
    Append16(pseudo, static_cast<uint16_t>(segment.size()));
  }
  return FoldChecksum(SumWords(segment, SumWords(pseudo)));
}

bool IsV6(const IpHeader& ip) { return ip.src.is_v6(); }

uint8_t TransportProtocol(const FrameSpec& spec) {
  if (spec.ip.protocol) return *spec.ip.protocol;
  const bool v6 = IsV6(spec.ip);
  return std::visit(
      [&](const auto& t) -> uint8_t {
        using T = std::decay_t<decltype(t)>;
        if constexpr (std::is_same_v<T, TcpHeader>) return packet::kProtoTcp;
        if constexpr (std::is_same_v<T, UdpHeader>) return packet::kProtoUdp;
        if constexpr (std::is_same_v<T, IcmpHeader>) {
          return v6 ? packet::kProtoIcmpv6 : packet::kProtoIcmp;
        }
        return v6 ? kIpv6NoNextHeader : 253;
      },
      spec.transport);
}

// The transport header and payload, checksum included.
Bytes BuildSegment(const FrameSpec& spec, uint8_t protocol) {
  Bytes seg;
  const IpHeader& ip = spec.ip;
  if (const auto* tcp = std::get_if<TcpHeader>(&spec.transport)) {
    Bytes options(tcp->options.begin(),
                  tcp->options.begin() + std::min(tcp->options.size(), kTcpMaxOptions));
    options.resize((options.size() + 3) / 4 * 4, 0);
    Append16(seg, tcp->src_port);
    Append16(seg, tcp->dst_port);
    Append32(seg, tcp->seq);
    Append32(seg, tcp->ack);
    seg.push_back(static_cast<uint8_t>((kTcpHeaderSize + options.size()) / 4 << 4));
    seg.push_back(tcp->flags);
    Append16(seg, tcp->window);
    Append16(seg, 0);  // checksum, filled below
    Append16(seg, tcp->urgent);
    seg.insert(seg.end(), options.begin(), options.end());
    seg.insert(seg.end(), spec.payload.begin(), spec.payload.end());
    base::StoreBe16(seg.data() + 16, tcp->checksum.value_or(TransportChecksum(ip, protocol, seg)));
  } else if (const auto* udp = std::get_if<UdpHeader>(&spec.transport)) {
    Append16(seg, udp->src_port);
    Append16(seg, udp->dst_port);
    Append16(seg, static_cast<uint16_t>(kUdpHeaderSize + spec.payload.size()));
    Append16(seg, 0);
    seg.insert(seg.end(), spec.payload.begin(), spec.payload.end());
    uint16_t sum = TransportChecksum(ip, protocol, seg);
    if (sum == 0) sum = 0xffff;  // 0 means "no checksum" in UDP (RFC 768)
    base::StoreBe16(seg.data() + 6, udp->checksum.value_or(sum));
  } else if (const auto* icmp = std::get_if<IcmpHeader>(&spec.transport)) {
    seg.push_back(icmp->type);
    seg.push_back(icmp->code);
    Append16(seg, 0);
    Append16(seg, icmp->id);
    Append16(seg, icmp->seq);
    seg.insert(seg.end(), spec.payload.begin(), spec.payload.end());
    // ICMPv6 covers the pseudo-header; ICMP for IPv4 covers the message only (RFC 792).
    uint16_t sum = IsV6(ip) ? TransportChecksum(ip, protocol, seg) : FoldChecksum(SumWords(seg));
    base::StoreBe16(seg.data() + 2, icmp->checksum.value_or(sum));
  } else {
    seg = spec.payload;
  }
  return seg;
}

void AppendEthernet(Bytes& out, const EthernetHeader& eth, uint16_t ethertype) {
  out.insert(out.end(), eth.dst.begin(), eth.dst.end());
  out.insert(out.end(), eth.src.begin(), eth.src.end());
  for (const VlanTag& tag : eth.vlans) {
    Append16(out, tag.tpid);
    Append16(out, static_cast<uint16_t>((tag.priority & 7) << 13 | (tag.id & 0x0fff)));
  }
  Append16(out, eth.ethertype.value_or(ethertype));
}

// Pads an extension body so the whole header (2 + body) is a multiple of 8 bytes. Options
// headers take a PadN (or Pad1) option, so that decoders see well-formed options.
Bytes PaddedExtensionBody(const Ipv6Extension& ext) {
  Bytes body = ext.body;
  size_t pad = (8 - (2 + body.size()) % 8) % 8;
  const bool has_options = ext.type == kIpv6HopByHop || ext.type == kIpv6DestinationOptions;
  if (has_options && pad == 1) {
    body.push_back(0);  // Pad1
  } else if (has_options && pad >= 2) {
    body.push_back(1);  // PadN
    body.push_back(static_cast<uint8_t>(pad - 2));
    body.insert(body.end(), pad - 2, 0);
  } else {
    body.insert(body.end(), pad, 0);
  }
  return body;
}

void AppendIpv4(Bytes& out, const IpHeader& ip, uint8_t protocol, size_t segment_size) {
  Bytes options = ip.options;
  options.resize((options.size() + 3) / 4 * 4, 0);
  const size_t header_size = kIpv4HeaderSize + options.size();
  const size_t start = out.size();
  out.push_back(static_cast<uint8_t>(0x40 | (header_size / 4 & 0x0f)));
  out.push_back(ip.tos);
  Append16(out, static_cast<uint16_t>(header_size + segment_size));
  Append16(out, ip.id);
  uint16_t frag = static_cast<uint16_t>(ip.fragment_offset / 8 & kIpv4OffsetMask);
  if (ip.dont_fragment) frag |= kIpv4DontFragment;
  if (ip.more_fragments) frag |= kIpv4MoreFragments;
  Append16(out, frag);
  out.push_back(ip.ttl);
  out.push_back(protocol);
  Append16(out, 0);
  AppendAddress(out, ip.src);
  AppendAddress(out, ip.dst);
  out.insert(out.end(), options.begin(), options.end());
  uint16_t sum = FoldChecksum(SumWords(std::span(out).subspan(start, header_size)));
  base::StoreBe16(out.data() + start + 10, ip.checksum.value_or(sum));
}

void AppendIpv6(Bytes& out, const IpHeader& ip, uint8_t protocol, size_t segment_size) {
  std::vector<Bytes> bodies;
  size_t extensions_size = 0;
  for (const Ipv6Extension& ext : ip.extensions) {
    bodies.push_back(PaddedExtensionBody(ext));
    extensions_size += 2 + bodies.back().size();
  }
  Append32(out, 6u << 28 | uint32_t{ip.tos} << 20 | (ip.flow_label & 0xfffff));
  Append16(out, static_cast<uint16_t>(extensions_size + segment_size));
  out.push_back(ip.extensions.empty() ? protocol : ip.extensions[0].type);
  out.push_back(ip.ttl);
  AppendAddress(out, ip.src);
  AppendAddress(out, ip.dst);
  for (size_t i = 0; i < ip.extensions.size(); ++i) {
    out.push_back(i + 1 < ip.extensions.size() ? ip.extensions[i + 1].type : protocol);
    out.push_back(static_cast<uint8_t>((2 + bodies[i].size()) / 8 - 1));
    out.insert(out.end(), bodies[i].begin(), bodies[i].end());
  }
}

}  // namespace

Bytes ToBytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

base::IpAddress Addr(std::string_view text) {
  auto parsed = base::IpAddress::Parse(text);
  if (!parsed) {
    std::fprintf(stderr, "craft::Addr: not an IP address: '%.*s'\n", static_cast<int>(text.size()),
                 text.data());
    std::abort();
  }
  return *parsed;
}

Ipv6Extension HopByHop(Bytes options) { return {kIpv6HopByHop, std::move(options)}; }
Ipv6Extension DestinationOptions(Bytes options) {
  return {kIpv6DestinationOptions, std::move(options)};
}
Ipv6Extension Routing(uint8_t routing_type, uint8_t segments_left,
                      const std::vector<base::IpAddress>& addresses) {
  Bytes body = {routing_type, segments_left, 0, 0, 0, 0};
  for (const base::IpAddress& a : addresses) AppendAddress(body, a);
  return {kIpv6Routing, std::move(body)};
}
Ipv6Extension FragmentHeader(uint16_t offset, bool more_fragments, uint32_t identification) {
  // The byte after the next-header field is reserved here and the builder writes 0 there (the
  // length formula gives 0 for an 8-byte header).
  Bytes body;
  Append16(body, static_cast<uint16_t>((offset & 0xfff8) | (more_fragments ? 1 : 0)));
  Append32(body, identification);
  return {kIpv6Fragment, std::move(body)};
}

Bytes BuildFrame(const FrameSpec& spec) {
  const uint8_t protocol = TransportProtocol(spec);
  const Bytes segment = BuildSegment(spec, protocol);
  const bool v6 = IsV6(spec.ip);
  Bytes out;
  out.reserve(64 + segment.size());
  if (spec.ethernet) AppendEthernet(out, *spec.ethernet, v6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
  if (v6) {
    AppendIpv6(out, spec.ip, protocol, segment.size());
  } else {
    AppendIpv4(out, spec.ip, protocol, segment.size());
  }
  out.insert(out.end(), segment.begin(), segment.end());
  if (spec.ethernet && spec.ethernet->pad_to_minimum && out.size() < kEthernetMinimumFrame) {
    out.resize(kEthernetMinimumFrame, 0);
  }
  return out;
}

Bytes UdpFrame(const Endpoint& src, const Endpoint& dst, std::span<const uint8_t> payload,
               std::optional<EthernetHeader> ethernet) {
  return BuildFrame({
      .ethernet = std::move(ethernet),
      .ip = {.src = src.ip, .dst = dst.ip},
      .transport = UdpHeader{.src_port = src.port, .dst_port = dst.port},
      .payload = Bytes(payload.begin(), payload.end()),
  });
}

Bytes IcmpEchoFrame(const base::IpAddress& src, const base::IpAddress& dst, bool reply, uint16_t id,
                    uint16_t seq, std::span<const uint8_t> payload,
                    std::optional<EthernetHeader> ethernet) {
  uint8_t type = src.is_v6() ? (reply ? 129 : 128) : (reply ? 0 : 8);
  return BuildFrame({
      .ethernet = std::move(ethernet),
      .ip = {.src = src, .dst = dst},
      .transport = IcmpHeader{.type = type, .code = 0, .id = id, .seq = seq},
      .payload = Bytes(payload.begin(), payload.end()),
  });
}

namespace {

base::Error FragmentError(std::string message) {
  return base::MakeError("craft::Fragment: " + std::move(message));
}

base::Result<std::vector<Bytes>> FragmentIpv4(std::span<const uint8_t> frame, size_t l3,
                                              size_t chunk) {
  if (frame.size() < l3 + kIpv4HeaderSize) return FragmentError("IPv4 header cut short");
  const uint8_t* ip = frame.data() + l3;
  const size_t header_size = size_t(ip[0] & 0x0f) * 4;
  const size_t total = base::LoadBe16(ip + 2);
  if (header_size < kIpv4HeaderSize || total < header_size || l3 + total > frame.size()) {
    return FragmentError("IPv4 header or total length inconsistent with the frame");
  }
  const size_t payload_size = total - header_size;
  if (payload_size <= chunk) return std::vector<Bytes>{Bytes(frame.begin(), frame.end())};

  const uint16_t old_frag = base::LoadBe16(ip + 6);
  const size_t base_offset = size_t(old_frag & kIpv4OffsetMask) * 8;
  const bool old_more = (old_frag & kIpv4MoreFragments) != 0;
  std::vector<Bytes> out;
  for (size_t done = 0; done < payload_size; done += chunk) {
    const size_t len = std::min(chunk, payload_size - done);
    const bool last = done + len == payload_size;
    Bytes f(frame.begin(), frame.begin() + l3 + header_size);
    uint8_t* h = f.data() + l3;
    base::StoreBe16(h + 2, static_cast<uint16_t>(header_size + len));
    uint16_t frag = static_cast<uint16_t>((base_offset + done) / 8 & kIpv4OffsetMask);
    if (!last || old_more) frag |= kIpv4MoreFragments;
    base::StoreBe16(h + 6, frag);
    base::StoreBe16(h + 10, 0);
    base::StoreBe16(h + 10, FoldChecksum(SumWords(std::span<const uint8_t>(h, header_size))));
    const uint8_t* data = ip + header_size + done;
    f.insert(f.end(), data, data + len);
    out.push_back(std::move(f));
  }
  return out;
}

base::Result<std::vector<Bytes>> FragmentIpv6(std::span<const uint8_t> frame, size_t l3,
                                              size_t chunk, uint32_t identification) {
  if (frame.size() < l3 + kIpv6HeaderSize) return FragmentError("IPv6 header cut short");
  const size_t end = l3 + kIpv6HeaderSize + base::LoadBe16(frame.data() + l3 + 4);
  if (end > frame.size()) return FragmentError("IPv6 payload length exceeds the frame");

  // Walk the extension headers. The unfragmentable part ends after the last hop-by-hop or
  // routing header (a destination options header before routing is thereby included);
  // `next_header_at` is the byte that names the first fragmentable header.
  size_t next_header_at = l3 + 6;
  size_t unfragmentable_end = l3 + kIpv6HeaderSize;
  size_t pos = unfragmentable_end;
  uint8_t nh = frame[next_header_at];
  while (nh == kIpv6HopByHop || nh == kIpv6Routing || nh == kIpv6DestinationOptions) {
    if (pos + 2 > end) return FragmentError("IPv6 extension header cut short");
    const size_t len = (size_t(frame[pos + 1]) + 1) * 8;
    if (pos + len > end) return FragmentError("IPv6 extension header cut short");
    if (nh != kIpv6DestinationOptions) {
      unfragmentable_end = pos + len;
      next_header_at = pos;
    }
    nh = frame[pos];
    pos += len;
  }
  if (nh == kIpv6Fragment) return FragmentError("the packet is already an IPv6 fragment");
  // A destination options header after the last routing header belongs to the fragmentable part.
  const uint8_t fragmentable_type = frame[next_header_at];
  const size_t payload_size = end - unfragmentable_end;
  if (payload_size <= chunk) return std::vector<Bytes>{Bytes(frame.begin(), frame.end())};

  std::vector<Bytes> out;
  for (size_t done = 0; done < payload_size; done += chunk) {
    const size_t len = std::min(chunk, payload_size - done);
    const bool last = done + len == payload_size;
    Bytes f(frame.begin(), frame.begin() + unfragmentable_end);
    f[next_header_at] = kIpv6Fragment;
    const size_t ip_payload = unfragmentable_end - l3 - kIpv6HeaderSize + kFragmentHeaderSize + len;
    base::StoreBe16(f.data() + l3 + 4, static_cast<uint16_t>(ip_payload));
    f.push_back(fragmentable_type);
    f.push_back(0);  // reserved
    Append16(f, static_cast<uint16_t>((done & 0xfff8) | (last ? 0 : 1)));
    Append32(f, identification);
    const uint8_t* data = frame.data() + unfragmentable_end + done;
    f.insert(f.end(), data, data + len);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

base::Result<std::vector<Bytes>> Fragment(std::span<const uint8_t> frame,
                                          size_t max_fragment_payload, packet::LinkType linktype,
                                          uint32_t ipv6_identification) {
  const size_t chunk = max_fragment_payload / 8 * 8;
  if (chunk == 0) return FragmentError("max_fragment_payload must be at least 8");
  size_t l3 = 0;
  int version = 0;
  switch (linktype) {
    case packet::LinkType::kEthernet: {
      if (frame.size() < kEthernetHeaderSize) return FragmentError("Ethernet header cut short");
      size_t type_at = 12;
      uint16_t type = base::LoadBe16(frame.data() + type_at);
      while (type == kEtherTypeVlan || type == kEtherTypeQinQ || type == 0x9100) {
        type_at += 4;
        if (frame.size() < type_at + 2) return FragmentError("VLAN tag cut short");
        type = base::LoadBe16(frame.data() + type_at);
      }
      l3 = type_at + 2;
      if (type == kEtherTypeIpv4) {
        version = 4;
      } else if (type == kEtherTypeIpv6) {
        version = 6;
      } else {
        return FragmentError(fmt::format("EtherType 0x{:04x} is not IP", type));
      }
      break;
    }
    case packet::LinkType::kRaw:
    case packet::LinkType::kIpv4:
    case packet::LinkType::kIpv6:
      if (frame.empty()) return FragmentError("empty frame");
      version = frame[0] >> 4;
      break;
    default:
      return FragmentError(
          fmt::format("link type {} is not supported", static_cast<int>(linktype)));
  }
  if (version == 4) return FragmentIpv4(frame, l3, chunk);
  if (version == 6) return FragmentIpv6(frame, l3, chunk, ipv6_identification);
  return FragmentError(fmt::format("IP version {} is not 4 or 6", version));
}

}  // namespace vigil::craft

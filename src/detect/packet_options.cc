#include "detect/packet_options.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

namespace vigil::detect {

bool MatchNumber(const rules::NumberTest& t, int64_t v) {
  using Op = rules::NumberTest::Op;
  switch (t.op) {
    case Op::kEq:
      return v == t.lo;
    case Op::kNe:
      return v != t.lo;
    case Op::kLt:
      return v < t.lo;
    case Op::kLe:
      return v <= t.lo;
    case Op::kGt:
      return v > t.lo;
    case Op::kGe:
      return v >= t.lo;
    case Op::kRange:
    case Op::kDashRange:
      return t.lo < v && v < t.hi;
    case Op::kRangeInclusive:
      return t.lo <= v && v <= t.hi;
  }
  return false;
}

bool IsSupportedNumericField(rules::NumericField field) {
  using F = rules::NumericField;
  switch (field) {
    case F::kDsize:
    case F::kTtl:
    case F::kId:
    case F::kIpProto:
    case F::kItype:
    case F::kIcode:
    case F::kIcmpId:
    case F::kIcmpSeq:
    case F::kSeq:
    case F::kAck:
    case F::kWindow:
      return true;
    default:
      return false;
  }
}

namespace {

// The identifier (offset 4) or sequence number (6) of an ICMP query message: echo and echo reply
// (ICMPv4 and ICMPv6), timestamp, information and address mask requests and replies (ICMPv4), as
// Suricata reads them; nullopt for other messages and truncated headers.
std::optional<uint16_t> IcmpQueryField(const packet::Packet& p, size_t offset) {
  if (!p.has_icmp || p.l4_offset == 0 || size_t(p.l4_offset) + 8 > p.caplen) return std::nullopt;
  const uint8_t t = p.icmp_type;
  const bool query =
      p.ip_version == 6 ? (t == 128 || t == 129) : (t == 0 || t == 8 || (t >= 13 && t <= 18));
  if (!query) return std::nullopt;
  const uint8_t* h = p.data + p.l4_offset + offset;
  return uint16_t(h[0] << 8 | h[1]);
}

}  // namespace

bool MatchNumeric(const rules::NumericOption& o, const packet::Packet& p) {
  using F = rules::NumericField;
  switch (o.field) {
    case F::kDsize:
      return MatchNumber(o.test, p.payload_len);
    case F::kTtl:
      return p.ip_version != 0 && MatchNumber(o.test, p.ttl);
    case F::kId:
      return p.ip_version == 4 && MatchNumber(o.test, p.ip_id);
    case F::kIpProto:
      return p.ip_version != 0 && MatchNumber(o.test, p.ip_proto);
    case F::kItype:
      return p.has_icmp && MatchNumber(o.test, p.icmp_type);
    case F::kIcode:
      return p.has_icmp && MatchNumber(o.test, p.icmp_code);
    case F::kSeq:
      return p.has_tcp && MatchNumber(o.test, p.tcp_seq);
    case F::kAck:
      return p.has_tcp && MatchNumber(o.test, p.tcp_ack);
    case F::kWindow:
      return p.has_tcp && MatchNumber(o.test, p.tcp_window);
    case F::kIcmpId:
    case F::kIcmpSeq: {
      auto v = IcmpQueryField(p, o.field == F::kIcmpId ? 4 : 6);
      return v && MatchNumber(o.test, *v);
    }
    default:
      return false;
  }
}

uint8_t WireTcpFlags(uint8_t rule_bits) {
  uint8_t wire = rule_bits & 0x3f;  // F S R P A U share their bit positions
  if (rule_bits & rules::kTcpCwr) wire |= packet::kTcpCwr;
  if (rule_bits & rules::kTcpEce) wire |= packet::kTcpEce;
  return wire;
}

bool MatchFlags(const rules::FlagsOption& o, const packet::Packet& p) {
  if (!p.has_tcp) return false;
  uint8_t want = WireTcpFlags(o.flags);
  uint8_t have = p.tcp_flags & uint8_t(~WireTcpFlags(o.ignore));
  switch (o.modifier) {
    case rules::BitsModifier::kNone:
      return have == want;
    case rules::BitsModifier::kPlus:
      return (have & want) == want;
    case rules::BitsModifier::kAny:
      return (have & want) != 0;
    case rules::BitsModifier::kNot:
      return (have & want) == 0;
  }
  return false;
}

bool MatchFlow(const rules::FlowOption& o, const MatchInput& in) {
  using F = rules::FlowOption;
  bool tracked = in.flow != nullptr && in.flow->has_flow;
  switch (o.state) {
    case F::State::kAny:
    case F::State::kStateless:
      break;
    case F::State::kEstablished:
      if (!tracked || !in.flow->established) return false;
      break;
    case F::State::kNotEstablished:
      if (!tracked || in.flow->established) return false;
      break;
  }
  switch (o.direction) {
    case F::Direction::kAny:
      break;
    case F::Direction::kToServer:
      if (!tracked || !in.flow->to_server) return false;
      break;
    case F::Direction::kToClient:
      if (!tracked || in.flow->to_server) return false;
      break;
  }
  switch (o.stream) {
    case F::Stream::kAny:
      break;
    case F::Stream::kOnlyStream:
      if (!in.rebuilt) return false;
      break;
    case F::Stream::kNoStream:
      if (in.rebuilt) return false;
      break;
  }
  switch (o.frag) {
    case F::Frag::kAny:
      break;
    case F::Frag::kOnlyFrag:
      if (!in.packet->is_fragment) return false;
      break;
    case F::Frag::kNoFrag:
      if (in.packet->is_fragment) return false;
      break;
  }
  return true;
}

bool MatchSameip(const packet::Packet& p) { return p.ip_version != 0 && p.src_ip == p.dst_ip; }

bool MatchFragbits(const rules::FragbitsOption& o, const packet::Packet& p) {
  // The flag bits of the IPv4 header (reserved 0x80, DF 0x40, MF 0x20 of byte 6) as the rule's
  // letters; an IPv6 packet has only "more fragments" (its fragment header).
  uint8_t have = 0;
  if (p.ip_version == 4) {
    if (size_t(p.l3_offset) + 7 > p.caplen) return false;
    const uint8_t flags = p.data[p.l3_offset + 6];
    if (flags & 0x80) have |= rules::kFragReserved;
    if (flags & 0x40) have |= rules::kFragDont;
    if (flags & 0x20) have |= rules::kFragMore;
  } else if (p.ip_version == 6) {
    if (p.more_fragments) have |= rules::kFragMore;
  } else {
    return false;
  }
  switch (o.modifier) {
    case rules::BitsModifier::kNone:
      return have == o.bits;
    case rules::BitsModifier::kPlus:
      return (have & o.bits) == o.bits;
    case rules::BitsModifier::kAny:
      return (have & o.bits) != 0;
    case rules::BitsModifier::kNot:
      return (have & o.bits) == 0;
  }
  return false;
}

namespace {

// The first line of a SIP message in `payload`, without its CRLF; empty when there is none.
std::string_view SipFirstLine(std::string_view payload) {
  const size_t end = payload.find("\r\n");
  if (end == std::string_view::npos || end == 0) return {};
  return payload.substr(0, end);
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

bool MatchTlsVersion(uint16_t version, const MatchInput& in) {
  if (in.flow == nullptr || in.flow->tls_handshake == nullptr) return false;
  const app::TlsHandshake& hs = *in.flow->tls_handshake;
  if (in.flow->to_server) return hs.client_hello && hs.client_tls_version == version;
  return hs.server_hello && hs.server_tls_version == version;
}

bool MatchStreamSize(const rules::StreamSizeOption& o, const MatchInput& in) {
  if (in.flow == nullptr || !in.flow->tcp_session || !in.packet->has_tcp) return false;
  const rules::NumberTest test{.op = o.op, .lo = o.value};
  const bool client = MatchNumber(test, in.flow->stream_size[0]);
  const bool server = MatchNumber(test, in.flow->stream_size[1]);
  switch (o.side) {
    case rules::StreamSizeOption::Side::kClient:
      return client;
    case rules::StreamSizeOption::Side::kServer:
      return server;
    case rules::StreamSizeOption::Side::kBoth:
      return client && server;
    case rules::StreamSizeOption::Side::kEither:
      return client || server;
  }
  return false;
}

bool MatchSip(const rules::SipOption& o, const packet::Packet& p) {
  constexpr std::string_view kVersion = "SIP/2.0";
  const std::string_view line =
      SipFirstLine(std::string_view(reinterpret_cast<const char*>(p.payload), p.payload_len));
  if (line.empty()) return false;
  if (o.stat_code) {
    // "SIP/2.0 404 Not Found"
    if (!line.starts_with(kVersion) || line.size() < kVersion.size() + 4 ||
        line[kVersion.size()] != ' ') {
      return false;
    }
    const std::string_view code = line.substr(kVersion.size() + 1, 3);
    if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    return std::any_of(o.values.begin(), o.values.end(), [&](const std::string& v) {
      return v.size() == 1 ? v[0] == code[0] : v == code;
    });
  }
  // "INVITE sip:bob@example.com SIP/2.0"
  const size_t space = line.find(' ');
  if (space == std::string_view::npos || space == 0 || !line.ends_with(" SIP/2.0")) return false;
  const std::string_view method = line.substr(0, space);
  const bool listed = std::any_of(o.values.begin(), o.values.end(),
                                  [&](const std::string& v) { return EqualsNoCase(v, method); });
  return listed != o.negated;
}

}  // namespace vigil::detect

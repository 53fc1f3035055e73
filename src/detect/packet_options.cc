#include "detect/packet_options.h"

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
      return true;
    default:
      return false;
  }
}

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

}  // namespace vigil::detect

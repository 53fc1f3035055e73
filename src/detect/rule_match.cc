#include "detect/rule_match.h"

#include <type_traits>
#include <variant>

#include "detect/content_match.h"

namespace vigil::detect {
namespace {

using rules::Protocol;

bool MatchDirection(const rules::Rule& r, const packet::Packet& p, bool reversed) {
  const base::IpAddress& src = reversed ? p.dst_ip : p.src_ip;
  const base::IpAddress& dst = reversed ? p.src_ip : p.dst_ip;
  if (!r.src_addr.Matches(src) || !r.dst_addr.Matches(dst)) return false;
  if (p.has_tcp || p.has_udp) {
    uint16_t sport = reversed ? p.dst_port : p.src_port;
    uint16_t dport = reversed ? p.src_port : p.dst_port;
    if (!r.src_port.Matches(sport) || !r.dst_port.Matches(dport)) return false;
  }
  return true;
}

}  // namespace

GroupKind GroupOf(const packet::Packet& p) {
  if (p.has_tcp) return GroupKind::kTcp;
  if (p.has_udp) return GroupKind::kUdp;
  if (p.has_icmp) return GroupKind::kIcmp;
  return GroupKind::kOtherIp;
}

bool RuleInGroup(const rules::Rule& r, GroupKind g) {
  switch (g) {
    case GroupKind::kTcp:
      return r.AppliesToTransport(Protocol::kTcp);
    case GroupKind::kUdp:
      return r.AppliesToTransport(Protocol::kUdp);
    case GroupKind::kIcmp:
      return r.AppliesToTransport(Protocol::kIcmp);
    case GroupKind::kOtherIp:
    case GroupKind::kCount:
      break;
  }
  return r.protocol == Protocol::kIp;
}

bool MatchHeader(const rules::Rule& r, const packet::Packet& p) {
  if (p.ip_version == 0 || !RuleInGroup(r, GroupOf(p))) return false;
  if (MatchDirection(r, p, false)) return true;
  return r.bidirectional && MatchDirection(r, p, true);
}

bool ReadsPayload(const rules::Option& option) {
  return std::visit(
      [](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, rules::ContentOption> ||
                      std::is_same_v<T, rules::PcreOption> ||
                      std::is_same_v<T, rules::ByteTestOption> ||
                      std::is_same_v<T, rules::ByteJumpOption> ||
                      std::is_same_v<T, rules::ByteExtractOption> ||
                      std::is_same_v<T, rules::ByteMathOption> ||
                      std::is_same_v<T, rules::IsDataAtOption>) {
          return o.buffer.empty();
        }
        return false;
      },
      option);
}

bool MatchRule(const CompiledRule& cr, const MatchInput& in) {
  if (!MatchHeader(cr.rule, *in.packet)) return false;
  return MatchContents(cr.contents, in.data, in.len);
}

}  // namespace vigil::detect

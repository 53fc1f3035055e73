#include "detect/rule_match.h"

#include <type_traits>
#include <variant>

#include "detect/option_program.h"

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

ProgramSlot::~ProgramSlot() { delete program_.load(std::memory_order_relaxed); }

ProgramSlot& ProgramSlot::operator=(ProgramSlot&& other) noexcept {
  if (this != &other) delete program_.exchange(other.program_.exchange(nullptr));
  return *this;
}

ProgramSlot& ProgramSlot::operator=(const ProgramSlot& other) {
  if (this != &other) delete program_.exchange(nullptr);
  return *this;
}

void ProgramSlot::Set(std::unique_ptr<RuleProgram> program) {
  delete program_.exchange(program.release(), std::memory_order_acq_rel);
}

const RuleProgram* ProgramSlot::SetOnce(std::unique_ptr<RuleProgram> program) const {
  const RuleProgram* expected = nullptr;
  if (program_.compare_exchange_strong(expected, program.get(), std::memory_order_acq_rel)) {
    return program.release();
  }
  return expected;  // another thread was first; ours is freed
}

base::Status CompileRule(CompiledRule& rule) {
  auto program = CompileProgram(rule.rule);
  if (!program) return program.error();
  rule.program.Set(std::move(*program));
  return {};
}

bool MatchRule(const CompiledRule& cr, const MatchInput& in) {
  if (!MatchHeader(cr.rule, *in.packet)) return false;
  // `alert http ...`: only flows identified as HTTP.
  if (!cr.rule.service.empty() && (in.flow == nullptr || !in.flow->http)) return false;
  if (!cr.flowbits.tests.empty() &&
      !TestAll(cr.flowbits, in.flow != nullptr ? in.flow->bits : nullptr)) {
    return false;
  }
  const RuleProgram* program = cr.program.get();
  if (program == nullptr) {
    auto compiled = CompileProgram(cr.rule);
    if (!compiled) {
      auto never = std::make_unique<RuleProgram>();
      never->never_matches = true;
      compiled = std::move(never);
    }
    program = cr.program.SetOnce(std::move(*compiled));
  }
  return RunProgram(*program, in);
}

}  // namespace vigil::detect

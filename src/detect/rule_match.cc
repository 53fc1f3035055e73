#include "detect/rule_match.h"

#include <algorithm>
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

namespace {

// Windows at most this long are checked before the option walk (a short, bounded search).
constexpr int64_t kMaxConditionWindow = 64;

unsigned char Fold(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// True when `pattern` occurs starting in data[start, end - size] (all clipped to the buffer).
bool OccursIn(const PayloadStep& s, const uint8_t* data, int64_t len, int64_t start, int64_t end) {
  const int64_t n = int64_t(s.pattern.size());
  start = std::max<int64_t>(start, 0);
  end = std::min(end, len);
  for (int64_t i = start; i + n <= end; ++i) {
    int64_t k = 0;
    if (s.nocase) {
      while (k < n && Fold(data[i + k]) == Fold(uint8_t(s.pattern[size_t(k)]))) ++k;
    } else {
      while (k < n && data[i + k] == uint8_t(s.pattern[size_t(k)])) ++k;
    }
    if (k == n) return true;
  }
  return false;
}

const RuleProgram& ProgramOf(const CompiledRule& cr) {
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
  return *program;
}

// Header, `alert http` / `dns` / `tls` / `smtp`'s flow check (only flows identified as that
// protocol) and flowbits tests.
bool MatchHeaderAndFlow(const CompiledRule& cr, const MatchInput& in) {
  if (!MatchHeader(cr.rule, *in.packet)) return false;
  if (!cr.rule.service.empty()) {
    if (in.flow == nullptr) return false;
    const bool identified = cr.rule.service == "dns"    ? in.flow->dns
                            : cr.rule.service == "tls"  ? in.flow->tls
                            : cr.rule.service == "smtp" ? in.flow->smtp
                                                        : in.flow->http;
    if (!identified) return false;
  }
  return cr.flowbits.tests.empty() ||
         TestAll(cr.flowbits, in.flow != nullptr ? in.flow->bits : nullptr);
}

}  // namespace

bool MatchPacketConditions(const CompiledRule& cr, const MatchInput& in) {
  // The packet tests first: all of these are pure predicates, and flags / dsize / ip_proto tests
  // reject most packets for a fraction of what the header's address lists cost.
  const RuleProgram& program = ProgramOf(cr);
  if (program.never_matches) return false;
  for (const PacketTest& t : program.packet_tests) {
    if (!PassesPacketTest(t, in)) return false;
  }
  if (!MatchHeaderAndFlow(cr, in)) return false;
  // An absolute isdataat on the payload depends only on how long the stream direction is up to
  // the buffer's end (bytes before `origin` count as present), never on the cursor: checked here.
  if (!program.segments.empty() && program.segments[0].buffer == kPayloadBuffer) {
    // A stream chunk whose new bytes begin past where the rule's payload match can end: only
    // history would match, and that was reported when it was new (option_program.h, min_end).
    if (!CanEndInNewBytes(program, in)) return false;
    if ((in.data ? int64_t(in.len) : 0) < program.payload_min_len) return false;
    const int64_t stream_len = int64_t(in.origin) + in.len;
    for (uint32_t i = program.segments[0].begin; i < program.segments[0].end; ++i) {
      const PayloadStep& s = program.steps[i];
      if (s.relative || s.offset.var >= 0) continue;
      if (s.kind == PayloadStep::Kind::kIsDataAt) {
        bool present = s.offset.value >= 0 && s.offset.value < stream_len;
        if (present == s.negated) return false;
        continue;
      }
      // An absolute byte_test reads the same bytes wherever the walk goes: DNS header bits
      // (byte_test:1,&,8,2) decide rules that have no content at all.
      if (s.kind == PayloadStep::Kind::kByteTest && s.value.var < 0 &&
          !AbsoluteByteTestHolds(s, in)) {
        return false;
      }
      // A positive content at a fixed, short window (offset / depth, not relative) must be there
      // whatever else the walk does; a single-byte fast pattern such as |05| with depth 1 makes
      // many rules candidates that this rejects at once.
      if (s.kind == PayloadStep::Kind::kContent && !s.negated && !s.startswith && !s.endswith &&
          s.depth.set && s.depth.var < 0 && s.depth.value <= kMaxConditionWindow) {
        int64_t start = (s.offset.set ? s.offset.value : 0) - int64_t(in.origin);
        if (!OccursIn(s, in.data, in.len, start, start + s.depth.value)) return false;
      }
    }
    // A byte_jump that must land at the buffer's end (a length field: Gh0st's family) needs the
    // length's encoding somewhere in the buffer.
    if (!program.end_landings.empty() && !EndLandingsHold(program, in)) return false;
  }
  return true;
}

bool PrefixBeforePcreHolds(const CompiledRule& cr, const MatchInput& in) {
  return PrefixBeforePcreHolds(ProgramOf(cr), in);
}

bool LiteralsPresent(const CompiledRule& cr, const MatchInput& in) {
  return LiteralsPresent(ProgramOf(cr), in);
}

bool RegexPrefilterHolds(const CompiledRule& cr, const MatchInput& in, hs_scratch* scratch) {
  return RegexPrefilterHolds(ProgramOf(cr), in, scratch);
}

const RegexPrefilter* RegexPrefilterOf(const CompiledRule& cr) {
  return ProgramOf(cr).prefilter.get();
}

uint8_t PacketKey(GroupKind g, const packet::Packet& p) {
  if (g == GroupKind::kTcp) return p.tcp_flags;
  if (g == GroupKind::kIcmp) return p.icmp_type;
  return 0;
}

KeySet KeysAdmitted(const CompiledRule& cr, GroupKind g) {
  KeySet keys;
  keys.fill(~uint64_t{0});
  const RuleProgram* program = cr.program.get();
  if (program == nullptr || (g != GroupKind::kTcp && g != GroupKind::kIcmp)) return keys;
  // The tests that read nothing but the key byte (and the header flag GroupOf already implies),
  // run on a packet that has just that byte.
  std::vector<const PacketTest*> tests;
  for (const PacketTest& t : program->packet_tests) {
    if (g == GroupKind::kTcp && t.kind == PacketTest::Kind::kFlags) tests.push_back(&t);
    if (g == GroupKind::kIcmp && t.kind == PacketTest::Kind::kNumeric &&
        t.numeric.field == rules::NumericField::kItype) {
      tests.push_back(&t);
    }
  }
  packet::Packet p;
  p.has_tcp = g == GroupKind::kTcp;
  p.has_icmp = g == GroupKind::kIcmp;
  const MatchInput in{.packet = &p};
  for (uint32_t k = 0; k < 256; ++k) {
    p.tcp_flags = p.icmp_type = uint8_t(k);
    bool pass = true;
    for (const PacketTest* t : tests) pass = pass && PassesPacketTest(*t, in);
    if (!pass) keys[k >> 6] &= ~(uint64_t{1} << (k & 63));
  }
  return keys;
}

bool NeedsFullMatcher(const CompiledRule& cr) {
  for (const BufferSegment& seg : ProgramOf(cr).segments) {
    if (seg.end > seg.begin) return true;
  }
  return false;
}

bool MatchRule(const CompiledRule& cr, const MatchInput& in) {
  return MatchHeaderAndFlow(cr, in) && RunProgram(ProgramOf(cr), in);
}

}  // namespace vigil::detect

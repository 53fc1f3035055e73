// The full matcher: decides whether one compiled rule matches one packet, or one stretch of a
// reassembled TCP stream, by evaluating its header and every option in rule order. It is the last
// stage of the Detector (detector.h) and, called on every rule for every packet, the brute-force
// reference the Detector is tested against, so both agree by construction on what a rule means.
//
//   detect::CompiledRule cr{.rule = rule};
//   if (auto st = detect::CompileRule(cr); !st) ...      // build side: pcre compiled once, here
//   detect::FlowContext flow{.has_flow = true, .established = f.established(), .to_server = up};
//   detect::MatchInput in = detect::MatchInput::OfPacket(p, &flow);
//   if (detect::MatchRule(cr, in)) ...
//
// Options evaluated (option_program.h has the walk, packet_options.h and byte_ops.h the details):
// content (every modifier, startswith / endswith, modifiers given as byte_extract / byte_math
// variables), pcre, byte_test, byte_jump, byte_extract, byte_math and isdataat on the payload, in
// rule order with Snort's cursor and backtracking; dsize, ttl, id, ip_proto, itype, icode, flags,
// flow and sameip on the packet; the same payload options on the buffers of an HTTP transaction
// (MatchInput::tx: http.uri, http.header, ...; each buffer with its own cursor, see
// option_program.h); `http` in the header (FlowContext::http). detect::UnsupportedReason
// (support.h) keeps every other rule out.
//
// Buffers and positions. Payload options (content, pcre, byte_*, isdataat) read `data[0, len)`:
// the packet's payload, or a stream chunk — retained history then new bytes (reassembly's
// StreamView). Absolute positions (offset, depth, absolute byte_test offsets, isdataat without
// relative) count from the start of the stream direction, so buffer byte i sits at absolute
// position `origin + i`; for a packet `origin` is 0. In a chunk a rule matches only when its
// payload match ends after `min_end` — some byte at or after data[min_end] (the first new byte)
// belongs to a positive content / pcre match or a byte_* read: a match lying wholly in the history
// was reported when those bytes were new.
//
// Cost: no heap allocation per call; pcre matches use a per-thread match block.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "app/dns.h"
#include "app/http.h"
#include "app/tls.h"
#include "base/result.h"
#include "detect/flowbits.h"
#include "packet/packet.h"
#include "rules/rule.h"

struct hs_scratch;  // Vectorscan's scratch space (hs/hs_runtime.h)

namespace vigil::detect {

struct RuleProgram;    // detect/option_program.h: a rule's options, compiled
class RegexPrefilter;  // detect/regex_prefilter.h

// What the engine's flow tracking knows about the packet (flow/flow.h, flow/tcp_tracker.h).
struct FlowContext {
  bool has_flow = false;     // the packet belongs to a tracked flow; else flow:... never matches
  uint64_t flow_id = 0;      // the flow's identity (thresholds tracked by_flow); 0: none
  bool established = false;  // flow:established
  bool to_server = true;     // the packet travels from the client to the server
  // The first packet of its direction in the flow: IP-only rules (addresses, ports any, no
  // options) are evaluated once per flow direction, as Suricata does.
  bool first_in_direction = true;
  // The packet's TCP payload is handed to stream reassembly: payload rules see the reassembled
  // chunk instead of the packet's own bytes (flow:no_stream rules still see the packet).
  bool reassembled = false;
  // Reassembly took this packet's payload into the stream (not a SYN's data): a pass or drop of a
  // payload rule matched on it applies to the whole flow (Suricata's "flow, if stateful").
  bool payload_in_stream = false;
  FlowBits* bits = nullptr;  // null: flowbits tests are false and flowbits commands do nothing
  // The flow's application protocol is HTTP (app/http.h found a request line): rules with `http`
  // in the header match only such flows.
  bool http = false;
  // The HTTP transaction stages this packet's stream data completed (app::HttpFlow::Feed): the
  // Detector evaluates the rules of each stage on its transaction.
  std::span<const app::HttpEvent> http_events;
  // The flow is DNS (a message on port 53 parsed, app/dns.h): rules with `dns` in the header match
  // only such flows; and the DNS messages this packet carried (UDP) or completed (TCP), on whose
  // requests the Detector evaluates the dns.query rules.
  bool dns = false;
  std::span<const app::DnsMessage> dns_messages;
  // The flow is SMTP (app/smtp.h: the client opened with EHLO, HELO or QUIT): rules with `smtp`
  // in the header match only such flows.
  bool smtp = false;
  // The flow is TLS (app/tls.h found a ClientHello): rules with `tls` in the header match only
  // such flows; its handshake so far, and the handshake stages this packet's stream data
  // completed, at which the Detector evaluates the tls.* rules.
  bool tls = false;
  // The TCP session's stream sizes (Suricata's stream_size): the sequence space each side has
  // sent so far, next_seq - isn (SYN and FIN count one), client's then server's; tcp_session
  // false when the flow's TCP tracking has no session (no SYN seen, no midstream pickup).
  bool tcp_session = false;
  uint32_t stream_size[2] = {0, 0};
  // Snort's SSL inspector's view of this packet (ssl_state, ssl_version): the app::SslFlag
  // handshake messages its stream bytes began and the versions the flow declared so far.
  uint32_t ssl_flags = 0;
  const app::TlsHandshake* tls_handshake = nullptr;
  std::span<const app::TlsStage> tls_events;
};

// Transport classes that rules are grouped by.
enum class GroupKind : uint8_t { kTcp, kUdp, kIcmp, kOtherIp, kCount };
[[nodiscard]] GroupKind GroupOf(const packet::Packet& p);
// True when the rule's protocol admits packets of class `g`.
[[nodiscard]] bool RuleInGroup(const rules::Rule& r, GroupKind g);

// Where a CompiledRule keeps its compiled options: set by CompileRule, or on the first MatchRule of
// a rule nobody compiled (thread-safe). Moving keeps the program; a copy compiles its own.
class ProgramSlot {
 public:
  ProgramSlot() = default;
  ~ProgramSlot();
  ProgramSlot(ProgramSlot&& other) noexcept : program_(other.program_.exchange(nullptr)) {}
  ProgramSlot& operator=(ProgramSlot&& other) noexcept;
  ProgramSlot(const ProgramSlot&) {}
  ProgramSlot& operator=(const ProgramSlot& other);

  // The program, or nullptr before it is compiled.
  [[nodiscard]] const RuleProgram* get() const { return program_.load(std::memory_order_acquire); }
  // Stores `program`, replacing any earlier one. Not thread-safe with concurrent readers: for the
  // build side.
  void Set(std::unique_ptr<RuleProgram> program);
  // Stores `program` unless another thread stored one first; returns the one kept.
  const RuleProgram* SetOnce(std::unique_ptr<RuleProgram> program) const;

 private:
  mutable std::atomic<const RuleProgram*> program_{nullptr};
};

// One compiled rule as the matcher and the Detector need it.
struct CompiledRule {
  rules::Rule rule;
  std::vector<const rules::ContentOption*> contents;  // into `rule`, rule order
  // The content that drives the fast-pattern scan, into `rule`: a payload content, or a
  // transaction buffer's for a rule with tx_stage >= 0. DetectionPlan::Build chooses it once for
  // every group and scan set the rule is in; null when the rule has none.
  const rules::ContentOption* fast_pattern = nullptr;
  std::string class_description;  // "" when the rule has no classtype
  int priority = 3;
  uint8_t group_mask = 0;      // bit g set when the rule belongs to GroupKind g
  bool reads_payload = false;  // some option reads the payload buffer (content, pcre, byte_*, ...)
  rules::FlowOption::Stream stream =
      rules::FlowOption::Stream::kAny;  // flow:only_stream / no_stream
  // No options and any ports (Suricata's IP-only rule): evaluated once per flow direction unless
  // an address is negated; its pass and drop apply to the flow.
  bool ip_only = false;
  bool negated_address = false;
  ProgramSlot program;  // the options, compiled (CompileRule)
  // -1: a packet rule. Else the rule reads HTTP transaction buffers and is evaluated once per
  // transaction at this app::HttpStage (TxStageOf, option_program.h), never on packets alone.
  int8_t tx_stage = -1;
  // flowbits tests (checked by MatchRule) and commands (run by the Detector after a match).
  RuleFlowbits flowbits;
  // The rule has an option on a buffer (content, pcre, byte_*, isdataat): matching it takes the
  // option walk, beyond MatchPacketConditions.
  bool needs_full_matcher = true;
};

// Compiles the options of `rule.rule` into `rule.program` (pcre compiled and JIT-compiled here,
// once). Fails, naming the obstacle, for a rule UnsupportedReason rejects: "unsupported keyword
// flowbits", "pcre does not compile: ...". A rule never compiled is compiled on its first
// MatchRule (a rule failing then never matches), so compiling is needed only to see the errors
// and to keep the work off the packet path.
[[nodiscard]] base::Status CompileRule(CompiledRule& rule);

// True when `option` reads the packet payload (or the stream chunk standing for it).
[[nodiscard]] bool ReadsPayload(const rules::Option& option);

struct MatchInput {
  const packet::Packet* packet = nullptr;  // never null
  const uint8_t* data = nullptr;           // the buffer payload options read
  uint32_t len = 0;
  uint64_t origin = 0;   // absolute position of data[0]
  uint32_t min_end = 0;  // a payload match must end at or after data[min_end]
  bool rebuilt = false;  // data is a reassembled stream chunk (flow:only_stream / no_stream)
  const FlowContext* flow = nullptr;  // null: no flow
  // The HTTP transaction whose buffers (http.uri, ...) the rule's transaction options read; null:
  // a rule with such options does not match.
  const app::HttpTransaction* tx = nullptr;
  // The DNS message whose buffers (dns.query) the rule's DNS options read; null: a rule with such
  // options does not match.
  const app::DnsMessage* dns = nullptr;
  // The TLS handshake whose buffers (tls.sni, tls.certs) the rule's TLS options read.
  const app::TlsHandshake* tls = nullptr;

  // The packet's own payload.
  [[nodiscard]] static MatchInput OfPacket(const packet::Packet& p,
                                           const FlowContext* flow = nullptr) {
    return {.packet = &p, .data = p.payload, .len = p.payload_len, .flow = flow};
  }
};

// True when the rule's header admits the packet: protocol, addresses, ports, direction.
[[nodiscard]] bool MatchHeader(const rules::Rule& rule, const packet::Packet& p);

// The conditions of the rule that need no walk over a buffer: header, `alert http`'s flow check,
// flowbits tests and the packet tests (dsize, flags, flow, ttl, itype, ...); on the payload, its
// absolute isdataat, byte_test and short content windows, whether the buffer is as long as the
// payload steps need (RuleProgram::payload_min_len), for a stream chunk whether the rule's
// payload match can end in the new bytes at all (RuleProgram::payload_reach), and whether a
// byte_jump that a negated relative isdataat pins to the buffer's end can land there
// (EndLandingsHold: a length field's value occurs in the buffer). The Detector runs it on every
// candidate before the full matcher, as Suricata's non-content prefilters do: false means
// MatchRule is false. Cost: tens of nanoseconds, a few bytes read; for a rule with such a
// byte_jump, a memmem of the buffer.
[[nodiscard]] bool MatchPacketConditions(const CompiledRule& rule, const MatchInput& in);

// The literal filter of a transaction rule: every positive content of the rule occurs in its
// buffer of `in` (LiteralsPresent, option_program.h). False means MatchRule is false.
[[nodiscard]] bool LiteralsPresent(const CompiledRule& rule, const MatchInput& in);

// The rule's payload steps before its first pcre hold somewhere on `in` (PrefixBeforePcreHolds,
// option_program.h): the Detector asks before the full matcher, so that a candidate whose
// contents and byte_* tests already fail never reaches a regular expression. False means
// MatchRule is false.
[[nodiscard]] bool PrefixBeforePcreHolds(const CompiledRule& rule, const MatchInput& in);

// The rule's regex prefilter (regex_prefilter.h: its content, then the pcre anchored after it)
// matches somewhere in `in`'s payload (RegexPrefilterHolds, option_program.h); true when the rule
// has none. `scratch` is prepared for RegexPrefilterOf(rule). False means MatchRule is false.
[[nodiscard]] bool RegexPrefilterHolds(const CompiledRule& rule, const MatchInput& in,
                                       hs_scratch* scratch);
// The rule's regex prefilter, or null (none, or not attached: AttachRegexPrefilter).
[[nodiscard]] const RegexPrefilter* RegexPrefilterOf(const CompiledRule& rule);

// The byte a packet of group `g` is keyed by before any rule is tried: a TCP packet's flag byte,
// an ICMP (or ICMPv6) packet's type; 0 for the other groups.
[[nodiscard]] uint8_t PacketKey(GroupKind g, const packet::Packet& p);
// Bit k set (of 256): a packet of group `g` with PacketKey k passes the rule's tests that read
// only that byte — its flags tests in the TCP group, its itype tests in the ICMP group. A clear
// bit means MatchPacketConditions is false for every such packet; every bit is set for a rule
// with no such test, in the other groups, and for a rule not compiled yet.
using KeySet = std::array<uint64_t, 4>;
[[nodiscard]] KeySet KeysAdmitted(const CompiledRule& rule, GroupKind g);
[[nodiscard]] inline bool Admits(const KeySet& keys, uint8_t key) {
  return (keys[key >> 6] >> (key & 63)) & 1;
}

// False when MatchPacketConditions decides the rule alone: it has no option on a buffer.
[[nodiscard]] bool NeedsFullMatcher(const CompiledRule& rule);

// True when the rule fully matches: header and every option.
[[nodiscard]] bool MatchRule(const CompiledRule& rule, const MatchInput& in);
[[nodiscard]] inline bool MatchRule(const CompiledRule& rule, const packet::Packet& p) {
  return MatchRule(rule, MatchInput::OfPacket(p));
}

}  // namespace vigil::detect

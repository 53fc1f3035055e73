// RuleProgram: a rule's detection options compiled for the full matcher (rule_match.h), and the
// option walk that runs them on one packet or stream chunk.
//
//   auto program = detect::CompileProgram(rule);        // build side: fails naming the obstacle
//   if (detect::RunProgram(**program, input)) ...        // run side: header already matched
//
// What a program holds:
//   - packet tests (packet_options.h: dsize, ttl, id, ip_proto, itype, icode, icmp_id, icmp_seq,
//     fragbits, flags, flow, sameip), checked once per evaluation: they do not depend on the
//     payload cursor;
//   - payload steps in rule order — content, pcre, byte_test, byte_jump, byte_extract, byte_math,
//     isdataat — on the payload buffer, sharing Snort's cursor: where the last content or pcre
//     match ended, where byte_jump jumped, where byte_extract / byte_math stopped reading.
//     byte_test, isdataat and negated contents / pcres leave the cursor alone.
//
// The walk. A positive content or pcre may match at several places; the walk takes the first,
// goes on, and when a later option fails retries at the next occurrence (the next match starting
// one byte after the previous start), as Snort and Suricata do. It retries only when a later option
// reads the cursor this one sets (a later absolute option does not care where this one matched),
// or when a stream chunk's match ended too early (below). A negated content is absent from its
// window; a negated pcre has no match in its subject. Searches (content, pcre) are bounded by
// kMaxContentSteps per evaluation, after which the rule does not match.
//
// Positions. Buffer byte i is at absolute position origin + i (MatchInput). Absolute content
// windows (offset, depth, startswith), absolute byte_* offsets and byte_jump from_beginning count
// from absolute position 0; what lies before `origin` is not in the buffer, so a window there is
// clipped to it. isdataat:N asks whether absolute position N holds a byte of the stream, so bytes
// before `origin` count as present; isdataat:N,relative asks whether N more bytes follow the
// cursor (cursor + N <= end: Suricata's reading, and the Snort manual's "at least N bytes after
// the match"; Snort's code asks for a byte at cursor + N, one more). A byte_jump that lands
// before the buffer lands on its start (Suricata; Snort fails it). endswith and byte_jump from_end
// refer to the end of the buffer.
//
// min_end. On a stream chunk (min_end > 0) the rule matches only through an assignment — a choice
// of occurrence for every content / pcre under which every option holds — whose payload match
// ends past the history, i.e. whose furthest end over positive content / pcre matches and bytes
// read by byte_* options exceeds min_end (the match includes data[min_end] or a later byte). The
// walk keeps searching when a complete assignment ends too early. min_end 0 is a packet: no
// condition.
//
// Buffers. Each payload step names the buffer it reads: the packet payload / stream chunk
// (pkt_data), or a buffer of the HTTP transaction in MatchInput::tx (app/http.h: http.uri,
// http.uri.raw, http.method, http.protocol, http.request_line, http.header, http.header.raw,
// http.cookie, http.host, http.host.raw, http.user_agent, http.referer, http.accept*,
// http.connection, http.content_type, http.content_len, http.header_names, http.start,
// http.request_body, http.stat_code, http.stat_msg, http.response_line, http.server,
// http.location, http.response_body; file.data is the body of the rule's side). http.header,
// http.header.raw, http.cookie and the other buffers both sides have are the request's unless the
// rule is about the response (flow:to_client, or a response-only buffer; file.data counts as the
// response's unless flow:to_server or a request-only buffer says otherwise, Snort's reading).
// bsize / bufferlen (and urilen, on http.uri or with `raw` http.uri.raw) test the size of the
// whole buffer; on pkt_data they are unsupported (dsize is the packet's, and a stream chunk's size
// means nothing to a rule).
// Steps are grouped by buffer, rule order kept within each (the payload's first), and each group
// is walked on its own buffer with its own cursor: a sticky buffer starts at position 0, as in
// Suricata, whose buffers are separate lists. A byte_extract / byte_math variable is usable only in
// the buffer that defines it. Transaction buffers have no stream positions: origin 0, min_end 0.
// A rule with a transaction buffer does not match an input without a transaction.
//
// pcre subjects. A pcre without R searches the whole buffer; with R, the subject starts at the
// cursor (so ^ and lookbehind see the cursor as the start, as in both engines). An anchored pcre
// (flag A) has one candidate, at the subject's start: it is not retried further on (Snort would
// retry it anchored at the next offset). A pcre that hits its match limit does not match (a
// negated one fails too, as in Suricata).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/http.h"
#include "base/result.h"
#include "detect/byte_ops.h"
#include "detect/pcre_match.h"
#include "detect/regex_prefilter.h"
#include "detect/rule_match.h"
#include "rules/rule.h"

namespace vigil::detect {

// byte_extract / byte_math variables one rule may define (Snort allows 2; Suricata more).
inline constexpr int kMaxRuleVariables = 8;

// A number from the rule, or a variable slot.
struct Operand {
  int64_t value = 0;
  int8_t var = -1;  // >= 0: the value of variable slot `var`
  bool set = false;
};

// PayloadStep::buffer of the packet payload; 1 + app::HttpBuffer for a transaction buffer; then
// the DNS buffers: dns.query, and dns.query after Suricata's dotprefix transform ("." + name).
inline constexpr uint8_t kPayloadBuffer = 0;
inline constexpr uint8_t kDnsQueryBuffer = 1 + app::kHttpBufferCount;
inline constexpr uint8_t kDnsQueryDotBuffer = 2 + app::kHttpBufferCount;
// The TLS buffers: tls.sni, and tls.certs (each certificate of the server's chain, DER).
inline constexpr uint8_t kTlsSniBuffer = 3 + app::kHttpBufferCount;
inline constexpr uint8_t kTlsCertsBuffer = 4 + app::kHttpBufferCount;
inline constexpr uint8_t kTlsSniDotBuffer = 5 + app::kHttpBufferCount;  // after dotprefix
inline constexpr uint8_t kJa3HashBuffer = 6 + app::kHttpBufferCount;    // ja3.hash
inline constexpr uint8_t kJa3sHashBuffer = 7 + app::kHttpBufferCount;   // ja3s.hash
// The server's first certificate: tls.cert_subject, tls.cert_issuer, tls.cert_serial,
// tls.cert_fingerprint.
inline constexpr uint8_t kTlsCertSubjectBuffer = 8 + app::kHttpBufferCount;
inline constexpr uint8_t kTlsCertIssuerBuffer = 9 + app::kHttpBufferCount;
inline constexpr uint8_t kTlsCertSerialBuffer = 10 + app::kHttpBufferCount;
inline constexpr uint8_t kTlsCertFingerprintBuffer = 11 + app::kHttpBufferCount;
// http.host after Suricata's dotprefix transform ("." + the host).
inline constexpr uint8_t kHttpHostDotBuffer = 12 + app::kHttpBufferCount;
// The buffers a transaction-like unit (an HTTP transaction, a DNS message) offers: buffer ids
// 1 .. kAppBufferCount, indexed from 0 by the plan's per-buffer scan sets.
inline constexpr size_t kAppBufferCount = app::kHttpBufferCount + 12;
// The stage of DNS rules, after the HTTP stages, then the TLS handshake's stages, in
// app::TlsStage order (CompiledRule::tx_stage).
inline constexpr size_t kDnsStage = app::kHttpStageCount;
inline constexpr size_t kTlsStage = app::kHttpStageCount + 1;
inline constexpr size_t kAppStageCount = kTlsStage + app::kTlsStageCount;

struct PayloadStep {
  enum class Kind : uint8_t {
    kContent,
    kPcre,
    kByteTest,
    kByteJump,
    kByteExtract,
    kByteMath,
    kIsDataAt,
    kBufferSize  // bsize, bufferlen, urilen: the size of the whole buffer
  };
  enum class JumpFrom : uint8_t { kAfterRead, kBeginning, kEnd };
  Kind kind = Kind::kContent;
  bool negated = false;
  bool relative = false;  // reads the cursor
  bool retry = false;     // positive content / pcre: a later option reads the cursor it sets

  // content
  std::string pattern;
  bool nocase = false;
  bool startswith = false;
  bool endswith = false;
  Operand offset;  // also byte_* and isdataat
  Operand depth;
  Operand distance;
  Operand within;
  // pcre: index into RuleProgram::pcres
  int32_t pcre = -1;
  bool anchored = false;  // flag A: one match only, at the start of the subject
  // byte_*
  NumberFormat format;
  uint64_t bitmask = 0;
  rules::ByteTestOption::Op test_op = rules::ByteTestOption::Op::kEq;
  Operand value;  // byte_test's value, byte_math's rvalue
  uint32_t multiplier = 1;
  uint8_t align = 0;  // byte_jump 4, byte_extract 2 or 4
  JumpFrom from = JumpFrom::kAfterRead;
  Operand post_offset;
  rules::ByteMathOption::Op math_op = rules::ByteMathOption::Op::kAdd;
  int8_t result = -1;               // the variable slot byte_extract / byte_math writes
  rules::NumberTest size;           // kBufferSize
  uint8_t buffer = kPayloadBuffer;  // kPayloadBuffer or 1 + app::HttpBuffer
};

struct PacketTest {
  enum class Kind : uint8_t {
    kNumeric,
    kFlags,
    kFlow,
    kSameip,
    kFragbits,
    kSsl,
    kSip,
    kStreamSize,
    kTlsVersion
  };
  Kind kind = Kind::kNumeric;
  rules::NumericOption numeric;
  rules::FlagsOption flags;
  rules::FlowOption flow;
  rules::FragbitsOption fragbits;
  rules::SipOption sip;
  rules::StreamSizeOption stream_size;
  uint16_t tls_version = 0;  // tls.version: 0x0303 for "1.2"
  // ssl_state / ssl_version, as Snort evaluates them: holds when (ssl_bits & the flow's
  // app::SslFlag bits) ^ ssl_negated is not zero (ssl_negated: the bits of the "!" items).
  uint32_t ssl_bits = 0;
  uint32_t ssl_negated = 0;
};

// The steps of one buffer: steps[begin, end).
struct BufferSegment {
  uint8_t buffer = kPayloadBuffer;
  uint32_t begin = 0;
  uint32_t end = 0;
};

// RuleProgram::payload_reach of a program whose payload match may end anywhere.
inline constexpr int64_t kUnboundedReach = INT64_MAX;

struct RuleProgram {
  std::vector<PacketTest> packet_tests;
  std::vector<PayloadStep> steps;       // grouped by buffer, the payload's first
  std::vector<BufferSegment> segments;  // the payload's always first (maybe empty)
  std::vector<Pcre> pcres;
  int variables = 0;
  bool never_matches = false;  // stands in for a rule that failed to compile
  // The furthest absolute stream position at which the payload steps' match can end (the walk's
  // max_end, see min_end above), as the rule's own numbers bound it: absolute content windows
  // (offset + depth, startswith), relative ones held by `within` to a bounded cursor, byte_*
  // reads at bounded positions; kUnboundedReach when a pcre, an endswith, a variable or an
  // unbounded window can end anywhere. A stream chunk whose new bytes begin at or past it cannot
  // match (MatchPacketConditions): "GNUTELLA" at depth 8 is no match 2 KB into a stream.
  int64_t payload_reach = kUnboundedReach;
  // The fewest bytes a buffer needs for the payload steps to match, as the rule's own numbers
  // bound it: each positive content ends at least its length past its window's start (a relative
  // window starts `distance` past a cursor bounded the same way), and a relative isdataat:N needs
  // N bytes past the cursor. MiniUPnP's M-SEARCH overflow (content:"M-SEARCH"; depth:8;
  // isdataat:1492,relative) needs 1,500 bytes, which no SSDP query has (MatchPacketConditions).
  int64_t payload_min_len = 0;
  // The payload's byte_jumps whose landing a negated relative isdataat pins to the buffer's end
  // (EndLandingsHold): Gh0st's length field, byte_jump:4,-10,relative,little,from_beginning,
  // post_offset -1; isdataat:!1,relative, holds only where the number read is the buffer's length
  // plus one.
  struct EndLanding {
    uint32_t jump = 0;  // the byte_jump step
    int64_t bytes = 0;  // isdataat:!bytes,relative follows it, no step moving the cursor between
  };
  std::vector<EndLanding> end_landings;
  // The first pcre step of the payload segment (its end when it has none): PrefixBeforePcreHolds
  // walks the steps before it.
  uint32_t payload_pcre_at = 0;
  // The prefilter of the payload's first pcre anchored right after a content (regex_prefilter.h):
  // its expression set by CompileProgram, the compiled filter by AttachRegexPrefilter (null: the
  // rule has none, or it was not attached; RegexPrefilterHolds is then true).
  std::optional<PrefilterExpression> prefilter_expression;
  std::unique_ptr<const RegexPrefilter> prefilter;
};

// Compiles the detection options of `rule`. Fails, naming the first obstacle in rule order, for an
// option the matcher cannot evaluate: "unsupported buffer file.data", "unsupported keyword
// flowbits", "pcre does not compile: missing ) at offset 3", "unsupported byte_test reading 9
// bytes as a binary number", "more than 8 byte_extract / byte_math variables". `jit` false skips
// PCRE2's JIT step (for checks). With `pcres`, patterns other rules compiled there are shared.
[[nodiscard]] base::Result<std::unique_ptr<RuleProgram>> CompileProgram(const rules::Rule& rule,
                                                                        bool jit = true,
                                                                        PcreCache* pcres = nullptr);

// The stream condition of a rule's protocol: flow:no_stream's for Suricata's tcp-pkt,
// flow:only_stream's for tcp-stream; nullopt for the others.
[[nodiscard]] std::optional<rules::FlowOption::Stream> StreamOfProtocol(const rules::Rule& rule);

// The transaction stage at which a rule with HTTP buffers is evaluated (the Detector evaluates it
// once per transaction, then): kResponseComplete when it reads the response body,
// kResponseHeaders when it reads another response buffer, kRequestComplete when it reads the
// request body, else kRequestHeaders. nullopt for a rule with no transaction
// buffer (or one CompileProgram rejects).
[[nodiscard]] std::optional<app::HttpStage> TxStageOf(const rules::Rule& rule);

// The transaction buffer that `buffer` (an option's buffer name) stands for in `rule` (http.header
// is the response's in a response rule); nullopt for pkt_data and buffers vigil does not fill.
[[nodiscard]] std::optional<app::HttpBuffer> TxBufferOf(const rules::Rule& rule,
                                                        std::string_view buffer);

// True when `rule` reads a DNS buffer (dns.query): the Detector evaluates it once per DNS request
// (CompiledRule::tx_stage kDnsStage), never on packets alone.
[[nodiscard]] bool IsDnsRule(const rules::Rule& rule);

// The TLS stage at which a rule reading TLS buffers is evaluated: the server's certificate when
// it reads tls.certs or tls.cert_subject / _issuer / _serial / _fingerprint, else the ServerHello
// when it reads ja3s.hash, else the ClientHello (tls.sni, ja3.hash); nullopt for a rule with no TLS
// buffer.
[[nodiscard]] std::optional<app::TlsStage> TlsStageOf(const rules::Rule& rule);

// The buffer id (PayloadStep::buffer) that content `c` of `rule` reads when it is not the payload:
// 1 + app::HttpBuffer, kDnsQueryBuffer, kTlsSniBuffer, kTlsCertsBuffer, or kDnsQueryDotBuffer /
// kTlsSniDotBuffer after a dotprefix on its buffer; nullopt otherwise.
[[nodiscard]] std::optional<uint8_t> AppBufferOf(const rules::Rule& rule,
                                                 const rules::ContentOption& c);

// Suricata's dotprefix transform: "." + a name, in a buffer of its own (names longer than 255
// bytes are cut there, as DNS names are); valid until the next call.
class DotPrefixed {
 public:
  std::string_view operator()(std::string_view name) {
    const size_t n = std::min(name.size(), sizeof(buf_) - 1);
    buf_[0] = '.';
    std::copy_n(name.data(), n, buf_ + 1);
    return std::string_view(buf_, n + 1);
  }

 private:
  char buf_[1 + 256];
};

// True when the packet test `t` (dsize, flags, flow, ...) holds for `in`.
[[nodiscard]] bool PassesPacketTest(const PacketTest& t, const MatchInput& in);

// True when byte_test step `s`, absolute and without variables (not relative, offset and value
// numbers), holds on `in`'s payload as the walk evaluates it: it reads the same bytes wherever
// the other options match, so a false here is a false MatchRule.
[[nodiscard]] bool AbsoluteByteTestHolds(const PayloadStep& s, const MatchInput& in);

// False when `in` is a stream chunk (min_end > 0) whose new bytes begin at or past the
// program's payload_reach: no payload match can end in them.
[[nodiscard]] bool CanEndInNewBytes(const RuleProgram& program, const MatchInput& in);

// False when some byte_jump of program.end_landings cannot land where its isdataat:!N,relative
// needs it (past len - N, within the buffer) whatever the walk does: then RunProgram is false. An
// absolute byte_jump is evaluated where it reads; a relative one that jumps from the beginning or
// the end (a plain binary number: no bitmask, multiplier or align) needs a number in a range of at
// most kMaxEndLandingValues values, of which some encoding must occur in the buffer. Cost: a
// memmem of the buffer per value (one for Gh0st's isdataat:!1), or a few bytes read.
inline constexpr int64_t kMaxEndLandingValues = 8;
[[nodiscard]] bool EndLandingsHold(const RuleProgram& program, const MatchInput& in);

// False when the payload steps before the first pcre of `program` (contents with their windows
// and cursor, byte_*, isdataat) hold nowhere in `in`'s payload: then RunProgram is false, and the
// pcre need not run. True when the payload segment has no pcre, or one first (nothing to check
// that the full matcher would not do first itself). Cost: the walk of those steps.
[[nodiscard]] bool PrefixBeforePcreHolds(const RuleProgram& program, const MatchInput& in);

// Compiles program.prefilter_expression into program.prefilter, through `cache` when given. A
// Vectorscan failure leaves the program without one (a rule is then checked as before), and is
// returned for the caller to count.
base::Status AttachRegexPrefilter(RuleProgram& program, DatabaseCache* cache = nullptr);

// False when the program's regex prefilter matches nowhere in `in`'s payload (the whole buffer,
// history included: the walk's pcre searches it all): then RunProgram is false. True when the
// program has no prefilter. `scratch` must be prepared for the prefilter's database (else true).
// Cost: one Vectorscan scan of the buffer.
[[nodiscard]] bool RegexPrefilterHolds(const RuleProgram& program, const MatchInput& in,
                                       hs_scratch_t* scratch);

// True when every positive content of `program` occurs somewhere in its buffer of `in` (the
// payload, or the transaction's, DNS message's or TLS handshake's buffer; one of a multi-buffer's):
// the literal filter of transaction rules, before the walk. False means RunProgram is false.
// Cost: one search of each content's buffer.
[[nodiscard]] bool LiteralsPresent(const RuleProgram& program, const MatchInput& in);

// True when every option of `program` holds on `in` (the header is the caller's business).
[[nodiscard]] bool RunProgram(const RuleProgram& program, const MatchInput& in);

}  // namespace vigil::detect

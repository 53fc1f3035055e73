#include "detect/option_program.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <span>
#include <type_traits>
#include <variant>

#include "detect/content_match.h"
#include "detect/packet_options.h"

namespace vigil::detect {
namespace {

using Kind = PayloadStep::Kind;
using app::HttpBuffer;

// The transaction buffer a rule's buffer name stands for; nullopt for buffers vigil does not fill.
std::optional<HttpBuffer> HttpBufferOf(std::string_view name, bool response_side) {
  struct Entry {
    std::string_view name;
    HttpBuffer request;
    HttpBuffer response;
  };
  static constexpr Entry kNames[] = {
      {"http.uri", HttpBuffer::kUri, HttpBuffer::kUri},
      {"http.uri.raw", HttpBuffer::kRawUri, HttpBuffer::kRawUri},
      {"http.method", HttpBuffer::kMethod, HttpBuffer::kMethod},
      {"http.protocol", HttpBuffer::kProtocol, HttpBuffer::kProtocol},
      {"http.request_line", HttpBuffer::kRequestLine, HttpBuffer::kRequestLine},
      {"http.header", HttpBuffer::kRequestHeader, HttpBuffer::kResponseHeader},
      {"http.header.raw", HttpBuffer::kRequestRawHeader, HttpBuffer::kResponseRawHeader},
      {"http.cookie", HttpBuffer::kRequestCookie, HttpBuffer::kResponseCookie},
      {"http.host", HttpBuffer::kHost, HttpBuffer::kHost},
      {"http.host.raw", HttpBuffer::kRawHost, HttpBuffer::kRawHost},
      {"http.user_agent", HttpBuffer::kUserAgent, HttpBuffer::kUserAgent},
      {"http.request_body", HttpBuffer::kRequestBody, HttpBuffer::kRequestBody},
      {"http.stat_code", HttpBuffer::kStatCode, HttpBuffer::kStatCode},
      {"http.stat_msg", HttpBuffer::kStatMsg, HttpBuffer::kStatMsg},
      {"http.response_line", HttpBuffer::kResponseLine, HttpBuffer::kResponseLine},
      {"http.header_names", HttpBuffer::kRequestHeaderNames, HttpBuffer::kResponseHeaderNames},
      {"http.content_type", HttpBuffer::kRequestContentType, HttpBuffer::kResponseContentType},
      {"http.content_len", HttpBuffer::kRequestContentLen, HttpBuffer::kResponseContentLen},
      {"http.connection", HttpBuffer::kRequestConnection, HttpBuffer::kResponseConnection},
      {"http.start", HttpBuffer::kRequestStart, HttpBuffer::kResponseStart},
      {"http.referer", HttpBuffer::kReferer, HttpBuffer::kReferer},
      {"http.accept", HttpBuffer::kAccept, HttpBuffer::kAccept},
      {"http.accept_enc", HttpBuffer::kAcceptEnc, HttpBuffer::kAcceptEnc},
      {"http.accept_lang", HttpBuffer::kAcceptLang, HttpBuffer::kAcceptLang},
      {"http.server", HttpBuffer::kServer, HttpBuffer::kServer},
      {"http.location", HttpBuffer::kLocation, HttpBuffer::kLocation},
      {"http.response_body", HttpBuffer::kResponseBody, HttpBuffer::kResponseBody},
      // Snort's file_data and Suricata's file.data: the HTTP body of the rule's direction.
      {"file.data", HttpBuffer::kRequestBody, HttpBuffer::kResponseBody},
  };
  for (const Entry& e : kNames) {
    if (e.name == name) return response_side ? e.response : e.request;
  }
  // Snort 3's http_header:field NAME: one header's value. The User-Agent's is Suricata's
  // http.user_agent; the other fields have no buffer of their own yet.
  constexpr std::string_view kField = "http.header:field ";
  if (name.starts_with(kField)) {
    std::string field(name.substr(kField.size()));
    for (char& c : field) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (field == "user-agent") return HttpBuffer::kUserAgent;
  }
  return std::nullopt;
}

// The TLS buffer a rule's buffer name stands for (tls.sni without dotprefix is the caller's);
// nullopt for the others.
std::optional<uint8_t> TlsBufferOf(std::string_view name) {
  struct Entry {
    std::string_view name;
    uint8_t buffer;
  };
  static constexpr Entry kNames[] = {
      {"tls.certs", kTlsCertsBuffer},
      {"ja3.hash", kJa3HashBuffer},
      {"ja3s.hash", kJa3sHashBuffer},
      {"tls.cert_subject", kTlsCertSubjectBuffer},
      {"tls.cert_issuer", kTlsCertIssuerBuffer},
      {"tls.cert_serial", kTlsCertSerialBuffer},
      {"tls.cert_fingerprint", kTlsCertFingerprintBuffer},
  };
  for (const Entry& e : kNames) {
    if (e.name == name) return e.buffer;
  }
  return std::nullopt;
}

// True when the rule inspects the response side of a transaction: flow:to_client, or a buffer
// only responses have; or file.data (a body: the response's, as in Snort) in a rule that neither
// says flow:to_server nor reads a buffer only requests have.
bool ResponseSide(const rules::Rule& rule) {
  bool file_data = false, request_only = false;
  for (const rules::Option& o : rule.options) {
    if (const auto* f = std::get_if<rules::FlowOption>(&o)) {
      if (f->direction == rules::FlowOption::Direction::kToClient) return true;
      if (f->direction == rules::FlowOption::Direction::kToServer) request_only = true;
    }
    if (std::holds_alternative<rules::UrilenOption>(o)) request_only = true;
    const std::string* b = rules::OptionBuffer(o);
    if (b == nullptr || b->empty()) continue;
    if (*b == "file.data") {
      file_data = true;
      continue;
    }
    auto buffer = HttpBufferOf(*b, false);
    if (!buffer) continue;
    if (app::IsResponseBuffer(*buffer)) return true;
    if (HttpBufferOf(*b, true) == buffer) request_only = true;  // the same on both sides
  }
  return file_data && !request_only;
}

// Offsets and values past any buffer: a variable's 64-bit value is clamped here so that position
// arithmetic cannot overflow.
constexpr int64_t kFar = int64_t(1) << 40;

// Stands in for an empty payload's null pointer (PCRE2 refuses a null subject).
constexpr uint8_t kEmpty[1] = {0};

class Compiler {
 public:
  Compiler(RuleProgram& program, bool jit, PcreCache* pcres)
      : program_(program), jit_(jit), pcres_(pcres) {}

  base::Status Add(const rules::Option& option) {
    size_t before = program_.steps.size();
    cur_buffer_ = kPayloadBuffer;
    base::Status st = std::visit([this](const auto& o) { return AddOption(o); }, option);
    if (st && program_.steps.size() > before) program_.steps.back().buffer = cur_buffer_;
    return st;
  }

  // The rule is about the response: http.header / http.header.raw / http.cookie are the
  // response's.
  void SetResponseSide(bool response) { response_side_ = response; }

  // Groups the steps by buffer (the payload's first, rule order kept within a buffer) into
  // program_.segments.
  void Segment() {
    std::vector<PayloadStep>& steps = program_.steps;
    std::stable_sort(steps.begin(), steps.end(), [](const PayloadStep& a, const PayloadStep& b) {
      return a.buffer < b.buffer;
    });
    program_.segments.push_back({kPayloadBuffer, 0, 0});
    for (uint32_t i = 0; i < steps.size(); ++i) {
      if (steps[i].buffer != program_.segments.back().buffer) {
        program_.segments.push_back({steps[i].buffer, i, i});
      }
      program_.segments.back().end = i + 1;
    }
  }

  // Marks the contents / pcres whose occurrence later options (of the same buffer) depend on.
  void SetRetries() {
    for (const BufferSegment& seg : program_.segments) SetRetries(seg.begin, seg.end);
  }

  void SetRetries(size_t begin, size_t end) {
    std::vector<PayloadStep>& steps = program_.steps;
    for (size_t i = begin; i < end; ++i) {
      PayloadStep& s = steps[i];
      if (s.negated || (s.kind != Kind::kContent && s.kind != Kind::kPcre)) continue;
      for (size_t j = i + 1; j < end; ++j) {
        const PayloadStep& later = steps[j];
        if (later.relative) {
          s.retry = true;
          break;
        }
        if (SetsCursor(later)) break;  // absolutely: the cursor no longer comes from step i
      }
    }
  }

 private:
  static bool SetsCursor(const PayloadStep& s) {
    switch (s.kind) {
      case Kind::kContent:
      case Kind::kPcre:
        return !s.negated;
      case Kind::kByteJump:
      case Kind::kByteExtract:
      case Kind::kByteMath:
        return true;
      case Kind::kByteTest:
      case Kind::kIsDataAt:
      case Kind::kBufferSize:
        return false;
    }
    return false;
  }

  static base::Status BufferError(const std::string& buffer) {
    return base::MakeError("unsupported buffer " + buffer);
  }

  // Selects the buffer the option being added reads (cur_buffer_).
  base::Status UseBuffer(const std::string& name) {
    // Snort 3's raw_data: the packet's payload as received — vigil normalizes no payload, so it
    // is pkt_data evaluated on the packet only (ReadsPayload: never on a stream chunk).
    if (name.empty() || name == "raw_data") {
      cur_buffer_ = kPayloadBuffer;
      return {};
    }
    const bool dot =
        std::find(dotprefixed_.begin(), dotprefixed_.end(), name) != dotprefixed_.end();
    if (name == "dns.query") {
      cur_buffer_ = dot ? kDnsQueryDotBuffer : kDnsQueryBuffer;
      return {};
    }
    if (name == "tls.sni") {
      cur_buffer_ = dot ? kTlsSniDotBuffer : kTlsSniBuffer;
      return {};
    }
    if (auto tls = TlsBufferOf(name)) {
      cur_buffer_ = *tls;
      return {};
    }
    if (name == "http.host" && dot) {
      cur_buffer_ = kHttpHostDotBuffer;
      return {};
    }
    auto b = HttpBufferOf(name, response_side_);
    if (!b) return BufferError(name);
    cur_buffer_ = uint8_t(1 + size_t(*b));
    return {};
  }

  base::Result<int8_t> Slot(const std::string& name) const {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) return int8_t(i);
    }
    return base::MakeError("unknown byte_extract / byte_math variable " + name);
  }

  // A variable written by byte_extract / byte_math; writing a name again reuses its slot.
  base::Result<int8_t> Define(const std::string& name) {
    if (auto s = Slot(name)) return *s;
    if (names_.size() >= size_t(kMaxRuleVariables)) {
      return base::MakeError(
          fmt::format("more than {} byte_extract / byte_math variables", kMaxRuleVariables));
    }
    names_.push_back(name);
    var_buffer_[names_.size() - 1] = cur_buffer_;
    program_.variables = int(names_.size());
    return int8_t(names_.size() - 1);
  }

  base::Result<Operand> Value(const rules::IntOrVar& v) const {
    Operand o{.value = v.value, .set = true};
    if (v.IsVar()) {
      auto s = Slot(v.var);
      if (!s) return s.error();
      if (var_buffer_[size_t(*s)] != cur_buffer_) {
        return base::MakeError("unsupported byte_extract / byte_math variable " + v.var +
                               " used in another buffer");
      }
      o.var = *s;
    }
    return o;
  }

  base::Result<Operand> Modifier(const std::optional<int32_t>& number,
                                 const std::string& var) const {
    if (!var.empty()) return Value(rules::IntOrVar{.var = var});
    if (number) return Operand{.value = *number, .set = true};
    return Operand{};
  }

  base::Status Format(PayloadStep& s, std::string_view keyword, uint8_t bytes, rules::Endian endian,
                      rules::ByteString string, const std::optional<uint64_t>& bitmask,
                      bool zero_ok = false) {
    if (string == rules::ByteString::kNone && ((bytes == 0 && !zero_ok) || bytes > 8)) {
      return base::MakeError(
          fmt::format("unsupported {} reading {} bytes as a binary number", keyword, bytes));
    }
    s.format = FormatOf(bytes, endian, string);
    s.bitmask = bitmask.value_or(0);
    return {};
  }

  base::Status AddOption(const rules::ContentOption& c) {
    if (auto st = UseBuffer(c.buffer); !st) return st;
    PayloadStep s{.kind = Kind::kContent,
                  .negated = c.negated,
                  .relative = c.IsRelative(),
                  .pattern = c.pattern,
                  .nocase = c.nocase,
                  .startswith = c.startswith,
                  .endswith = c.endswith};
    auto offset = Modifier(c.offset, c.offset_var);
    auto depth = Modifier(c.depth, c.depth_var);
    auto distance = Modifier(c.distance, c.distance_var);
    auto within = Modifier(c.within, c.within_var);
    for (auto* r : {&offset, &depth, &distance, &within}) {
      if (!*r) return r->error();
    }
    s.offset = *offset;
    s.depth = *depth;
    s.distance = *distance;
    s.within = *within;
    program_.steps.push_back(std::move(s));
    return {};
  }

  base::Status AddOption(const rules::PcreOption& p) {
    if (auto st = UseBuffer(p.buffer); !st) return st;
    auto re = pcres_ != nullptr ? pcres_->Compile(p, jit_) : Pcre::Compile(p, jit_);
    if (!re) return base::MakeError("pcre does not compile: " + re.error().message);
    program_.pcres.push_back(std::move(*re));
    if (cur_buffer_ == kPayloadBuffer && !program_.prefilter_expression) {
      // The content whose end is this pcre's cursor: the payload's last step that sets it.
      for (auto it = program_.steps.rbegin(); it != program_.steps.rend(); ++it) {
        if (it->buffer != kPayloadBuffer || !SetsCursor(*it)) continue;
        if (it->kind == Kind::kContent) {
          program_.prefilter_expression = PrefilterExpressionOf(it->pattern, it->nocase, p);
        }
        break;
      }
    }
    program_.steps.push_back(PayloadStep{.kind = Kind::kPcre,
                                         .negated = p.negated,
                                         .relative = p.HasFlag('R'),
                                         .pcre = int32_t(program_.pcres.size() - 1),
                                         .anchored = p.HasFlag('A')});
    return {};
  }

  base::Status AddOption(const rules::ByteTestOption& t) {
    if (auto st = UseBuffer(t.buffer); !st) return st;
    PayloadStep s{.kind = Kind::kByteTest, .negated = t.negated, .relative = t.relative};
    if (auto st = Format(s, "byte_test", t.bytes, t.endian, t.string, t.bitmask); !st) return st;
    s.test_op = t.op;
    auto value = Value(t.value);
    if (!value) return value.error();
    auto offset = Value(t.offset);
    if (!offset) return offset.error();
    s.value = *value;
    s.offset = *offset;
    program_.steps.push_back(std::move(s));
    return {};
  }

  base::Status AddOption(const rules::ByteJumpOption& j) {
    if (auto st = UseBuffer(j.buffer); !st) return st;
    PayloadStep s{.kind = Kind::kByteJump, .relative = j.relative};
    if (auto st = Format(s, "byte_jump", j.bytes, j.endian, j.string, j.bitmask, /*zero_ok=*/true);
        !st) {
      return st;
    }
    auto offset = Value(j.offset);
    if (!offset) return offset.error();
    s.offset = *offset;
    if (j.post_offset) {
      auto post = Value(*j.post_offset);
      if (!post) return post.error();
      s.post_offset = *post;
    }
    s.multiplier = j.multiplier.value_or(1);
    s.align = j.align ? 4 : 0;
    s.from = j.from_beginning ? PayloadStep::JumpFrom::kBeginning
             : j.from_end     ? PayloadStep::JumpFrom::kEnd
                              : PayloadStep::JumpFrom::kAfterRead;
    program_.steps.push_back(std::move(s));
    return {};
  }

  base::Status AddOption(const rules::ByteExtractOption& e) {
    if (auto st = UseBuffer(e.buffer); !st) return st;
    PayloadStep s{.kind = Kind::kByteExtract, .relative = e.relative};
    if (auto st = Format(s, "byte_extract", e.bytes, e.endian, e.string, e.bitmask); !st) return st;
    s.offset = Operand{.value = e.offset, .set = true};
    s.multiplier = e.multiplier.value_or(1);
    s.align = e.align.value_or(0);
    auto slot = Define(e.name);
    if (!slot) return slot.error();
    s.result = *slot;
    program_.steps.push_back(std::move(s));
    return {};
  }

  base::Status AddOption(const rules::ByteMathOption& m) {
    if (auto st = UseBuffer(m.buffer); !st) return st;
    PayloadStep s{.kind = Kind::kByteMath, .relative = m.relative};
    if (auto st = Format(s, "byte_math", m.bytes, m.endian, m.string, m.bitmask); !st) return st;
    auto offset = Value(m.offset);
    if (!offset) return offset.error();
    auto rvalue = Value(m.rvalue);
    if (!rvalue) return rvalue.error();
    s.offset = *offset;
    s.value = *rvalue;
    s.math_op = m.op;
    auto slot = Define(m.result);  // after the rvalue: `rvalue x, result x` reads the old x
    if (!slot) return slot.error();
    s.result = *slot;
    program_.steps.push_back(std::move(s));
    return {};
  }

  base::Status AddOption(const rules::IsDataAtOption& d) {
    if (auto st = UseBuffer(d.buffer); !st) return st;
    PayloadStep s{.kind = Kind::kIsDataAt, .negated = d.negated, .relative = d.relative};
    auto offset = Value(d.offset);
    if (!offset) return offset.error();
    s.offset = *offset;
    program_.steps.push_back(std::move(s));
    return {};
  }

  // bsize / bufferlen (the size of a sticky buffer) and urilen (of http.uri, or http.uri.raw).
  base::Status AddSize(const std::string& buffer, const rules::NumberTest& test,
                       std::string_view keyword) {
    if (buffer.empty()) {
      // The payload's size is dsize; on a stream chunk the "buffer" would be the chunk.
      return base::MakeError(fmt::format("unsupported keyword {} on pkt_data", keyword));
    }
    if (auto st = UseBuffer(buffer); !st) return st;
    program_.steps.push_back(PayloadStep{.kind = Kind::kBufferSize, .size = test});
    return {};
  }

  base::Status AddOption(const rules::UrilenOption& u) {
    return AddSize(u.form == rules::UrilenOption::Form::kRaw ? "http.uri.raw" : "http.uri", u.test,
                   "urilen");
  }

  // Suricata's dotprefix on dns.query, tls.sni and http.host: the options after it read "." + the
  // name. Other transforms change bytes the matcher does not rewrite yet.
  base::Status AddOption(const rules::TransformOption& t) {
    if (t.name != "dotprefix" ||
        (t.buffer != "dns.query" && t.buffer != "tls.sni" && t.buffer != "http.host")) {
      return Unsupported(rules::Option(t));
    }
    dotprefixed_.push_back(t.buffer);
    return {};
  }

  base::Status AddOption(const rules::FragbitsOption& f) {
    program_.packet_tests.push_back({.kind = PacketTest::Kind::kFragbits, .fragbits = f});
    return {};
  }

  // Suricata's tls.version: the version of the packet's side of the handshake (packet_options.h).
  // Its older value keywords (tls.subject, tls.issuerdn, tls.fingerprint) are not evaluated.
  base::Status AddOption(const rules::TlsOption& t) {
    if (t.field != rules::TlsOption::Field::kVersion) return Unsupported(rules::Option(t));
    uint16_t version = 0;
    if (t.value.starts_with("0x")) {
      version = uint16_t(std::stoul(t.value, nullptr, 16));  // the parser checked the number
    } else {
      version = uint16_t(0x0300 + 1 + (t.value.back() - '0'));  // "1.0" .. "1.3"
    }
    program_.packet_tests.push_back(
        {.kind = PacketTest::Kind::kTlsVersion, .tls_version = version});
    return {};
  }

  // Suricata's stream_size on the TCP session's sizes (packet_options.h).
  base::Status AddOption(const rules::StreamSizeOption& o) {
    program_.packet_tests.push_back({.kind = PacketTest::Kind::kStreamSize, .stream_size = o});
    return {};
  }

  // Snort's sip_method and sip_stat_code on the packet's SIP message (packet_options.h).
  base::Status AddOption(const rules::SipOption& o) {
    program_.packet_tests.push_back({.kind = PacketTest::Kind::kSip, .sip = o});
    return {};
  }

  // Snort's ssl_state and ssl_version (the SSL inspector's flags, app::SslFlag).
  base::Status AddOption(const rules::SslOption& o) {
    struct Entry {
      std::string_view name;
      uint32_t bit;
    };
    static constexpr Entry kStates[] = {{"client_hello", app::kSslClientHello},
                                        {"server_hello", app::kSslServerHello},
                                        {"client_keyx", app::kSslClientKeyx},
                                        {"server_keyx", app::kSslServerKeyx}};
    static constexpr Entry kVersions[] = {{"sslv2", app::kSslV2},
                                          {"sslv3", app::kSslV3},
                                          {"tls1.0", app::kTls10},
                                          {"tls1.1", app::kTls11},
                                          {"tls1.2", app::kTls12}};
    PacketTest t{.kind = PacketTest::Kind::kSsl};
    for (const rules::SslOption::Item& item : o.items) {
      uint32_t bit = 0;
      for (const Entry& e :
           o.version ? std::span<const Entry>(kVersions) : std::span<const Entry>(kStates)) {
        if (e.name == item.name) bit = e.bit;
      }
      if (bit == 0) {
        return base::MakeError(
            fmt::format("unsupported {} {}", o.version ? "ssl_version" : "ssl_state", item.name));
      }
      t.ssl_bits |= bit;
      if (item.negated) t.ssl_negated |= bit;
    }
    program_.packet_tests.push_back(t);
    return {};
  }

  base::Status AddOption(const rules::NumericOption& n) {
    if (n.field == rules::NumericField::kBsize || n.field == rules::NumericField::kBufferlen) {
      return AddSize(n.buffer, n.test, rules::NumericFieldName(n.field));
    }
    if (!IsSupportedNumericField(n.field)) {
      return base::MakeError("unsupported keyword " +
                             std::string(rules::NumericFieldName(n.field)));
    }
    program_.packet_tests.push_back({.kind = PacketTest::Kind::kNumeric, .numeric = n});
    return {};
  }

  base::Status AddOption(const rules::FlagsOption& f) {
    program_.packet_tests.push_back({.kind = PacketTest::Kind::kFlags, .flags = f});
    return {};
  }

  base::Status AddOption(const rules::FlowOption& f) {
    program_.packet_tests.push_back({.kind = PacketTest::Kind::kFlow, .flow = f});
    return {};
  }

  // flowbits, threshold / detection_filter and noalert are not options of the walk: the
  // CompiledRule's flowbits (flowbits.h) and the Detector's EventFilter (thresholds.h) run them.
  base::Status AddOption(const rules::FlowbitsOption&) { return {}; }
  base::Status AddOption(const rules::ThresholdOption&) { return {}; }

  base::Status AddOption(const rules::FlagOption& f) {
    if (f.kind == rules::FlagOption::Kind::kNoalert) return {};
    if (f.kind != rules::FlagOption::Kind::kSameip) return Unsupported(rules::Option(f));
    program_.packet_tests.push_back({.kind = PacketTest::Kind::kSameip});
    return {};
  }

  template <class T>
  base::Status AddOption(const T& o) {
    return Unsupported(rules::Option(o));
  }

  static base::Status Unsupported(const rules::Option& o) {
    return base::MakeError("unsupported keyword " + rules::OptionKeyword(o));
  }

  RuleProgram& program_;
  bool jit_;
  PcreCache* pcres_;                            // null: each pattern compiled on its own
  std::vector<std::string> names_;              // variable slots
  uint8_t var_buffer_[kMaxRuleVariables] = {};  // per slot: the buffer that defines it
  uint8_t cur_buffer_ = kPayloadBuffer;
  bool response_side_ = false;
  std::vector<std::string> dotprefixed_;  // buffers whose later options read "." + the name
};

int64_t ClampFar(uint64_t v) { return v > uint64_t(kFar) ? kFar : int64_t(v); }

// Where byte_jump step `s` puts the cursor, having read `n` at buffer index `pos` of a buffer of
// `len` bytes at stream position `origin`, `post` its post_offset: before the buffer, at its start
// (Suricata; Snort 3 fails the option); past its end, a failed jump.
int64_t JumpTarget(const PayloadStep& s, const NumberRead& n, int64_t pos, int64_t len,
                   int64_t origin, int64_t post) {
  uint64_t v = ApplyBitmask(n.value, s.bitmask) * s.multiplier;
  int64_t jump = ClampFar(AlignUp(v, s.align));
  int64_t target = s.from == PayloadStep::JumpFrom::kBeginning ? jump - origin
                   : s.from == PayloadStep::JumpFrom::kEnd     ? len + jump
                                                               : pos + n.consumed + jump;
  return std::max<int64_t>(target + post, 0);
}

// One evaluation of the payload steps: a depth-first search over the occurrences of positive
// contents and pcres (the only options with a choice), deterministic steps in between.
class Walk {
 public:
  // kShort: every option held, but the match ended within the history (before min_end).
  enum class Outcome : uint8_t { kFail, kShort, kMatch };

  // Walks steps[seg.begin, seg.end) of `program` on `in`'s buffer.
  Walk(const RuleProgram& program, const MatchInput& in, const BufferSegment& seg)
      : program_(program),
        data_(in.data && in.len ? in.data : kEmpty),
        len_(in.data ? int64_t(in.len) : 0),
        origin_(int64_t(std::min<uint64_t>(in.origin, uint64_t(kFar)))),
        min_end_(in.min_end),
        end_(seg.end) {}

  Outcome From(size_t i, int64_t cursor, int64_t max_end) {
    const std::vector<PayloadStep>& steps = program_.steps;
    for (; i < end_; ++i) {
      const PayloadStep& s = steps[i];
      switch (s.kind) {
        case Kind::kContent:
          if (!s.negated) return Content(i, s, cursor, max_end);
          if (!ContentAbsent(s, cursor)) return Outcome::kFail;
          break;
        case Kind::kPcre:
          if (!s.negated) return Pcre(i, s, cursor, max_end);
          if (!PcreAbsent(s, cursor)) return Outcome::kFail;
          break;
        case Kind::kByteTest: {
          int64_t pos = Position(s, cursor);
          auto n = ReadNumber(data_, len_, pos, s.format);
          if (!n) return Outcome::kFail;
          uint64_t operand = s.value.var >= 0 ? vars_[s.value.var] : uint64_t(s.value.value);
          if (!ByteTestHolds(s.test_op, s.negated, ApplyBitmask(n->value, s.bitmask), operand)) {
            return Outcome::kFail;
          }
          max_end = std::max(max_end, pos + int64_t(n->examined));
          break;
        }
        case Kind::kByteJump: {
          int64_t pos = Position(s, cursor);
          auto n = ReadNumber(data_, len_, pos, s.format);
          if (!n) return Outcome::kFail;
          int64_t target =
              JumpTarget(s, *n, pos, len_, origin_, s.post_offset.set ? Signed(s.post_offset) : 0);
          if (target > len_) return Outcome::kFail;
          max_end = std::max(max_end, pos + int64_t(n->examined));
          cursor = target;
          break;
        }
        case Kind::kByteExtract: {
          int64_t pos = Position(s, cursor);
          auto n = ReadNumber(data_, len_, pos, s.format);
          if (!n) return Outcome::kFail;
          vars_[s.result] = AlignUp(ApplyBitmask(n->value, s.bitmask) * s.multiplier, s.align);
          max_end = std::max(max_end, pos + int64_t(n->examined));
          cursor = pos + n->consumed;
          break;
        }
        case Kind::kByteMath: {
          int64_t pos = Position(s, cursor);
          auto n = ReadNumber(data_, len_, pos, s.format);
          if (!n) return Outcome::kFail;
          uint64_t rvalue = s.value.var >= 0 ? vars_[s.value.var] : uint64_t(s.value.value);
          auto result = ByteMathResult(s.math_op, ApplyBitmask(n->value, s.bitmask), rvalue);
          if (!result) return Outcome::kFail;
          vars_[s.result] = *result;
          max_end = std::max(max_end, pos + int64_t(n->examined));
          cursor = pos + n->consumed;
          break;
        }
        case Kind::kIsDataAt: {
          // Absolute isdataat:N asks for a byte at position N; relative, Suricata asks for N more
          // bytes after the cursor, so the cursor may sit at N bytes before the end (Snort 3
          // asks for a byte at cursor + N, one more).
          int64_t at = Position(s, cursor);
          bool present = origin_ + at >= 0 && (s.relative ? at <= len_ : at < len_);
          if (present == s.negated) return Outcome::kFail;
          break;
        }
        case Kind::kBufferSize:
          if (!MatchNumber(s.size, len_)) return Outcome::kFail;
          break;
      }
    }
    if (min_end_ == 0 || max_end > min_end_) return Outcome::kMatch;
    return Outcome::kShort;
  }

  // The walk gave up a search for want of budget (kMaxContentSteps): a fail it returned may not
  // be a fail of the same steps walked otherwise.
  [[nodiscard]] bool exhausted() const { return searches_ > kMaxContentSteps; }

 private:
  struct Window {
    int64_t start;
    int64_t end;
  };

  static int64_t Clamp(uint64_t v) { return v > uint64_t(kFar) ? kFar : int64_t(v); }
  // An operand as a signed position or length: a literal as written, a variable clamped.
  int64_t Signed(const Operand& o) const { return o.var >= 0 ? Clamp(vars_[o.var]) : o.value; }

  // Where a byte_* / isdataat option reads: from the cursor, or from absolute position 0.
  int64_t Position(const PayloadStep& s, int64_t cursor) const {
    int64_t offset = Signed(s.offset);
    return s.relative ? cursor + offset : offset - origin_;
  }

  Window WindowOf(const PayloadStep& s, int64_t cursor) const {
    int64_t start, end;
    if (s.startswith) {
      start = -origin_;
      end = start + int64_t(s.pattern.size());
    } else if (s.relative) {
      start = cursor + (s.distance.set ? Signed(s.distance) : 0);
      end = s.within.set ? start + Signed(s.within) : len_;
    } else {
      start = (s.offset.set ? Signed(s.offset) : 0) - origin_;
      end = s.depth.set ? start + Signed(s.depth) : len_;
    }
    return {std::max<int64_t>(start, 0), std::min(end, len_)};
  }

  // The next occurrence of content `s` at or after `from` in `w`, or -1.
  int64_t Find(const PayloadStep& s, const Window& w, int64_t from) const {
    int64_t n = int64_t(s.pattern.size());
    if (s.endswith) {
      // Only one place ends the buffer.
      int64_t at = len_ - n;
      if (at < from || at < w.start || w.end != len_) return -1;
      return FindBytes(data_, at, len_, s.pattern, s.nocase);
    }
    return FindBytes(data_, from, w.end, s.pattern, s.nocase);
  }

  bool ContentAbsent(const PayloadStep& s, int64_t cursor) {
    if (++searches_ > kMaxContentSteps) return false;
    Window w = WindowOf(s, cursor);
    if (w.end - w.start < int64_t(s.pattern.size())) return true;
    return Find(s, w, w.start) < 0;
  }

  Outcome Content(size_t i, const PayloadStep& s, int64_t cursor, int64_t max_end) {
    Window w = WindowOf(s, cursor);
    int64_t n = int64_t(s.pattern.size());
    Outcome best = Outcome::kFail;
    int64_t from = w.start;
    while (from + n <= w.end) {
      if (++searches_ > kMaxContentSteps) return best;
      int64_t at = Find(s, w, from);
      if (at < 0) break;
      Outcome r = From(i + 1, at + n, std::max(max_end, at + n));
      if (r == Outcome::kMatch) return r;
      from = at + 1;
      if (r == Outcome::kShort) {
        best = r;
        // Later options do not depend on where this one matched: only a match of this one that
        // ends past min_end can help.
        if (!s.retry) from = std::max(from, int64_t(min_end_) + 1 - n);
      } else if (!s.retry) {
        return best;  // later options fail wherever this one matches
      }
    }
    return best;
  }

  bool PcreAbsent(const PayloadStep& s, int64_t cursor) {
    if (++searches_ > kMaxContentSteps) return false;
    int64_t base = s.relative ? cursor : 0;
    size_t begin, end;
    return program_.pcres[size_t(s.pcre)].Find(data_ + base, size_t(len_ - base), 0, begin, end) ==
           PcreStatus::kNoMatch;
  }

  Outcome Pcre(size_t i, const PayloadStep& s, int64_t cursor, int64_t max_end) {
    const detect::Pcre& re = program_.pcres[size_t(s.pcre)];
    int64_t base = s.relative ? cursor : 0;
    size_t subject_len = size_t(len_ - base);
    Outcome best = Outcome::kFail;
    size_t start = 0;
    while (start <= subject_len) {
      if (++searches_ > kMaxContentSteps) return best;
      size_t begin, end;
      if (re.Find(data_ + base, subject_len, start, begin, end) != PcreStatus::kMatch) break;
      int64_t match_end = base + int64_t(end);
      Outcome r = From(i + 1, match_end, std::max(max_end, match_end));
      if (r == Outcome::kMatch) return r;
      if (r == Outcome::kShort) {
        best = r;
      } else if (!s.retry) {
        return best;
      }
      if (s.anchored) break;
      start = begin + 1;
    }
    return best;
  }

  const RuleProgram& program_;
  const uint8_t* data_;
  int64_t len_;
  int64_t origin_;
  int64_t min_end_;
  size_t end_;
  uint64_t vars_[kMaxRuleVariables] = {};
  int searches_ = 0;
};

}  // namespace

// RuleProgram::payload_reach: the walk's max_end bounded step by step, in absolute positions,
// with a bound on the cursor (none at the start: the buffer's first byte is the chunk's origin).
int64_t PayloadReach(const RuleProgram& program) {
  const BufferSegment& seg = program.segments.front();
  constexpr int64_t kNone = kUnboundedReach;
  constexpr int64_t kBig = int64_t(1) << 32;  // larger numbers: not worth bounding
  auto number = [](const Operand& o, int64_t& out) {
    if (o.var >= 0 || o.value < -kBig || o.value > kBig) return false;
    out = o.set ? o.value : 0;
    return true;
  };
  int64_t reach = 0;
  int64_t cursor = kNone;
  for (uint32_t i = seg.begin; i < seg.end; ++i) {
    const PayloadStep& s = program.steps[i];
    int64_t offset = 0;
    switch (s.kind) {
      case Kind::kContent: {
        if (s.negated) break;  // neither ends the match nor moves the cursor
        int64_t end = 0, depth = 0, distance = 0, within = 0;
        if (s.startswith) {
          end = int64_t(s.pattern.size());
        } else if (s.endswith) {
          return kNone;
        } else if (!s.relative) {
          if (!s.depth.set || !number(s.depth, depth) || !number(s.offset, offset)) return kNone;
          end = offset + depth;
        } else {
          if (cursor == kNone || !s.within.set || !number(s.within, within) ||
              !number(s.distance, distance)) {
            return kNone;
          }
          end = cursor + distance + within;
        }
        reach = std::max(reach, end);
        cursor = end;
        break;
      }
      case Kind::kPcre:
        if (!s.negated) return kNone;
        break;
      case Kind::kByteTest:
      case Kind::kByteJump:
      case Kind::kByteExtract:
      case Kind::kByteMath: {
        // Reads format.bytes bytes (a string of 0 reads to the buffer's end).
        if (s.format.bytes == 0 && s.format.base != 0) return kNone;
        if (!number(s.offset, offset) || (s.relative && cursor == kNone)) return kNone;
        const int64_t pos = s.relative ? cursor + offset : offset;
        reach = std::max(reach, pos + s.format.bytes);
        if (s.kind == Kind::kByteJump) {
          cursor = kNone;
        } else if (s.kind != Kind::kByteTest) {
          cursor = pos + s.format.bytes;
        }
        break;
      }
      case Kind::kIsDataAt:
      case Kind::kBufferSize:
        break;
    }
  }
  return reach;
}

// RuleProgram::payload_min_len: a lower bound on the cursor carried step by step (a match of
// content C ends at least |C| past the start of its window, which is clipped to the buffer), and
// the buffer length that each positive content and relative isdataat then needs.
int64_t PayloadMinLength(const RuleProgram& program) {
  const BufferSegment& seg = program.segments.front();
  constexpr int64_t kBig = int64_t(1) << 32;  // larger numbers: not worth bounding
  int64_t cursor = 0;                         // the cursor is at least this
  int64_t need = 0;
  for (uint32_t i = seg.begin; i < seg.end; ++i) {
    const PayloadStep& s = program.steps[i];
    switch (s.kind) {
      case Kind::kContent: {
        if (s.negated) break;
        int64_t start = 0;
        if (s.relative && !s.startswith && !s.endswith) {
          const int64_t distance = s.distance.set ? s.distance.value : 0;
          if (s.distance.var >= 0 || distance < -kBig || distance > kBig) {
            start = 0;
          } else {
            start = std::max<int64_t>(cursor + distance, 0);
          }
        }
        cursor = start + int64_t(s.pattern.size());
        need = std::max(need, cursor);
        break;
      }
      case Kind::kPcre:
        if (!s.negated && !s.relative) cursor = 0;  // a relative match ends past the cursor
        break;
      case Kind::kByteJump:
      case Kind::kByteExtract:
      case Kind::kByteMath:
        cursor = 0;
        break;
      case Kind::kIsDataAt:
        // Relative: cursor + N <= the buffer's length (Walk).
        if (s.relative && !s.negated && s.offset.var < 0 && s.offset.value >= 0 &&
            s.offset.value <= kBig) {
          need = std::max(need, cursor + s.offset.value);
        }
        break;
      case Kind::kByteTest:
      case Kind::kBufferSize:
        break;
    }
  }
  return need;
}

// RuleProgram::end_landings: each payload byte_jump followed by isdataat:!N,relative (a number,
// N >= 0), with only steps that leave the cursor alone between them (byte_test, a negated content
// or pcre, another isdataat, a buffer size).
std::vector<RuleProgram::EndLanding> EndLandingsOf(const RuleProgram& program) {
  std::vector<RuleProgram::EndLanding> landings;
  const BufferSegment& seg = program.segments.front();
  for (uint32_t i = seg.begin; i < seg.end; ++i) {
    if (program.steps[i].kind != Kind::kByteJump) continue;
    for (uint32_t j = i + 1; j < seg.end; ++j) {
      const PayloadStep& s = program.steps[j];
      if (s.kind == Kind::kIsDataAt && s.relative && s.negated && s.offset.var < 0 &&
          s.offset.value >= 0 && s.offset.value <= kFar) {
        landings.push_back({.jump = i, .bytes = s.offset.value});
        break;
      }
      const bool keeps_cursor = s.kind == Kind::kByteTest || s.kind == Kind::kIsDataAt ||
                                s.kind == Kind::kBufferSize ||
                                ((s.kind == Kind::kContent || s.kind == Kind::kPcre) && s.negated);
      if (!keeps_cursor) break;
    }
  }
  return landings;
}

base::Result<std::unique_ptr<RuleProgram>> CompileProgram(const rules::Rule& rule, bool jit,
                                                          PcreCache* pcres) {
  auto program = std::make_unique<RuleProgram>();
  program->steps.reserve(rule.options.size());  // at most one step an option; grown, they move
  Compiler compiler(*program, jit, pcres);
  compiler.SetResponseSide(ResponseSide(rule));
  // Suricata's tcp-pkt and tcp-stream: TCP rules that match on the packets only, or on the
  // reassembled stream only, as flow:no_stream and flow:only_stream say.
  if (auto stream = StreamOfProtocol(rule)) {
    program->packet_tests.push_back(
        {.kind = PacketTest::Kind::kFlow, .flow = rules::FlowOption{.stream = *stream}});
  }
  for (const rules::Option& option : rule.options) {
    if (auto st = compiler.Add(option); !st) return st.error();
  }
  compiler.Segment();
  compiler.SetRetries();
  program->payload_reach = PayloadReach(*program);
  program->payload_min_len = PayloadMinLength(*program);
  program->end_landings = EndLandingsOf(*program);
  const BufferSegment& payload = program->segments.front();
  program->payload_pcre_at = payload.end;
  for (uint32_t i = payload.begin; i < payload.end; ++i) {
    if (program->steps[i].kind == Kind::kPcre) {
      program->payload_pcre_at = i;
      break;
    }
  }
  return program;
}

std::optional<rules::FlowOption::Stream> StreamOfProtocol(const rules::Rule& rule) {
  if (rule.protocol_variant == "tcp-pkt") return rules::FlowOption::Stream::kNoStream;
  if (rule.protocol_variant == "tcp-stream") return rules::FlowOption::Stream::kOnlyStream;
  return std::nullopt;
}

std::optional<app::HttpBuffer> TxBufferOf(const rules::Rule& rule, std::string_view buffer) {
  if (buffer.empty()) return std::nullopt;
  return HttpBufferOf(buffer, ResponseSide(rule));
}

bool IsDnsRule(const rules::Rule& rule) {
  for (const rules::Option& o : rule.options) {
    const std::string* b = rules::OptionBuffer(o);
    if (b != nullptr && *b == "dns.query") return true;
  }
  return false;
}

std::optional<app::TlsStage> TlsStageOf(const rules::Rule& rule) {
  bool client = false, server = false, certs = false;
  for (const rules::Option& o : rule.options) {
    const std::string* b = rules::OptionBuffer(o);
    if (b == nullptr) continue;
    client |= *b == "tls.sni" || *b == "ja3.hash";
    server |= *b == "ja3s.hash";
    certs |= *b == "tls.certs" || *b == "tls.cert_subject" || *b == "tls.cert_issuer" ||
             *b == "tls.cert_serial" || *b == "tls.cert_fingerprint";
  }
  if (certs) return app::TlsStage::kServerCertificate;
  if (server) return app::TlsStage::kServerHello;
  if (client) return app::TlsStage::kClientHello;
  return std::nullopt;
}

std::optional<uint8_t> AppBufferOf(const rules::Rule& rule, const rules::ContentOption& c) {
  if (auto tls = TlsBufferOf(c.buffer)) return tls;
  if (c.buffer == "dns.query" || c.buffer == "tls.sni" || c.buffer == "http.host") {
    // dotprefix applies to the options of its buffer after it.
    bool dot = false;
    for (const rules::Option& o : rule.options) {
      if (const auto* t = std::get_if<rules::TransformOption>(&o)) {
        dot |= t->name == "dotprefix" && t->buffer == c.buffer;
      }
      if (const auto* content = std::get_if<rules::ContentOption>(&o); content == &c) break;
    }
    if (c.buffer == "tls.sni") return dot ? kTlsSniDotBuffer : kTlsSniBuffer;
    if (c.buffer == "dns.query") return dot ? kDnsQueryDotBuffer : kDnsQueryBuffer;
    if (dot) return kHttpHostDotBuffer;
  }
  auto b = TxBufferOf(rule, c.buffer);
  if (!b) return std::nullopt;
  return uint8_t(1 + size_t(*b));
}

std::optional<app::HttpStage> TxStageOf(const rules::Rule& rule) {
  bool response_side = ResponseSide(rule);
  bool any = false, body = false, response = false, response_body = false;
  for (const rules::Option& o : rule.options) {
    const std::string* name = rules::OptionBuffer(o);
    std::optional<HttpBuffer> b;
    if (std::holds_alternative<rules::UrilenOption>(o)) {
      b = HttpBuffer::kUri;
    } else if (name != nullptr && !name->empty()) {
      b = HttpBufferOf(*name, response_side);
    }
    if (!b) continue;
    any = true;
    body |= *b == HttpBuffer::kRequestBody;
    response |= app::IsResponseBuffer(*b);
    response_body |= *b == HttpBuffer::kResponseBody;
  }
  if (!any) return std::nullopt;
  if (response_body) return app::HttpStage::kResponseComplete;
  if (response) return app::HttpStage::kResponseHeaders;
  return body ? app::HttpStage::kRequestComplete : app::HttpStage::kRequestHeaders;
}

bool PassesPacketTest(const PacketTest& t, const MatchInput& in) {
  switch (t.kind) {
    case PacketTest::Kind::kNumeric:
      return MatchNumeric(t.numeric, *in.packet);
    case PacketTest::Kind::kFlags:
      return MatchFlags(t.flags, *in.packet);
    case PacketTest::Kind::kFlow:
      return MatchFlow(t.flow, in);
    case PacketTest::Kind::kSameip:
      return MatchSameip(*in.packet);
    case PacketTest::Kind::kFragbits:
      return MatchFragbits(t.fragbits, *in.packet);
    case PacketTest::Kind::kTlsVersion:
      return MatchTlsVersion(t.tls_version, in);
    case PacketTest::Kind::kStreamSize:
      return MatchStreamSize(t.stream_size, in);
    case PacketTest::Kind::kSip:
      return MatchSip(t.sip, *in.packet);
    case PacketTest::Kind::kSsl:
      // No SSL session (no flag at all): Snort's option does not match either.
      return in.flow != nullptr && in.flow->ssl_flags != 0 &&
             ((t.ssl_bits & in.flow->ssl_flags) ^ t.ssl_negated) != 0;
  }
  return false;
}

namespace {

// True when the steps of `seg` hold on `buffer`, a whole buffer of its own (no stream positions).
bool WalkHolds(const RuleProgram& program, const MatchInput& in, const BufferSegment& seg,
               std::string_view buffer) {
  MatchInput sub = in;
  sub.data = reinterpret_cast<const uint8_t*>(buffer.data());
  sub.len = uint32_t(buffer.size());
  sub.origin = 0;
  sub.min_end = 0;
  Walk walk(program, sub, seg);
  return walk.From(seg.begin, 0, 0) == Walk::Outcome::kMatch;
}

// True when `holds` is true of application-layer buffer `buffer` of `in`'s transaction, DNS
// message or TLS handshake; for a multi-buffer (dns.query's names, tls.certs), of one of its
// buffers (Suricata's multi-buffer matching). False when `in` has no such buffer.
template <typename Holds>
bool AnyAppBuffer(const MatchInput& in, uint8_t buffer, const Holds& holds) {
  DotPrefixed dotted;
  switch (buffer) {
    case kTlsSniBuffer:
    case kTlsSniDotBuffer:
      if (in.tls == nullptr || !in.tls->client_hello) return false;
      return holds(buffer == kTlsSniDotBuffer ? dotted(in.tls->sni) : in.tls->sni);
    case kJa3HashBuffer:
      if (in.tls == nullptr || !in.tls->client_hello) return false;
      return holds(in.tls->ja3_hash);
    case kJa3sHashBuffer:
      if (in.tls == nullptr || !in.tls->server_hello) return false;
      return holds(in.tls->ja3s_hash);
    case kTlsCertSubjectBuffer:
    case kTlsCertIssuerBuffer:
    case kTlsCertSerialBuffer:
    case kTlsCertFingerprintBuffer:
      // Absent (no match, negated or not) when the first certificate did not decode.
      if (in.tls == nullptr || !in.tls->cert_decoded) return false;
      return holds(buffer == kTlsCertSubjectBuffer  ? in.tls->cert_subject
                   : buffer == kTlsCertIssuerBuffer ? in.tls->cert_issuer
                   : buffer == kTlsCertSerialBuffer ? in.tls->cert_serial
                                                    : in.tls->cert_fingerprint);
    case kTlsCertsBuffer:
      if (in.tls == nullptr) return false;
      return std::any_of(in.tls->certs.begin(), in.tls->certs.end(),
                         [&](const std::string& cert) { return holds(std::string_view(cert)); });
    case kDnsQueryBuffer:
    case kDnsQueryDotBuffer:
      if (in.dns == nullptr || in.dns->response) return false;  // dns.query is a request's
      return std::any_of(
          in.dns->queries.begin(), in.dns->queries.end(), [&](const app::DnsRecord& q) {
            return holds(buffer == kDnsQueryDotBuffer ? dotted(q.name) : std::string_view(q.name));
          });
    case kHttpHostDotBuffer:
      if (in.tx == nullptr) return false;
      return holds(dotted(in.tx->Buffer(HttpBuffer::kHost)));
    default:
      if (in.tx == nullptr) return false;
      return holds(in.tx->Buffer(HttpBuffer(buffer - 1)));
  }
}

// True when the steps of `seg`, an application-layer buffer, hold on `in`'s transaction, DNS
// message or TLS handshake (AnyAppBuffer).
bool SegmentHolds(const RuleProgram& program, const MatchInput& in, const BufferSegment& seg) {
  return AnyAppBuffer(in, seg.buffer,
                      [&](std::string_view buffer) { return WalkHolds(program, in, seg, buffer); });
}

}  // namespace

bool AbsoluteByteTestHolds(const PayloadStep& s, const MatchInput& in) {
  // As Walk reads it: Position() of an absolute step, the buffer as Walk takes it.
  const uint8_t* data = in.data && in.len ? in.data : kEmpty;
  const int64_t len = in.data ? int64_t(in.len) : 0;
  const int64_t origin = int64_t(std::min<uint64_t>(in.origin, uint64_t(kFar)));
  auto n = ReadNumber(data, len, s.offset.value - origin, s.format);
  return n && ByteTestHolds(s.test_op, s.negated, ApplyBitmask(n->value, s.bitmask),
                            uint64_t(s.value.value));
}

bool CanEndInNewBytes(const RuleProgram& program, const MatchInput& in) {
  // Walk: a match needs max_end > min_end, max_end a buffer index, at most reach - origin.
  const int64_t origin = int64_t(std::min<uint64_t>(in.origin, uint64_t(kFar)));
  return in.min_end == 0 || program.payload_reach == kUnboundedReach ||
         program.payload_reach - origin > int64_t(in.min_end);
}

bool EndLandingsHold(const RuleProgram& program, const MatchInput& in) {
  // As Walk reads the buffer.
  const uint8_t* data = in.data && in.len ? in.data : kEmpty;
  const int64_t len = in.data ? int64_t(in.len) : 0;
  const int64_t origin = int64_t(std::min<uint64_t>(in.origin, uint64_t(kFar)));
  for (const RuleProgram::EndLanding& e : program.end_landings) {
    const PayloadStep& s = program.steps[e.jump];
    // isdataat:!N,relative after the jump (Walk): the cursor is at most len (else the jump
    // failed) and cursor + N > len.
    const int64_t lowest = std::max<int64_t>(len - e.bytes + 1, 0);
    if (s.post_offset.var >= 0) continue;
    const int64_t post = s.post_offset.set ? s.post_offset.value : 0;
    if (!s.relative) {
      // Reads at a fixed place: evaluated as the walk would.
      if (s.offset.var >= 0) continue;
      const int64_t pos = s.offset.value - origin;
      auto n = ReadNumber(data, len, pos, s.format);
      if (!n) return false;
      const int64_t target = JumpTarget(s, *n, pos, len, origin, post);
      if (target > len || target < lowest) return false;
      continue;
    }
    // Read wherever the cursor is: a plain binary number v lands at max(v + base, 0), so v lies in
    // [lowest - base, len - base] (from 0 when lowest is 0: a landing before the buffer's start
    // counts as its start). Some occurrence of v's encoding holds the read.
    if (s.from == PayloadStep::JumpFrom::kAfterRead || s.format.base != 0 || s.format.bytes == 0 ||
        s.format.bytes > 4 || s.bitmask != 0 || s.multiplier != 1 || s.align != 0) {
      continue;
    }
    const int64_t base = (s.from == PayloadStep::JumpFrom::kBeginning ? -origin : len) + post;
    const int64_t largest = (int64_t(1) << (8 * s.format.bytes)) - 1;
    const int64_t lo = std::max<int64_t>(lowest == 0 ? 0 : lowest - base, 0);
    const int64_t hi = std::min(len - base, largest);
    if (lo > hi) return false;
    if (hi - lo >= kMaxEndLandingValues) continue;
    bool found = false;
    for (int64_t v = lo; v <= hi && !found; ++v) {
      uint8_t needle[4];
      for (int k = 0; k < s.format.bytes; ++k) {
        const int shift = 8 * (s.format.little ? k : s.format.bytes - 1 - k);
        needle[k] = uint8_t(uint64_t(v) >> shift);
      }
      found = memmem(data, size_t(len), needle, s.format.bytes) != nullptr;
    }
    if (!found) return false;
  }
  return true;
}

bool PrefixBeforePcreHolds(const RuleProgram& program, const MatchInput& in) {
  const BufferSegment& seg = program.segments.front();
  if (program.payload_pcre_at <= seg.begin || program.payload_pcre_at >= seg.end) return true;
  // Any match of the whole walk is, cut at its first pcre, a match of these steps: walked as on
  // a packet (a stream chunk's min_end may be met by the pcre), and a walk that ran out of
  // searches rejects nothing.
  MatchInput sub = in;
  sub.min_end = 0;
  Walk walk(program, sub, {seg.buffer, seg.begin, program.payload_pcre_at});
  return walk.From(seg.begin, 0, 0) == Walk::Outcome::kMatch || walk.exhausted();
}

base::Status AttachRegexPrefilter(RuleProgram& program, DatabaseCache* cache) {
  if (!program.prefilter_expression || program.prefilter) return {};
  auto prefilter = RegexPrefilter::Build(*program.prefilter_expression, cache);
  if (!prefilter) return prefilter.error();
  program.prefilter = std::move(*prefilter);
  return {};
}

bool RegexPrefilterHolds(const RuleProgram& program, const MatchInput& in, hs_scratch_t* scratch) {
  if (!program.prefilter) return true;
  return program.prefilter->MayMatch(in.data, in.data ? in.len : 0, scratch);
}

bool LiteralsPresent(const RuleProgram& program, const MatchInput& in) {
  for (const BufferSegment& seg : program.segments) {
    for (uint32_t i = seg.begin; i < seg.end; ++i) {
      const PayloadStep& s = program.steps[i];
      if (s.kind != Kind::kContent || s.negated) continue;
      auto occurs = [&](std::string_view b) {
        return FindBytes(reinterpret_cast<const uint8_t*>(b.data()), 0, int64_t(b.size()),
                         s.pattern, s.nocase) >= 0;
      };
      const bool present =
          seg.buffer == kPayloadBuffer
              ? occurs(std::string_view(reinterpret_cast<const char*>(in.data ? in.data : kEmpty),
                                        in.data ? in.len : 0))
              : AnyAppBuffer(in, seg.buffer, occurs);
      if (!present) return false;
    }
  }
  return true;
}

bool RunProgram(const RuleProgram& program, const MatchInput& in) {
  if (program.never_matches) return false;
  for (const PacketTest& t : program.packet_tests) {
    if (!PassesPacketTest(t, in)) return false;
  }
  for (const BufferSegment& seg : program.segments) {
    if (seg.buffer == kPayloadBuffer) {
      Walk walk(program, in, seg);
      if (walk.From(seg.begin, 0, 0) != Walk::Outcome::kMatch) return false;
      continue;
    }
    if (!SegmentHolds(program, in, seg)) return false;
  }
  return true;
}

}  // namespace vigil::detect

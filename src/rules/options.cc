#include "rules/options.h"

#include <cstdio>
#include <type_traits>

namespace vigil::rules {

namespace {

// Bytes printed as themselves inside a quoted content; everything else is printed as |hex| so the
// text never needs an escape (`"`, `;`, `\`, `:` and `|` are special in the rule language).
bool IsPlainContentByte(unsigned char c) {
  return c >= 0x20 && c < 0x7f && c != '"' && c != ';' && c != '\\' && c != '|' && c != ':';
}

void AppendQuotedPattern(std::string& out, std::string_view pattern) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '"';
  bool in_hex = false;
  for (unsigned char c : pattern) {
    if (IsPlainContentByte(c)) {
      if (in_hex) out += '|';
      in_hex = false;
      out += char(c);
    } else {
      if (in_hex) {
        out += ' ';
      } else {
        out += '|';
        in_hex = true;
      }
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (in_hex) out += '|';
  out += '"';
}

// A "quoted" value whose reader turns `\x` into `x` (msg, tls.subject, ...).
void AppendEscaped(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\' || c == ';') out += '\\';
    out += c;
  }
  out += '"';
}

std::string Num(int64_t v) { return std::to_string(v); }

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Text(const IntOrVar& v) { return v.IsVar() ? v.var : Num(v.value); }

std::string_view EndianName(Endian e) {
  switch (e) {
    case Endian::kBig:
      return "big";
    case Endian::kLittle:
      return "little";
    case Endian::kDce:
      return "dce";
    case Endian::kDefault:
      break;
  }
  return "";
}

std::string_view BaseName(ByteString s) {
  switch (s) {
    case ByteString::kHex:
      return "hex";
    case ByteString::kDec:
      return "dec";
    case ByteString::kOct:
      return "oct";
    case ByteString::kNone:
      break;
  }
  return "";
}

std::string_view TrackName(Track t) {
  switch (t) {
    case Track::kBySrc:
      return "by_src";
    case Track::kByDst:
      return "by_dst";
    case Track::kByRule:
      return "by_rule";
    case Track::kByBoth:
      return "by_both";
    case Track::kByEither:
      return "by_either";
    case Track::kByFlow:
      return "by_flow";
  }
  return "?";
}

// The flags shared by byte_test, byte_jump and byte_extract, after their positional values.
void AppendByteFlags(std::string& out, bool relative, Endian endian, ByteString string) {
  if (relative) out += ",relative";
  if (endian != Endian::kDefault) {
    out += ',';
    out += EndianName(endian);
  }
  if (string != ByteString::kNone) {
    out += ",string,";
    out += BaseName(string);
  }
}

void AppendBits(std::string& out, uint8_t bits, std::string_view letters) {
  for (size_t i = 0; i < letters.size(); ++i) {
    if (bits & (1u << i)) out += letters[i];
  }
}

void AppendModifiedBits(std::string& out, uint8_t bits, BitsModifier m, std::string_view letters) {
  if (m == BitsModifier::kNot) out += '!';
  if (m == BitsModifier::kAny) out += '*';
  if (bits == 0) {
    out += '0';
  } else {
    AppendBits(out, bits, letters);
  }
  if (m == BitsModifier::kPlus) out += '+';
}

constexpr std::string_view kTcpLetters = "FSRPAUCE";  // bit order of TcpFlagBits
constexpr std::string_view kFragLetters = "MDR";      // bit order of FragBits

void AppendContent(std::string& out, const ContentOption& c) {
  out += "content:";
  if (c.negated) out += '!';
  AppendQuotedPattern(out, c.pattern);
  // Snort 2 has no spelling for a fast-pattern slice without fast_pattern, or for only one half of
  // it; Snort 3's content sub-options do, so those rare shapes use them.
  bool fp_pair = c.fast_pattern && !c.fast_pattern_only && c.fast_pattern_offset.has_value() &&
                 c.fast_pattern_length.has_value();
  if (!fp_pair) {
    if (c.fast_pattern_offset)
      out += ",fast_pattern_offset " + std::to_string(*c.fast_pattern_offset);
    if (c.fast_pattern_length)
      out += ",fast_pattern_length " + std::to_string(*c.fast_pattern_length);
  }
  if (c.nocase) out += "; nocase";
  if (c.rawbytes) out += "; rawbytes";
  auto number = [&](std::string_view name, const std::optional<int32_t>& v,
                    const std::string& var) {
    if (v) {
      out += "; ";
      out += name;
      out += ':' + std::to_string(*v);
    } else if (!var.empty()) {
      out += "; ";
      out += name;
      out += ':' + var;
    }
  };
  number("offset", c.offset, c.offset_var);
  number("depth", c.depth, c.depth_var);
  number("distance", c.distance, c.distance_var);
  number("within", c.within, c.within_var);
  if (c.startswith) out += "; startswith";
  if (c.endswith) out += "; endswith";
  if (c.fast_pattern_only) {
    out += "; fast_pattern:only";
  } else if (fp_pair) {
    out += "; fast_pattern:" + std::to_string(*c.fast_pattern_offset) + "," +
           std::to_string(*c.fast_pattern_length);
  } else if (c.fast_pattern) {
    out += "; fast_pattern";
  }
}

std::string Print(const ContentOption& c) {
  std::string out;
  AppendContent(out, c);
  return out;
}

std::string Print(const PcreOption& p) {
  std::string out = "pcre:";
  if (p.negated) out += '!';
  out += "\"/" + p.regex + "/" + p.flags + "\"";
  return out;
}

std::string Print(const FlowOption& f) {
  std::string out;
  auto word = [&](std::string_view w) {
    if (!out.empty()) out += ',';
    out += w;
  };
  switch (f.state) {
    case FlowOption::State::kEstablished:
      word("established");
      break;
    case FlowOption::State::kNotEstablished:
      word("not_established");
      break;
    case FlowOption::State::kStateless:
      word("stateless");
      break;
    case FlowOption::State::kAny:
      break;
  }
  if (f.direction == FlowOption::Direction::kToServer) word("to_server");
  if (f.direction == FlowOption::Direction::kToClient) word("to_client");
  if (f.stream == FlowOption::Stream::kOnlyStream) word("only_stream");
  if (f.stream == FlowOption::Stream::kNoStream) word("no_stream");
  if (f.frag == FlowOption::Frag::kOnlyFrag) word("only_frag");
  if (f.frag == FlowOption::Frag::kNoFrag) word("no_frag");
  return out.empty() ? "flow" : "flow:" + out;
}

std::string Print(const FlowbitsOption& f) {
  static constexpr std::string_view kNames[] = {"set",   "setx",     "unset",   "toggle",
                                                "isset", "isnotset", "noalert", "reset"};
  std::string out = "flowbits:";
  out += kNames[size_t(f.command)];
  if (!f.names.empty()) {
    out += ',';
    for (size_t i = 0; i < f.names.size(); ++i) {
      if (i > 0) out += f.join == FlowbitsOption::Join::kOr ? '|' : '&';
      out += f.names[i];
    }
  }
  if (!f.group.empty()) out += ',' + f.group;
  return out;
}

std::string Print(const FlowintOption& f) {
  static constexpr std::string_view kOps[] = {"+",  "-", "=",  "==",    "!=",    "<",
                                              "<=", ">", ">=", "isset", "notset"};
  std::string out = "flowint:" + f.name + ",";
  out += kOps[size_t(f.op)];
  if (f.op != FlowintOption::Op::kIsset && f.op != FlowintOption::Op::kNotset) {
    out += "," + Text(f.value);
  }
  return out;
}

std::string Print(const XbitsOption& x) {
  static constexpr std::string_view kCommands[] = {"set", "unset", "toggle", "isset", "isnotset"};
  static constexpr std::string_view kTracks[] = {"ip_src", "ip_dst", "ip_pair", "tx"};
  std::string out = "xbits:";
  out += kCommands[size_t(x.command)];
  out += "," + x.name + ",track ";
  out += kTracks[size_t(x.track)];
  if (x.expire) out += ",expire " + Num(*x.expire);
  return out;
}

std::string Print(const ThresholdOption& t) {
  static constexpr std::string_view kTypes[] = {"limit", "threshold", "both", "backoff"};
  std::string out = t.detection_filter ? "detection_filter:" : "threshold:type ";
  if (!t.detection_filter) {
    out += kTypes[size_t(t.type)];
    out += ',';
  }
  out += "track ";
  out += TrackName(t.track);
  out += ",count " + Num(t.count);
  out += t.type == ThresholdOption::Type::kBackoff && !t.detection_filter
             ? ",multiplier " + Num(t.multiplier)
             : ",seconds " + Num(t.seconds);
  return out;
}

std::string Print(const TagOption& t) {
  static constexpr std::string_view kMetrics[] = {"packets", "seconds", "bytes"};
  std::string out = t.type == TagOption::Type::kSession ? "tag:session" : "tag:host";
  if (t.count) {
    out += "," + Num(*t.count) + ",";
    out += kMetrics[size_t(t.metric)];
  }
  if (t.direction == TagOption::Direction::kSrc) out += ",src";
  if (t.direction == TagOption::Direction::kDst) out += ",dst";
  return out;
}

std::string Print(const ByteTestOption& t) {
  static constexpr std::string_view kOps[] = {"<", ">", "<=", ">=", "=", "&", "^"};
  std::string out = "byte_test:" + Num(t.bytes) + ",";
  if (t.negated) out += '!';
  out += kOps[size_t(t.op)];
  out += "," + Text(t.value) + "," + Text(t.offset);
  AppendByteFlags(out, t.relative, t.endian, t.string);
  if (t.bitmask) out += ",bitmask " + Hex(*t.bitmask);
  return out;
}

std::string Print(const ByteJumpOption& j) {
  std::string out = "byte_jump:" + Num(j.bytes) + "," + Text(j.offset);
  if (j.relative) out += ",relative";
  if (j.multiplier) out += ",multiplier " + Num(*j.multiplier);
  AppendByteFlags(out, false, j.endian, j.string);
  if (j.align) out += ",align";
  if (j.from_beginning) out += ",from_beginning";
  if (j.from_end) out += ",from_end";
  if (j.post_offset) out += ",post_offset " + Text(*j.post_offset);
  if (j.bitmask) out += ",bitmask " + Hex(*j.bitmask);
  return out;
}

std::string Print(const ByteExtractOption& e) {
  std::string out = "byte_extract:" + Num(e.bytes) + "," + Num(e.offset) + "," + e.name;
  if (e.relative) out += ",relative";
  if (e.multiplier) out += ",multiplier " + Num(*e.multiplier);
  AppendByteFlags(out, false, e.endian, e.string);
  if (e.align) out += ",align " + Num(*e.align);
  if (e.bitmask) out += ",bitmask " + Hex(*e.bitmask);
  return out;
}

std::string Print(const ByteMathOption& m) {
  static constexpr std::string_view kOps[] = {"+", "-", "*", "/", "<<", ">>"};
  std::string out = "byte_math:bytes " + Num(m.bytes) + ",offset " + Text(m.offset) + ",oper ";
  out += kOps[size_t(m.op)];
  out += ",rvalue " + Text(m.rvalue) + ",result " + m.result;
  if (m.relative) out += ",relative";
  if (m.endian == Endian::kDce) {
    out += ",dce";
  } else if (m.endian != Endian::kDefault) {
    out += ",endian ";
    out += EndianName(m.endian);
  }
  if (m.string != ByteString::kNone) {
    out += ",string ";
    out += BaseName(m.string);
  }
  if (m.bitmask) out += ",bitmask " + Hex(*m.bitmask);
  return out;
}

std::string Print(const IsDataAtOption& d) {
  std::string out = "isdataat:";
  if (d.negated) out += '!';
  out += Text(d.offset);
  if (d.relative) out += ",relative";
  if (d.rawbytes) out += ",rawbytes";
  return out;
}

std::string Print(const NumericOption& n) {
  return std::string(NumericFieldName(n.field)) + ":" + ToText(n.test);
}

std::string Print(const UrilenOption& u) {
  std::string out = "urilen:" + ToText(u.test);
  if (u.form == UrilenOption::Form::kNorm) out += ",norm";
  if (u.form == UrilenOption::Form::kRaw) out += ",raw";
  return out;
}

std::string Print(const StreamSizeOption& s) {
  static constexpr std::string_view kSides[] = {"client", "server", "both", "either"};
  static constexpr std::string_view kOps[] = {"=", "!=", "<", "<=", ">", ">="};
  std::string out = "stream_size:";
  out += kSides[size_t(s.side)];
  out += ',';
  out += kOps[size_t(s.op)];
  out += "," + Num(s.value);
  return out;
}

std::string Print(const FlagsOption& f) {
  std::string out = "flags:";
  AppendModifiedBits(out, f.flags, f.modifier, kTcpLetters);
  if (f.ignore != 0) {
    out += ',';
    AppendBits(out, f.ignore, kTcpLetters);
  }
  return out;
}

std::string Print(const FragbitsOption& f) {
  std::string out = "fragbits:";
  AppendModifiedBits(out, f.bits, f.modifier, kFragLetters);
  return out;
}

std::string Print(const IpoptsOption& o) { return "ipopts:" + o.option; }

std::string FlagName(FlagOption::Kind k) {
  switch (k) {
    case FlagOption::Kind::kSameip:
      return "sameip";
    case FlagOption::Kind::kFtpbounce:
      return "ftpbounce";
    case FlagOption::Kind::kNoalert:
      return "noalert";
  }
  return "?";
}

std::string Print(const FlagOption& f) { return FlagName(f.kind); }

std::string EventName(EventOption::Kind k) {
  switch (k) {
    case EventOption::Kind::kAppLayer:
      return "app-layer-event";
    case EventOption::Kind::kDecode:
      return "decode-event";
    case EventOption::Kind::kStream:
      return "stream-event";
    case EventOption::Kind::kEngine:
      return "engine-event";
  }
  return "?";
}

std::string Print(const EventOption& e) {
  return EventName(e.kind) + ":" + (e.negated ? "!" : "") + e.name;
}

std::string Print(const AppLayerProtocolOption& a) {
  return std::string("app-layer-protocol:") + (a.negated ? "!" : "") + a.protocol;
}

std::string Print(const Base64DecodeOption& d) {
  std::string args;
  auto add = [&](const std::string& s) {
    if (!args.empty()) args += ',';
    args += s;
  };
  if (d.bytes) add("bytes " + Num(*d.bytes));
  if (d.offset) add("offset " + Num(*d.offset));
  if (d.relative) add("relative");
  return args.empty() ? "base64_decode" : "base64_decode:" + args;
}

std::string Print(const Asn1Option& a) {
  std::string args;
  auto add = [&](const std::string& s) {
    if (!args.empty()) args += ',';
    args += s;
  };
  if (a.bitstring_overflow) add("bitstring_overflow");
  if (a.double_overflow) add("double_overflow");
  if (a.oversize_length) add("oversize_length " + Num(*a.oversize_length));
  if (a.absolute_offset) add("absolute_offset " + Num(*a.absolute_offset));
  if (a.relative_offset) add("relative_offset " + Num(*a.relative_offset));
  return "asn1:" + args;
}

std::string Print(const BerOption& b) {
  return std::string(b.skip ? "ber_skip:" : "ber_data:") + Hex(b.type) +
         (b.optional ? ",optional" : "");
}

std::string Print(const DceIfaceOption& d) {
  std::string out = "dce_iface:" + d.uuid;
  if (d.version) out += "," + ToText(*d.version);
  if (d.any_frag) out += ",any_frag";
  return out;
}

std::string Print(const DceOpnumOption& d) {
  std::string out = "dce_opnum:";
  for (size_t i = 0; i < d.ranges.size(); ++i) {
    if (i > 0) out += ',';
    out += Num(d.ranges[i].lo);
    if (d.ranges[i].hi != d.ranges[i].lo) out += "-" + Num(d.ranges[i].hi);
  }
  return out;
}

std::string Print(const SslOption& s) {
  std::string out = s.version ? "ssl_version:" : "ssl_state:";
  for (size_t i = 0; i < s.items.size(); ++i) {
    if (i > 0) out += ',';
    if (s.items[i].negated) out += '!';
    out += s.items[i].name;
  }
  return out;
}

std::string Print(const SipOption& s) {
  std::string out = s.stat_code ? "sip_stat_code:" : "sip_method:";
  if (s.negated) out += '!';
  for (size_t i = 0; i < s.values.size(); ++i) {
    if (i > 0) out += ',';
    out += s.values[i];
  }
  return out;
}

std::string TlsName(TlsOption::Field f) {
  switch (f) {
    case TlsOption::Field::kVersion:
      return "tls.version";
    case TlsOption::Field::kFingerprint:
      return "tls.fingerprint";
    case TlsOption::Field::kSubject:
      return "tls.subject";
    case TlsOption::Field::kIssuer:
      return "tls.issuerdn";
  }
  return "?";
}

std::string Print(const TlsOption& t) {
  std::string out = TlsName(t.field) + ":";
  if (t.field == TlsOption::Field::kVersion) return out + t.value;
  if (t.negated) out += '!';
  AppendEscaped(out, t.value);
  return out;
}

std::string Print(const TransformOption& t) {
  return t.argument.empty() ? t.name : t.name + ":" + t.argument;
}

std::string Print(const OtherOption& o) {
  return o.has_value ? o.keyword + ":" + o.value : o.keyword;
}

}  // namespace

std::string_view NumericFieldName(NumericField field) {
  switch (field) {
    case NumericField::kDsize:
      return "dsize";
    case NumericField::kBsize:
      return "bsize";
    case NumericField::kBufferlen:
      return "bufferlen";
    case NumericField::kTtl:
      return "ttl";
    case NumericField::kTos:
      return "tos";
    case NumericField::kId:
      return "id";
    case NumericField::kFragoffset:
      return "fragoffset";
    case NumericField::kIpProto:
      return "ip_proto";
    case NumericField::kSeq:
      return "seq";
    case NumericField::kAck:
      return "ack";
    case NumericField::kWindow:
      return "window";
    case NumericField::kItype:
      return "itype";
    case NumericField::kIcode:
      return "icode";
    case NumericField::kIcmpId:
      return "icmp_id";
    case NumericField::kIcmpSeq:
      return "icmp_seq";
  }
  return "?";
}

std::string ToText(const NumberTest& t) {
  switch (t.op) {
    case NumberTest::Op::kEq:
      return Num(t.lo);
    case NumberTest::Op::kNe:
      return "!" + Num(t.lo);
    case NumberTest::Op::kLt:
      return "<" + Num(t.lo);
    case NumberTest::Op::kLe:
      return "<=" + Num(t.lo);
    case NumberTest::Op::kGt:
      return ">" + Num(t.lo);
    case NumberTest::Op::kGe:
      return ">=" + Num(t.lo);
    case NumberTest::Op::kRange:
      return Num(t.lo) + "<>" + Num(t.hi);
    case NumberTest::Op::kRangeInclusive:
      return Num(t.lo) + "<=>" + Num(t.hi);
    case NumberTest::Op::kDashRange:
      return Num(t.lo) + "-" + Num(t.hi);
  }
  return "?";
}

std::string ToText(const Option& option) {
  return std::visit([](const auto& o) { return Print(o); }, option);
}

std::string OptionKeyword(const Option& option) {
  return std::visit(
      [](const auto& o) -> std::string {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, ContentOption>) return "content";
        if constexpr (std::is_same_v<T, PcreOption>) return "pcre";
        if constexpr (std::is_same_v<T, FlowOption>) return "flow";
        if constexpr (std::is_same_v<T, FlowbitsOption>) return "flowbits";
        if constexpr (std::is_same_v<T, FlowintOption>) return "flowint";
        if constexpr (std::is_same_v<T, XbitsOption>) return "xbits";
        if constexpr (std::is_same_v<T, ThresholdOption>) {
          return o.detection_filter ? "detection_filter" : "threshold";
        }
        if constexpr (std::is_same_v<T, TagOption>) return "tag";
        if constexpr (std::is_same_v<T, ByteTestOption>) return "byte_test";
        if constexpr (std::is_same_v<T, ByteJumpOption>) return "byte_jump";
        if constexpr (std::is_same_v<T, ByteExtractOption>) return "byte_extract";
        if constexpr (std::is_same_v<T, ByteMathOption>) return "byte_math";
        if constexpr (std::is_same_v<T, IsDataAtOption>) return "isdataat";
        if constexpr (std::is_same_v<T, NumericOption>) {
          return std::string(NumericFieldName(o.field));
        }
        if constexpr (std::is_same_v<T, UrilenOption>) return "urilen";
        if constexpr (std::is_same_v<T, StreamSizeOption>) return "stream_size";
        if constexpr (std::is_same_v<T, FlagsOption>) return "flags";
        if constexpr (std::is_same_v<T, FragbitsOption>) return "fragbits";
        if constexpr (std::is_same_v<T, IpoptsOption>) return "ipopts";
        if constexpr (std::is_same_v<T, FlagOption>) return FlagName(o.kind);
        if constexpr (std::is_same_v<T, EventOption>) return EventName(o.kind);
        if constexpr (std::is_same_v<T, AppLayerProtocolOption>) return "app-layer-protocol";
        if constexpr (std::is_same_v<T, Base64DecodeOption>) return "base64_decode";
        if constexpr (std::is_same_v<T, Asn1Option>) return "asn1";
        if constexpr (std::is_same_v<T, BerOption>) return o.skip ? "ber_skip" : "ber_data";
        if constexpr (std::is_same_v<T, DceIfaceOption>) return "dce_iface";
        if constexpr (std::is_same_v<T, DceOpnumOption>) return "dce_opnum";
        if constexpr (std::is_same_v<T, SslOption>) return o.version ? "ssl_version" : "ssl_state";
        if constexpr (std::is_same_v<T, SipOption>) {
          return o.stat_code ? "sip_stat_code" : "sip_method";
        }
        if constexpr (std::is_same_v<T, TlsOption>) return TlsName(o.field);
        if constexpr (std::is_same_v<T, TransformOption>) return o.name;
        if constexpr (std::is_same_v<T, OtherOption>) return o.keyword;
      },
      option);
}

const std::string* OptionBuffer(const Option& option) {
  return std::visit(
      [](const auto& o) -> const std::string* {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, NumericOption>) {
          bool sized = o.field == NumericField::kBsize || o.field == NumericField::kBufferlen;
          return sized ? &o.buffer : nullptr;
        } else if constexpr (requires { o.buffer; }) {
          return &o.buffer;
        } else {
          return nullptr;
        }
      },
      option);
}

}  // namespace vigil::rules

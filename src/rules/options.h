// Rule options: one typed struct per detection keyword of Snort 2.9, Snort 3 and Suricata that the
// shipped rulesets use (content, pcre, flow, flowbits, byte_test, ...), held in rule order in
// Rule::options (rule.h). The parser (parser.h) validates every argument while building them and
// ToText (rule.h) prints each back in one canonical spelling that parses to an equal struct.
//
//   const Rule& r = ...;
//   for (const Option& o : r.options) {
//     if (const auto* pcre = std::get_if<PcreOption>(&o)) Use(pcre->regex, pcre->flags);
//   }
//
// Parsing is not evaluating: which options the detector can evaluate is decided in
// detect/support.h, not here.
//
// Buffers. An option that inspects a buffer (content, pcre, isdataat, byte_*, bsize, ...) names it
// in its `buffer` member with the canonical Suricata spelling ("http.uri", "file.data",
// "dns.query", ...); "" is the packet payload (pkt_data). The parser fills it from either style:
// a Snort 2 / Suricata content modifier (`content:"x"; http_uri;`) or a sticky buffer that holds
// for the options after it (Snort 3 `http_uri; content:"x";`, Suricata `http.uri; content:"x";`).
// ToText prints sticky buffers only, so the canonical text never depends on the dialect.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vigil::rules {

// A number, or the name of a byte_extract / byte_math variable defined earlier in the rule.
struct IntOrVar {
  int64_t value = 0;
  std::string var;  // non-empty: the variable's name, and `value` is unused

  [[nodiscard]] bool IsVar() const { return !var.empty(); }
  friend bool operator==(const IntOrVar&, const IntOrVar&) = default;
};

// A numeric comparison (dsize, bsize, urilen, ttl, itype, ip_proto, ...). Written `N`, `=N`,
// `!N`, `<N`, `<=N`, `>N`, `>=N`, `lo<>hi`, `lo<=>hi` or `lo-hi`; each dialect gives the range
// forms its own bounds, so the form is kept as written.
struct NumberTest {
  enum class Op : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kRange, kRangeInclusive, kDashRange };
  Op op = Op::kEq;
  int64_t lo = 0;  // the value for the single-value forms
  int64_t hi = 0;  // range forms only

  friend bool operator==(const NumberTest&, const NumberTest&) = default;
};

// content:"..." and its modifiers. Offsets are as written (negative offsets are allowed by Snort
// for distance). A modifier given as a byte_extract / byte_math variable leaves its number unset
// and names the variable in the matching *_var member.
struct ContentOption {
  std::string pattern;  // raw bytes, |hex| and escapes decoded
  bool negated = false;
  bool nocase = false;
  bool rawbytes = false;
  std::optional<int32_t> offset;
  std::optional<int32_t> depth;
  std::optional<int32_t> distance;
  std::optional<int32_t> within;
  std::string offset_var;
  std::string depth_var;
  std::string distance_var;
  std::string within_var;
  bool fast_pattern = false;
  bool fast_pattern_only = false;
  // fast_pattern:offset,length (Snort 2, Suricata) or Snort 3's fast_pattern_offset /
  // fast_pattern_length: only this slice of the pattern goes to the fast-pattern scan.
  std::optional<int32_t> fast_pattern_offset;
  std::optional<int32_t> fast_pattern_length;
  bool startswith = false;  // Suricata: the content starts the buffer
  bool endswith = false;    // Suricata: the content ends the buffer
  std::string buffer;

  [[nodiscard]] bool IsRelative() const {
    return distance.has_value() || within.has_value() || !distance_var.empty() ||
           !within_var.empty();
  }
  [[nodiscard]] bool HasVariable() const {
    return !offset_var.empty() || !depth_var.empty() || !distance_var.empty() ||
           !within_var.empty();
  }

  friend bool operator==(const ContentOption&, const ContentOption&) = default;
};

// pcre:[!]"/regex/flags". `regex` is the text between the slashes exactly as written (escapes
// kept); `flags` the modifier letters as written, each checked and given once: i s m x A E G R
// (PCRE and relative), B O (rawbytes, match-limit override), and the HTTP buffer letters
// U I P Q H D M C K S Y V W Z, which set `buffer` (U http.uri, I http.uri.raw,
// P http.request_body, Q http.response_body, H http.header, D http.header.raw, M http.method,
// C http.cookie, K http.cookie.raw, S http.stat_code, Y http.stat_msg, V http.user_agent,
// W http.host, Z http.host.raw).
struct PcreOption {
  std::string regex;
  std::string flags;
  bool negated = false;
  std::string buffer;

  [[nodiscard]] bool HasFlag(char f) const { return flags.find(f) != std::string::npos; }
  friend bool operator==(const PcreOption&, const PcreOption&) = default;
};

// flow:established,to_server,... (from_server is to_client, from_client is to_server).
struct FlowOption {
  enum class Direction : uint8_t { kAny, kToServer, kToClient };
  enum class State : uint8_t { kAny, kEstablished, kNotEstablished, kStateless };
  enum class Stream : uint8_t { kAny, kOnlyStream, kNoStream };
  enum class Frag : uint8_t { kAny, kOnlyFrag, kNoFrag };
  Direction direction = Direction::kAny;
  State state = State::kAny;
  Stream stream = Stream::kAny;
  Frag frag = Frag::kAny;

  friend bool operator==(const FlowOption&, const FlowOption&) = default;
};

// flowbits:command[,name[|name...|&name...]][,group].
struct FlowbitsOption {
  enum class Command : uint8_t {
    kSet,
    kSetx,
    kUnset,
    kToggle,
    kIsset,
    kIsnotset,
    kNoalert,
    kReset
  };
  enum class Join : uint8_t { kOne, kAnd, kOr };  // how `names` combine: '&' or '|'
  Command command = Command::kSet;
  std::vector<std::string> names;
  Join join = Join::kOne;
  std::string group;  // Snort 2's optional group name

  friend bool operator==(const FlowbitsOption&, const FlowbitsOption&) = default;
};

// Suricata flowint:name,operator[,value].
struct FlowintOption {
  enum class Op : uint8_t { kAdd, kSub, kAssign, kEq, kNe, kLt, kLe, kGt, kGe, kIsset, kNotset };
  std::string name;
  Op op = Op::kAdd;
  IntOrVar value;  // a number or another flowint's name; unused for isset / notset

  friend bool operator==(const FlowintOption&, const FlowintOption&) = default;
};

// Suricata xbits:command,name,track ip_src|ip_dst|ip_pair[,expire N].
struct XbitsOption {
  enum class Command : uint8_t { kSet, kUnset, kToggle, kIsset, kIsnotset };
  enum class Track : uint8_t { kIpSrc, kIpDst, kIpPair, kTx };
  Command command = Command::kSet;
  std::string name;
  Track track = Track::kIpSrc;
  std::optional<uint32_t> expire;

  friend bool operator==(const XbitsOption&, const XbitsOption&) = default;
};

// Who an event counter is kept for (threshold, detection_filter, threshold.config).
// by_flow (Suricata): one counter per flow.
enum class Track : uint8_t { kBySrc, kByDst, kByRule, kByBoth, kByEither, kByFlow };

// threshold:type T,track K,count N,seconds S and detection_filter:track K,count N,seconds S;
// Suricata's threshold:type backoff,track K,count N,multiplier M (no seconds: alerts on the
// N-th match, then the N*M-th, N*M*M-th, ...).
struct ThresholdOption {
  enum class Type : uint8_t { kLimit, kThreshold, kBoth, kBackoff };
  bool detection_filter = false;  // detection_filter has no type
  Type type = Type::kLimit;
  Track track = Track::kBySrc;
  uint32_t count = 0;
  uint32_t seconds = 0;
  uint32_t multiplier = 0;  // backoff only

  friend bool operator==(const ThresholdOption&, const ThresholdOption&) = default;
};

// tag:session|host[,count,packets|seconds|bytes[,src|dst]] (Snort 3: `session,packets 5`).
struct TagOption {
  enum class Type : uint8_t { kSession, kHost };
  enum class Metric : uint8_t { kPackets, kSeconds, kBytes };
  enum class Direction : uint8_t { kNone, kSrc, kDst };
  Type type = Type::kSession;
  std::optional<uint32_t> count;  // with `metric`; unset for a bare `tag:session`
  Metric metric = Metric::kPackets;
  Direction direction = Direction::kNone;

  friend bool operator==(const TagOption&, const TagOption&) = default;
};

// How byte_* options read a number.
enum class Endian : uint8_t { kDefault, kBig, kLittle, kDce };  // kDce: the DCE/RPC byte order
enum class ByteString : uint8_t { kNone, kHex, kDec, kOct };    // `string,hex` ...

// byte_test:bytes,[!]op,value,offset[,relative][,big|little|dce][,string,hex|dec|oct]
//           [,bitmask M]
struct ByteTestOption {
  enum class Op : uint8_t { kLt, kGt, kLe, kGe, kEq, kAnd, kXor };
  uint8_t bytes = 0;
  bool negated = false;
  Op op = Op::kEq;
  IntOrVar value;
  IntOrVar offset;
  bool relative = false;
  Endian endian = Endian::kDefault;
  ByteString string = ByteString::kNone;
  std::optional<uint64_t> bitmask;
  std::string buffer;

  friend bool operator==(const ByteTestOption&, const ByteTestOption&) = default;
};

// byte_jump:bytes,offset[,relative][,multiplier N][,big|little|dce][,string,base][,align]
//           [,from_beginning|from_end][,post_offset N][,bitmask M]
struct ByteJumpOption {
  uint8_t bytes = 0;
  IntOrVar offset;
  bool relative = false;
  std::optional<uint32_t> multiplier;
  Endian endian = Endian::kDefault;
  ByteString string = ByteString::kNone;
  bool align = false;
  bool from_beginning = false;
  bool from_end = false;
  std::optional<IntOrVar> post_offset;
  std::optional<uint64_t> bitmask;
  std::string buffer;

  friend bool operator==(const ByteJumpOption&, const ByteJumpOption&) = default;
};

// byte_extract:bytes,offset,name[,relative][,multiplier N][,big|little|dce][,string,base]
//              [,align N][,bitmask M]
struct ByteExtractOption {
  uint8_t bytes = 0;
  int32_t offset = 0;
  std::string name;
  bool relative = false;
  std::optional<uint32_t> multiplier;
  Endian endian = Endian::kDefault;
  ByteString string = ByteString::kNone;
  std::optional<uint8_t> align;  // 2 or 4
  std::optional<uint64_t> bitmask;
  std::string buffer;

  friend bool operator==(const ByteExtractOption&, const ByteExtractOption&) = default;
};

// byte_math:bytes N,offset N,oper OP,rvalue V,result NAME[,relative][,endian big|little]
//           [,dce][,string base][,bitmask M]
struct ByteMathOption {
  enum class Op : uint8_t { kAdd, kSub, kMul, kDiv, kShl, kShr };
  uint8_t bytes = 0;
  IntOrVar offset;
  Op op = Op::kAdd;
  IntOrVar rvalue;
  std::string result;
  bool relative = false;
  Endian endian = Endian::kDefault;
  ByteString string = ByteString::kNone;
  std::optional<uint64_t> bitmask;
  std::string buffer;

  friend bool operator==(const ByteMathOption&, const ByteMathOption&) = default;
};

// isdataat:[!]offset[,relative][,rawbytes]
struct IsDataAtOption {
  bool negated = false;
  IntOrVar offset;
  bool relative = false;
  bool rawbytes = false;
  std::string buffer;

  friend bool operator==(const IsDataAtOption&, const IsDataAtOption&) = default;
};

// The keywords that compare one number of the packet, the flow or the buffer.
enum class NumericField : uint8_t {
  kDsize,      // payload size
  kBsize,      // Suricata: size of the current buffer
  kBufferlen,  // Snort 3: size of the current buffer
  kTtl,
  kTos,
  kId,  // IP identification
  kFragoffset,
  kIpProto,
  kSeq,
  kAck,
  kWindow,
  kItype,
  kIcode,
  kIcmpId,
  kIcmpSeq,
};
[[nodiscard]] std::string_view NumericFieldName(NumericField field);

struct NumericOption {
  NumericField field = NumericField::kDsize;
  NumberTest test;
  std::string buffer;  // bsize / bufferlen only

  friend bool operator==(const NumericOption&, const NumericOption&) = default;
};

// urilen:test[,norm|raw]
struct UrilenOption {
  enum class Form : uint8_t { kDefault, kNorm, kRaw };
  NumberTest test;
  Form form = Form::kDefault;

  friend bool operator==(const UrilenOption&, const UrilenOption&) = default;
};

// stream_size:client|server|both|either,op,N
struct StreamSizeOption {
  enum class Side : uint8_t { kClient, kServer, kBoth, kEither };
  Side side = Side::kClient;
  NumberTest::Op op = NumberTest::Op::kEq;  // kEq kNe kLt kLe kGt kGe
  uint32_t value = 0;

  friend bool operator==(const StreamSizeOption&, const StreamSizeOption&) = default;
};

// TCP flag letters as bits, in the order ToText prints them: F S R P A U C E ('1' is C, '2' E).
enum TcpFlagBits : uint8_t {
  kTcpFin = 1,
  kTcpSyn = 2,
  kTcpRst = 4,
  kTcpPsh = 8,
  kTcpAck = 16,
  kTcpUrg = 32,
  kTcpCwr = 64,
  kTcpEce = 128,
};
// How a bit set is compared: exactly these (kNone), these and maybe others (+), any of these (*),
// none of these (!).
enum class BitsModifier : uint8_t { kNone, kPlus, kAny, kNot };

// flags:[!*+]FLAGS[+][,MASK] ("0" is no flag set; MASK lists flags to ignore).
struct FlagsOption {
  uint8_t flags = 0;
  BitsModifier modifier = BitsModifier::kNone;
  uint8_t ignore = 0;

  friend bool operator==(const FlagsOption&, const FlagsOption&) = default;
};

// fragbits:[!*+]MDR[+] (M more fragments, D don't fragment, R reserved).
enum FragBits : uint8_t { kFragMore = 1, kFragDont = 2, kFragReserved = 4 };
struct FragbitsOption {
  uint8_t bits = 0;
  BitsModifier modifier = BitsModifier::kNone;

  friend bool operator==(const FragbitsOption&, const FragbitsOption&) = default;
};

// ipopts:rr|eol|nop|ts|sec|esec|lsrr|lsrre|ssrr|satid|any
struct IpoptsOption {
  std::string option;  // one of the names above, lowercase

  friend bool operator==(const IpoptsOption&, const IpoptsOption&) = default;
};

// Keywords without arguments: sameip, ftpbounce, noalert (Suricata), dce_stub_data is a buffer.
struct FlagOption {
  enum class Kind : uint8_t { kSameip, kFtpbounce, kNoalert };
  Kind kind = Kind::kSameip;

  friend bool operator==(const FlagOption&, const FlagOption&) = default;
};

// app-layer-event:NAME, decode-event:NAME, stream-event:NAME, engine-event:NAME (Suricata).
struct EventOption {
  enum class Kind : uint8_t { kAppLayer, kDecode, kStream, kEngine };
  Kind kind = Kind::kAppLayer;
  bool negated = false;
  std::string name;  // e.g. "http.invalid_transfer_encoding_value_in_request"

  friend bool operator==(const EventOption&, const EventOption&) = default;
};

// app-layer-protocol:[!]NAME (Suricata).
struct AppLayerProtocolOption {
  bool negated = false;
  std::string protocol;

  friend bool operator==(const AppLayerProtocolOption&, const AppLayerProtocolOption&) = default;
};

// base64_decode[:bytes N][,offset N][,relative]; the decoded data is the base64_data buffer.
struct Base64DecodeOption {
  std::optional<uint32_t> bytes;
  std::optional<uint32_t> offset;
  bool relative = false;
  std::string buffer;

  friend bool operator==(const Base64DecodeOption&, const Base64DecodeOption&) = default;
};

// asn1:bitstring_overflow,double_overflow,oversize_length N,absolute_offset N|relative_offset N
struct Asn1Option {
  bool bitstring_overflow = false;
  bool double_overflow = false;
  std::optional<uint32_t> oversize_length;
  std::optional<int32_t> absolute_offset;
  std::optional<int32_t> relative_offset;

  friend bool operator==(const Asn1Option&, const Asn1Option&) = default;
};

// Snort 3 ber_data:TYPE and ber_skip:TYPE[,optional] (Basic Encoding Rules elements).
struct BerOption {
  bool skip = false;  // ber_skip; else ber_data
  uint32_t type = 0;
  bool optional = false;  // ber_skip only

  friend bool operator==(const BerOption&, const BerOption&) = default;
};

// dce_iface:[uuid ]UUID[,version test][,any_frag] (DCE/RPC interface).
struct DceIfaceOption {
  std::string uuid;  // lowercase 8-4-4-4-12 hex
  std::optional<NumberTest> version;
  bool any_frag = false;

  friend bool operator==(const DceIfaceOption&, const DceIfaceOption&) = default;
};

// dce_opnum:N[-M][,...] (DCE/RPC operation numbers).
struct DceOpnumOption {
  struct Range {
    uint16_t lo = 0;
    uint16_t hi = 0;
    friend bool operator==(const Range&, const Range&) = default;
  };
  std::vector<Range> ranges;

  friend bool operator==(const DceOpnumOption&, const DceOpnumOption&) = default;
};

// ssl_state:[!]state[,...] and ssl_version:[!]version[,...] (Snort).
struct SslOption {
  struct Item {
    bool negated = false;
    std::string name;  // client_hello, server_hello, ... / sslv2, sslv3, tls1.0 ...
    friend bool operator==(const Item&, const Item&) = default;
  };
  bool version = false;  // ssl_version; else ssl_state
  std::vector<Item> items;

  friend bool operator==(const SslOption&, const SslOption&) = default;
};

// sip_method:[!]method[,...] and sip_stat_code:code[,...] (Snort).
struct SipOption {
  bool stat_code = false;  // sip_stat_code; else sip_method
  bool negated = false;    // sip_method only
  std::vector<std::string> values;

  friend bool operator==(const SipOption&, const SipOption&) = default;
};

// tls.version:1.0|1.1|1.2|1.3|0xNNNN, and Suricata's older value keywords
// tls.fingerprint:"..", tls.subject:"..", tls.issuerdn:"..".
struct TlsOption {
  enum class Field : uint8_t { kVersion, kFingerprint, kSubject, kIssuer };
  Field field = Field::kVersion;
  bool negated = false;
  std::string value;  // unquoted

  friend bool operator==(const TlsOption&, const TlsOption&) = default;
};

// A Suricata transform (dotprefix, to_md5, to_lowercase, pcrexform:"...", ...): it changes
// `buffer` for the options after it.
struct TransformOption {
  std::string name;      // canonical keyword, e.g. "dotprefix"
  std::string argument;  // as written (pcrexform, xor, ...); "" when none
  std::string buffer;

  friend bool operator==(const TransformOption&, const TransformOption&) = default;
};

// A keyword of one of the three dialects that none of the shipped rulesets uses, so it has no
// struct of its own yet (geoip, dataset, lua, ...). Kept verbatim so that the rule prints back
// whole; the detector never evaluates it.
struct OtherOption {
  std::string keyword;  // lowercase
  std::string value;    // as written, escapes kept; "" when there is no value
  bool has_value = false;

  friend bool operator==(const OtherOption&, const OtherOption&) = default;
};

// One detection option, in rule order.
using Option =
    std::variant<ContentOption, PcreOption, FlowOption, FlowbitsOption, FlowintOption, XbitsOption,
                 ThresholdOption, TagOption, ByteTestOption, ByteJumpOption, ByteExtractOption,
                 ByteMathOption, IsDataAtOption, NumericOption, UrilenOption, StreamSizeOption,
                 FlagsOption, FragbitsOption, IpoptsOption, FlagOption, EventOption,
                 AppLayerProtocolOption, Base64DecodeOption, Asn1Option, BerOption, DceIfaceOption,
                 DceOpnumOption, SslOption, SipOption, TlsOption, TransformOption, OtherOption>;

// The keyword an option is written with (its canonical spelling), e.g. "pcre", "dsize",
// "detection_filter"; for messages such as "unsupported keyword pcre".
[[nodiscard]] std::string OptionKeyword(const Option& option);

// The buffer an option inspects (see the file comment), or nullptr for options that inspect none
// (flow, flowbits, ttl, ...).
[[nodiscard]] const std::string* OptionBuffer(const Option& option);

// The option in canonical text, without the sticky buffer keyword before it and without the
// trailing ';' of the last element (`pcre:"/a/i"`, `content:"x"; nocase; depth:4`).
[[nodiscard]] std::string ToText(const Option& option);
[[nodiscard]] std::string ToText(const NumberTest& test);

}  // namespace vigil::rules

#include "rules/parser.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rules/lexer.h"

namespace vigil::rules {

namespace {

constexpr int32_t kMaxOffset = 65535;  // Snort's bound for offset, depth, distance and within
constexpr int64_t kMaxU32 = std::numeric_limits<uint32_t>::max();

// ---------------------------------------------------------------------------------------------
// Building one rule

// What modifiers such as nocase apply to: the last content, or a pattern keyword kept verbatim
// (protected_content), whose modifiers are kept verbatim too.
enum class LastPattern : uint8_t { kNone, kContent, kOther };

// Where each content option started, for checks made once the whole rule is read.
struct ContentSite {
  size_t content_offset = 0;
  size_t fast_pattern_offset = 0;  // valid when the content has fast_pattern
  size_t startswith_offset = 0;    // valid when the content has startswith
  bool buffer_from_modifier = false;
};

class Builder {
 public:
  Builder(const std::string& file, uint32_t line) : file_(file), line_(line) {}

  Rule& rule() { return rule_; }
  Rule Take() { return std::move(rule_); }

  [[nodiscard]] base::Error Fail(size_t offset, std::string message) const {
    base::Error e{std::move(message)};
    e.file = file_;
    e.line = line_;
    e.column = uint32_t(offset + 1);
    return e;
  }
  [[nodiscard]] base::Error Fail(const Token& at, std::string message) const {
    return Fail(at.offset, std::move(message));
  }
  // An error from a sub-parser whose column is relative to `at` (0: unknown, the token's start).
  [[nodiscard]] base::Error Relocate(base::Error e, const Token& at) const {
    e.file = file_;
    e.line = line_;
    e.column = uint32_t(at.offset) + (e.column > 0 ? e.column : 1);
    return e;
  }

  // Adds a detection option. Options that inspect a buffer get theirs: the sticky buffer, or for
  // a relative one the buffer of the last buffer option (Snort 2's `content:"x"; http_uri;
  // isdataat:!1,relative;` tests the URI).
  template <typename T>
  T& Add(T option, bool relative = false) {
    if constexpr (requires { option.buffer; }) {
      option.buffer = relative ? LastBuffer() : sticky_;
      last_buffer_option_ = int(rule_.options.size());
      sticky_after_last_ = false;
    }
    rule_.options.emplace_back(std::move(option));
    return std::get<T>(rule_.options.back());
  }

  // The content that modifiers apply to (the last one), or nullptr.
  ContentOption* last_content() {
    if (last_content_ < 0) return nullptr;
    return std::get_if<ContentOption>(&rule_.options[size_t(last_content_)]);
  }
  ContentSite& last_site() { return sites_.back(); }
  LastPattern last_pattern() const { return last_pattern_; }
  void set_last_pattern_other() { last_pattern_ = LastPattern::kOther; }

  ContentOption& AddContent(size_t offset) {
    ContentOption& c = Add(ContentOption{});
    last_content_ = int(rule_.options.size() - 1);
    last_pattern_ = LastPattern::kContent;
    sites_.push_back(ContentSite{offset, 0, 0, false});
    return c;
  }
  const std::vector<ContentSite>& sites() const { return sites_; }

  // Sticky buffers: the buffer of the options that follow.
  void SetSticky(std::string buffer) {
    sticky_ = std::move(buffer);
    sticky_after_last_ = true;
  }
  const std::string& sticky() const { return sticky_; }
  std::string LastBuffer() const {
    if (sticky_after_last_ || last_buffer_option_ < 0) return sticky_;
    return *OptionBuffer(rule_.options[size_t(last_buffer_option_)]);
  }

  // Snort 3 writes buffer keywords before the content (sticky); Snort 2 and Suricata's older
  // spelling after it (modifiers). ParseRule decides once per rule which dialect it reads.
  void set_snort3(bool v) { snort3_ = v; }
  bool snort3() const { return snort3_; }

  // byte_extract / byte_math variable names, which later options may use instead of numbers.
  void AddByteVariable(std::string_view name) { byte_variables_.push_back(name); }
  bool HasByteVariable(std::string_view name) const {
    return std::find(byte_variables_.begin(), byte_variables_.end(), name) != byte_variables_.end();
  }

  // Marks a once-per-rule option as seen; false when it was seen before.
  bool FirstTime(std::string_view keyword) {
    if (std::find(seen_once_.begin(), seen_once_.end(), keyword) != seen_once_.end()) return false;
    seen_once_.push_back(keyword);
    return true;
  }

  std::vector<Token>& scratch() { return scratch_; }

 private:
  const std::string& file_;
  uint32_t line_;
  Rule rule_;
  int last_content_ = -1;
  LastPattern last_pattern_ = LastPattern::kNone;
  std::vector<ContentSite> sites_;
  std::string sticky_;
  int last_buffer_option_ = -1;
  bool sticky_after_last_ = false;
  bool snort3_ = false;
  std::vector<std::string_view> byte_variables_;
  std::vector<std::string_view> seen_once_;
  std::vector<Token> scratch_;
};

using Handler = base::Status (*)(Builder&, const OptionToken&);

// ---------------------------------------------------------------------------------------------
// Small value parsers

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// A byte_extract / byte_math variable name.
bool IsIdentifier(std::string_view s) {
  if (s.empty() || !(IsAlpha(s[0]) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '_' || c == '-' || c == '.')) return false;
  }
  return true;
}

// A name made of letters, digits, '_', '-' and '.' (classtype, reference system, event name).
bool IsNameText(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '_' || c == '-' || c == '.')) return false;
  }
  return true;
}

// A decimal integer with an optional sign, or a 0x hexadecimal one, within [min, max].
bool ParseInt(std::string_view s, int64_t min, int64_t max, int64_t& out) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int64_t v = 0;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    if (s.size() > 15) return false;
    for (char c : s) {
      int d = IsDigit(c)               ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) return false;
      v = v * 16 + d;
    }
  } else {
    if (s.empty() || s.size() > 18) return false;
    for (char c : s) {
      if (!IsDigit(c)) return false;
      v = v * 10 + (c - '0');
    }
  }
  if (negative) v = -v;
  if (v < min || v > max) return false;
  out = v;
  return true;
}

std::string Found(const Token& t) {
  return t.text.empty() ? "nothing" : "'" + std::string(t.text) + "'";
}

base::Result<int64_t> IntValue(Builder& b, std::string_view what, const Token& value, int64_t min,
                               int64_t max) {
  int64_t v = 0;
  if (!ParseInt(value.text, min, max, v)) {
    return b.Fail(value, std::string(what) + " must be an integer from " + std::to_string(min) +
                             " to " + std::to_string(max) + ", found " + Found(value));
  }
  return v;
}

// A number, or a byte_extract / byte_math variable defined earlier in the rule.
base::Result<IntOrVar> IntOrVarValue(Builder& b, std::string_view what, const Token& value,
                                     int64_t min, int64_t max) {
  if (IsIdentifier(value.text)) {
    if (!b.HasByteVariable(value.text)) {
      return b.Fail(value, std::string(what) + " names '" + std::string(value.text) +
                               "', which no earlier byte_extract or byte_math defines");
    }
    return IntOrVar{0, std::string(value.text)};
  }
  auto v = IntValue(b, what, value, min, max);
  if (!v) return v.error();
  return IntOrVar{*v, {}};
}

// `name value` (Snort 3 style and Suricata's byte_math): splits at the first space.
struct NamedArg {
  Token name;
  Token value;
};
NamedArg SplitNamed(const Token& t) {
  size_t space = 0;
  while (space < t.text.size() && !IsSpace(t.text[space])) ++space;
  return {Token{t.text.substr(0, space), t.offset},
          Trim(Token{t.text.substr(space), t.offset + space})};
}

// A "quoted string" value: the text between the quotes with `\x` turned into `x`, as Snort and
// Suricata do for msg.
base::Result<std::string> QuotedString(Builder& b, std::string_view keyword, const Token& value) {
  std::string_view t = value.text;
  if (t.size() < 2 || t.front() != '"' || t.back() != '"') {
    return b.Fail(value, std::string(keyword) + " must be a quoted string");
  }
  std::string out;
  out.reserve(t.size());
  for (size_t i = 1; i + 1 < t.size(); ++i) {
    char c = t[i];
    if (c == '\\' && i + 2 < t.size()) {
      c = t[++i];
    } else if (c == '"') {
      // Usually a forgotten ';' that glued the next option onto this value.
      return b.Fail(value.offset + i, "unescaped '\"' inside " + std::string(keyword) +
                                          " (missing ';' before the next option?)");
    }
    out += c;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes the inside of a content string: text, `|hex bytes|` (spaces between bytes allowed) and
// the escapes \" \; \: \\ . `offset` is where `body` starts in the rule text.
base::Status DecodePattern(Builder& b, std::string_view body, size_t offset, std::string& out) {
  out.clear();
  out.reserve(body.size());
  bool in_hex = false;
  size_t hex_start = 0;
  int high = -1;  // first digit of a hex byte waiting for its second
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '|') {
      if (in_hex && high >= 0) {
        return b.Fail(offset + hex_start, "odd number of hex digits in content '|...|' block");
      }
      in_hex = !in_hex;
      hex_start = i;
      continue;
    }
    if (in_hex) {
      if (IsSpace(c)) continue;
      int v = HexValue(c);
      if (v < 0) {
        return b.Fail(offset + i, std::string("invalid hex digit '") + c + "' in content");
      }
      if (high < 0) {
        high = v;
      } else {
        out += char(high << 4 | v);
        high = -1;
      }
      continue;
    }
    if (c == '\\') {
      char next = i + 1 < body.size() ? body[i + 1] : '\0';
      if (next != '"' && next != ';' && next != ':' && next != '\\') {
        return b.Fail(offset + i,
                      "invalid escape in content: only \\\" \\; \\: and \\\\ are allowed");
      }
      out += next;
      ++i;
      continue;
    }
    out += c;
  }
  if (in_hex) return b.Fail(offset + hex_start, "unterminated '|' hex block in content");
  return {};
}

// A numeric test: N, =N, !N, <N, <=N, >N, >=N, lo<>hi, lo<=>hi, lo-hi; values in [min, max].
base::Result<NumberTest> ParseNumberTest(Builder& b, std::string_view what, const Token& value,
                                         int64_t min, int64_t max) {
  std::string_view t = value.text;
  NumberTest test;
  auto number = [&](size_t from, size_t to, int64_t& out) -> base::Status {
    Token n = Trim(Token{t.substr(from, to - from), value.offset + from});
    int64_t v = 0;
    if (!ParseInt(n.text, min, max, v)) {
      return b.Fail(n, std::string(what) + " needs an integer from " + std::to_string(min) +
                           " to " + std::to_string(max) + ", found " + Found(n));
    }
    out = v;
    return {};
  };
  if (t.empty()) return b.Fail(value, std::string(what) + " needs a value");
  struct Prefix {
    std::string_view text;
    NumberTest::Op op;
  };
  static constexpr Prefix kPrefixes[] = {
      {"<=", NumberTest::Op::kLe}, {">=", NumberTest::Op::kGe}, {"!=", NumberTest::Op::kNe},
      {"<", NumberTest::Op::kLt},  {">", NumberTest::Op::kGt},  {"=", NumberTest::Op::kEq},
      {"!", NumberTest::Op::kNe},
  };
  for (const Prefix& p : kPrefixes) {
    if (t.starts_with(p.text)) {
      test.op = p.op;
      if (auto st = number(p.text.size(), t.size(), test.lo); !st) return st.error();
      return test;
    }
  }
  struct Infix {
    std::string_view text;
    NumberTest::Op op;
  };
  static constexpr Infix kInfixes[] = {{"<=>", NumberTest::Op::kRangeInclusive},
                                       {"<>", NumberTest::Op::kRange}};
  for (const Infix& in : kInfixes) {
    size_t at = t.find(in.text);
    if (at == std::string_view::npos) continue;
    test.op = in.op;
    if (auto st = number(0, at, test.lo); !st) return st.error();
    if (auto st = number(at + in.text.size(), t.size(), test.hi); !st) return st.error();
    if (test.lo >= test.hi) {
      return b.Fail(value, std::string(what) + " range " + std::string(t) +
                               " is empty: the low bound must be below the high one");
    }
    return test;
  }
  size_t dash = t.find('-', 1);
  if (dash != std::string_view::npos && min >= 0) {
    test.op = NumberTest::Op::kDashRange;
    if (auto st = number(0, dash, test.lo); !st) return st.error();
    if (auto st = number(dash + 1, t.size(), test.hi); !st) return st.error();
    if (test.lo > test.hi) {
      return b.Fail(value, std::string(what) + " range " + std::string(t) +
                               " is empty: the low bound must not exceed the high one");
    }
    return test;
  }
  if (auto st = number(0, t.size(), test.lo); !st) return st.error();
  return test;
}

// ---------------------------------------------------------------------------------------------
// Content modifiers, shared by the Snort 2 / Suricata spelling (`depth:5;`) and Snort 3's
// sub-options (`content:"x",depth 5`).

enum class Modifier : uint8_t {
  kNocase,
  kRawbytes,
  kOffset,
  kDepth,
  kDistance,
  kWithin,
  kFastPattern,
  kFastPatternOffset,  // Snort 3 only
  kFastPatternLength,  // Snort 3 only
  kStartswith,         // Suricata only
  kEndswith,           // Suricata only
};

std::string_view ModifierName(Modifier m) {
  switch (m) {
    case Modifier::kNocase:
      return "nocase";
    case Modifier::kRawbytes:
      return "rawbytes";
    case Modifier::kOffset:
      return "offset";
    case Modifier::kDepth:
      return "depth";
    case Modifier::kDistance:
      return "distance";
    case Modifier::kWithin:
      return "within";
    case Modifier::kFastPattern:
      return "fast_pattern";
    case Modifier::kFastPatternOffset:
      return "fast_pattern_offset";
    case Modifier::kFastPatternLength:
      return "fast_pattern_length";
    case Modifier::kStartswith:
      return "startswith";
    case Modifier::kEndswith:
      return "endswith";
  }
  return "?";
}

base::Status NumericModifier(Builder& b, Modifier m, const OptionToken& opt,
                             std::optional<int32_t>& field, std::string* var, int64_t min,
                             int64_t max) {
  std::string_view name = ModifierName(m);
  if (field.has_value() || (var != nullptr && !var->empty())) {
    return b.Fail(opt.keyword, std::string(name) + " is already set for this content");
  }
  if (!opt.has_value || opt.value.text.empty()) {
    return b.Fail(opt.keyword, std::string(name) + " needs a value");
  }
  if (var != nullptr && IsIdentifier(opt.value.text)) {
    if (!b.HasByteVariable(opt.value.text)) {
      return b.Fail(opt.value, std::string(name) + " names '" + std::string(opt.value.text) +
                                   "', which no earlier byte_extract or byte_math defines");
    }
    *var = std::string(opt.value.text);
    return {};
  }
  auto v = IntValue(b, name, opt.value, min, max);
  if (!v) return v.error();
  field = int32_t(*v);
  return {};
}

base::Status FlagModifier(Builder& b, std::string_view name, const OptionToken& opt, bool& field) {
  if (opt.has_value) return b.Fail(opt.value, std::string(name) + " takes no value");
  if (field) return b.Fail(opt.keyword, std::string(name) + " is already set for this content");
  field = true;
  return {};
}

base::Status ApplyModifier(Builder& b, Modifier m, const OptionToken& opt) {
  std::string_view name = ModifierName(m);
  switch (b.last_pattern()) {
    case LastPattern::kNone:
      return b.Fail(opt.keyword, std::string(name) + " must follow a content option");
    case LastPattern::kOther:
      // Modifies a pattern keyword kept verbatim (protected_content): keep it verbatim too.
      b.Add(OtherOption{std::string(name), std::string(opt.value.text), opt.has_value});
      return {};
    case LastPattern::kContent:
      break;
  }
  ContentOption& c = *b.last_content();
  const int64_t size = int64_t(c.pattern.size());
  switch (m) {
    case Modifier::kNocase:
      return FlagModifier(b, name, opt, c.nocase);
    case Modifier::kRawbytes:
      return FlagModifier(b, name, opt, c.rawbytes);
    // Suricata accepts these twice (emerging-exploit_kit.rules has `endswith; ...; endswith;`).
    case Modifier::kStartswith:
      if (opt.has_value) return b.Fail(opt.value, "startswith takes no value");
      b.last_site().startswith_offset = opt.keyword.offset;
      c.startswith = true;
      return {};
    case Modifier::kEndswith:
      if (opt.has_value) return b.Fail(opt.value, "endswith takes no value");
      c.endswith = true;
      return {};
    case Modifier::kOffset:
      return NumericModifier(b, m, opt, c.offset, &c.offset_var, -kMaxOffset, kMaxOffset);
    case Modifier::kDistance:
      return NumericModifier(b, m, opt, c.distance, &c.distance_var, -kMaxOffset, kMaxOffset);
    case Modifier::kDepth:
    case Modifier::kWithin: {
      bool depth = m == Modifier::kDepth;
      std::optional<int32_t>& field = depth ? c.depth : c.within;
      if (auto st = NumericModifier(b, m, opt, field, depth ? &c.depth_var : &c.within_var, 1,
                                    kMaxOffset);
          !st) {
        return st;
      }
      if (field && *field < size) {
        return b.Fail(opt.value, std::string(name) + " " + std::to_string(*field) +
                                     " is less than the content's length " + std::to_string(size) +
                                     ", so the content could never match");
      }
      return {};
    }
    case Modifier::kFastPatternOffset:
    case Modifier::kFastPatternLength: {
      auto& field =
          m == Modifier::kFastPatternOffset ? c.fast_pattern_offset : c.fast_pattern_length;
      return NumericModifier(b, m, opt, field, nullptr, 0, kMaxOffset);
    }
    case Modifier::kFastPattern: {
      if (c.fast_pattern)
        return b.Fail(opt.keyword, "fast_pattern is already set for this content");
      c.fast_pattern = true;
      b.last_site().fast_pattern_offset = opt.keyword.offset;
      if (!opt.has_value) return {};
      if (opt.value.text == "only") {
        c.fast_pattern_only = true;
        return {};
      }
      std::vector<Token>& parts = b.scratch();
      SplitCommas(opt.value.text, opt.value.offset, parts);
      if (parts.size() != 2) {
        return b.Fail(opt.value, "fast_pattern takes no value, 'only' or 'offset,length'");
      }
      if (c.fast_pattern_offset || c.fast_pattern_length) {
        return b.Fail(opt.value, "fast_pattern offset and length are already set for this content");
      }
      auto off = IntValue(b, "fast_pattern offset", parts[0], 0, kMaxOffset);
      if (!off) return off.error();
      auto len = IntValue(b, "fast_pattern length", parts[1], 0, kMaxOffset);
      if (!len) return len.error();
      c.fast_pattern_offset = int32_t(*off);
      c.fast_pattern_length = int32_t(*len);
      return {};
    }
  }
  return {};
}

template <Modifier m>
base::Status HandleModifier(Builder& b, const OptionToken& opt) {
  return ApplyModifier(b, m, opt);
}

// ---------------------------------------------------------------------------------------------
// Rule fields (msg, sid, ...)

base::Status NeedValue(Builder& b, const OptionToken& opt, std::string_view name) {
  if (!opt.has_value || opt.value.text.empty()) {
    return b.Fail(opt.keyword, std::string(name) + " needs a value");
  }
  return {};
}

base::Status NoValue(Builder& b, const OptionToken& opt, std::string_view name) {
  if (opt.has_value) return b.Fail(opt.value, std::string(name) + " takes no value");
  return {};
}

base::Status Once(Builder& b, const OptionToken& opt, std::string_view name) {
  if (!b.FirstTime(name)) {
    return b.Fail(opt.keyword, "duplicate " + std::string(name) + " option");
  }
  return NeedValue(b, opt, name);
}

base::Status HandleMsg(Builder& b, const OptionToken& opt) {
  if (auto st = Once(b, opt, "msg"); !st) return st;
  auto s = QuotedString(b, "msg", opt.value);
  if (!s) return s.error();
  b.rule().msg = std::move(*s);
  return {};
}

base::Status HandleSid(Builder& b, const OptionToken& opt) {
  if (auto st = Once(b, opt, "sid"); !st) return st;
  auto v = IntValue(b, "sid", opt.value, 1, kMaxU32);
  if (!v) return v.error();
  b.rule().sid = uint32_t(*v);
  return {};
}

base::Status HandleRev(Builder& b, const OptionToken& opt) {
  if (auto st = Once(b, opt, "rev"); !st) return st;
  auto v = IntValue(b, "rev", opt.value, 0, kMaxU32);
  if (!v) return v.error();
  b.rule().rev = uint32_t(*v);
  return {};
}

base::Status HandleGid(Builder& b, const OptionToken& opt) {
  if (auto st = Once(b, opt, "gid"); !st) return st;
  auto v = IntValue(b, "gid", opt.value, 0, kMaxU32);
  if (!v) return v.error();
  b.rule().gid = uint32_t(*v);
  return {};
}

base::Status HandlePriority(Builder& b, const OptionToken& opt) {
  if (auto st = Once(b, opt, "priority"); !st) return st;
  auto v = IntValue(b, "priority", opt.value, 1, std::numeric_limits<int32_t>::max());
  if (!v) return v.error();
  b.rule().priority = int(*v);
  return {};
}

base::Status HandleClasstype(Builder& b, const OptionToken& opt) {
  if (auto st = Once(b, opt, "classtype"); !st) return st;
  if (!IsNameText(opt.value.text)) {
    return b.Fail(opt.value, "classtype must be a class name (letters, digits, '_', '-', '.')");
  }
  b.rule().classtype = std::string(opt.value.text);
  return {};
}

base::Status HandleReference(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "reference"); !st) return st;
  std::string_view t = opt.value.text;
  size_t comma = t.find(',');
  if (comma == std::string_view::npos) {
    return b.Fail(opt.value, "reference must be 'system,id'");
  }
  Token system = Trim(Token{t.substr(0, comma), opt.value.offset});
  Token id = TrimValue(Token{t.substr(comma + 1), opt.value.offset + comma + 1});
  if (!IsNameText(system.text)) {
    return b.Fail(system, "reference system must be a name (url, cve, bugtraq, ...)");
  }
  if (id.text.empty()) return b.Fail(opt.value.offset + comma, "reference has no id after ','");
  b.rule().references.push_back(Reference{std::string(system.text), std::string(id.text)});
  return {};
}

base::Status HandleMetadata(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "metadata"); !st) return st;
  b.rule().metadata.emplace_back(opt.value.text);
  return {};
}

base::Status HandleService(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "service"); !st) return st;
  std::vector<Token>& parts = b.scratch();
  SplitCommas(opt.value.text, opt.value.offset, parts);
  for (const Token& p : parts) {
    if (!IsNameText(p.text)) return b.Fail(p, "service must be a list of protocol names");
    b.rule().services.emplace_back(p.text);
  }
  return {};
}

base::Status HandleTarget(Builder& b, const OptionToken& opt) {
  if (auto st = Once(b, opt, "target"); !st) return st;
  if (opt.value.text != "src_ip" && opt.value.text != "dest_ip") {
    return b.Fail(opt.value, "target must be src_ip or dest_ip, found " + Found(opt.value));
  }
  b.rule().target = std::string(opt.value.text);
  return {};
}

// ---------------------------------------------------------------------------------------------
// content, uricontent

struct SubOption {
  std::string_view name;
  Modifier modifier;
};
constexpr SubOption kSnort3SubOptions[] = {
    {"nocase", Modifier::kNocase},
    {"offset", Modifier::kOffset},
    {"depth", Modifier::kDepth},
    {"distance", Modifier::kDistance},
    {"within", Modifier::kWithin},
    {"fast_pattern", Modifier::kFastPattern},
    {"fast_pattern_offset", Modifier::kFastPatternOffset},
    {"fast_pattern_length", Modifier::kFastPatternLength},
};

base::Status ParseContent(Builder& b, const OptionToken& opt, bool uricontent) {
  std::string_view keyword = uricontent ? "uricontent" : "content";
  if (auto st = NeedValue(b, opt, keyword); !st) return st;
  std::string_view t = opt.value.text;
  size_t pos = 0;
  bool negated = false;
  if (t[pos] == '!') {
    negated = true;
    ++pos;
    while (pos < t.size() && IsSpace(t[pos])) ++pos;
  }
  if (pos >= t.size() || t[pos] != '"') {
    return b.Fail(opt.value.offset + pos, std::string(keyword) + " must be a quoted string");
  }
  size_t open = pos++;
  while (pos < t.size() && t[pos] != '"') pos += t[pos] == '\\' ? 2 : 1;
  if (pos >= t.size()) return b.Fail(opt.value.offset + open, "unterminated quoted string");
  size_t close = pos;

  ContentOption& c = b.AddContent(opt.keyword.offset);
  c.negated = negated;
  if (uricontent) {
    // Snort 2's shorthand for content + http_uri: the buffer is its own, not the sticky one.
    c.buffer = "http.uri";
    b.last_site().buffer_from_modifier = true;
  }
  if (auto st = DecodePattern(b, t.substr(open + 1, close - open - 1), opt.value.offset + open + 1,
                              c.pattern);
      !st) {
    return st;
  }
  if (c.pattern.empty()) return b.Fail(opt.value.offset + open, "empty content");

  // Snort 3 sub-options: content:"x",depth 5,nocase
  pos = close + 1;
  while (pos < t.size() && IsSpace(t[pos])) ++pos;
  if (pos >= t.size()) return {};
  if (t[pos] != ',' || uricontent) {
    return b.Fail(opt.value.offset + pos, "unexpected text after the content string");
  }
  std::vector<Token> parts;
  SplitCommas(t.substr(pos + 1), opt.value.offset + pos + 1, parts);
  for (const Token& part : parts) {
    if (part.text.empty()) return b.Fail(part, "empty content sub-option");
    NamedArg arg = SplitNamed(part);
    OptionToken sub;
    sub.keyword = arg.name;
    sub.value = arg.value;
    sub.has_value = !sub.value.text.empty();
    const SubOption* found = nullptr;
    for (const SubOption& s : kSnort3SubOptions) {
      if (s.name == sub.keyword.text) found = &s;
    }
    if (found == nullptr) {
      return b.Fail(sub.keyword,
                    "unknown content sub-option '" + std::string(sub.keyword.text) + "'");
    }
    if (found->modifier == Modifier::kFastPattern && sub.has_value) {
      return b.Fail(sub.value, "the fast_pattern sub-option takes no value");
    }
    if (auto st = ApplyModifier(b, found->modifier, sub); !st) return st;
  }
  return {};
}

base::Status HandleContent(Builder& b, const OptionToken& opt) {
  return ParseContent(b, opt, false);
}
base::Status HandleUricontent(Builder& b, const OptionToken& opt) {
  return ParseContent(b, opt, true);
}

// ---------------------------------------------------------------------------------------------
// Buffers: sticky buffer keywords and Snort 2 / Suricata content modifiers

struct BufferKeyword {
  std::string_view name;       // as written in a rule
  std::string_view canonical;  // Rule's spelling ("" = the packet payload)
  bool modifier = false;       // Snort 2 / Suricata content modifier, Snort 3 sticky buffer
  bool args = false;           // Snort 3 may give it arguments (`http_header:field user-agent`)
};

// The canonical names are Suricata's, and every one of them is a sticky buffer keyword in this
// table, so ToText can print any buffer as itself. Snort's http_raw_cookie has no Suricata
// spelling; vigil names it http.cookie.raw.
constexpr BufferKeyword kBuffers[] = {
    {"pkt_data", ""},
    {"raw_data", "raw_data"},
    {"file_data", "file.data"},
    {"file.data", "file.data"},
    {"js_data", "js_data"},
    {"vba_data", "vba_data"},
    {"script_data", "script_data"},
    {"base64_data", "base64_data"},
    {"dce_stub_data", "dcerpc.stub_data"},
    {"dcerpc.stub_data", "dcerpc.stub_data"},
    {"sip_header", "sip_header"},
    {"sip_body", "sip_body"},
    // Snort 2 / Suricata content modifiers, Snort 3 sticky buffers
    {"http_uri", "http.uri", true, true},
    {"http_raw_uri", "http.uri.raw", true, true},
    {"http_header", "http.header", true, true},
    {"http_raw_header", "http.header.raw", true, true},
    {"http_cookie", "http.cookie", true, true},
    {"http_raw_cookie", "http.cookie.raw", true, true},
    {"http_method", "http.method", true, true},
    {"http_client_body", "http.request_body", true, true},
    {"http_server_body", "http.response_body", true},
    {"http_stat_code", "http.stat_code", true, true},
    {"http_stat_msg", "http.stat_msg", true, true},
    {"http_user_agent", "http.user_agent", true},
    {"http_host", "http.host", true},
    {"http_raw_host", "http.host.raw", true},
    // Snort 3 only
    {"http_raw_body", "http_raw_body", false, true},
    {"http_version", "http_version", false, true},
    {"http_raw_request", "http_raw_request", false, true},
    {"http_raw_status", "http_raw_status", false, true},
    {"http_trailer", "http_trailer", false, true},
    {"http_raw_trailer", "http_raw_trailer", false, true},
    {"http_true_ip", "http_true_ip", false, true},
    {"http_param", "http_param", false, true},
    // Suricata's underscore spellings
    {"http_accept", "http.accept"},
    {"http_accept_enc", "http.accept_enc"},
    {"http_accept_lang", "http.accept_lang"},
    {"http_referer", "http.referer"},
    {"http_connection", "http.connection"},
    {"http_content_type", "http.content_type"},
    {"http_content_len", "http.content_len"},
    {"http_start", "http.start"},
    {"http_protocol", "http.protocol"},
    {"http_header_names", "http.header_names"},
    {"http_request_line", "http.request_line"},
    {"http_response_line", "http.response_line"},
    {"dns_query", "dns.query"},
    {"tls_sni", "tls.sni"},
    {"tls_cert_subject", "tls.cert_subject"},
    {"tls_cert_issuer", "tls.cert_issuer"},
    {"tls_cert_serial", "tls.cert_serial"},
    {"tls_cert_fingerprint", "tls.cert_fingerprint"},
    {"ja3_hash", "ja3.hash"},
    {"ja3_string", "ja3.string"},
    {"ssh_proto", "ssh.proto"},
    {"ssh_software", "ssh.software"},
    {"dnp3_data", "dnp3.data"},
    // Suricata's dotted sticky buffers
    {"http.uri", "http.uri", false, true},
    {"http.uri.raw", "http.uri.raw", false, true},
    {"http.header", "http.header", false, true},
    {"http.header.raw", "http.header.raw", false, true},
    {"http.cookie", "http.cookie", false, true},
    {"http.cookie.raw", "http.cookie.raw", false, true},
    {"http.method", "http.method", false, true},
    {"http.request_body", "http.request_body", false, true},
    {"http.response_body", "http.response_body"},
    {"http.stat_code", "http.stat_code", false, true},
    {"http.stat_msg", "http.stat_msg", false, true},
    {"http.user_agent", "http.user_agent"},
    {"http.host", "http.host"},
    {"http.host.raw", "http.host.raw"},
    {"http.accept", "http.accept"},
    {"http.accept_enc", "http.accept_enc"},
    {"http.accept_lang", "http.accept_lang"},
    {"http.referer", "http.referer"},
    {"http.connection", "http.connection"},
    {"http.content_type", "http.content_type"},
    {"http.content_len", "http.content_len"},
    {"http.start", "http.start"},
    {"http.protocol", "http.protocol"},
    {"http.header_names", "http.header_names"},
    {"http.request_line", "http.request_line"},
    {"http.response_line", "http.response_line"},
    {"http.request_header", "http.request_header"},
    {"http.response_header", "http.response_header"},
    {"http.server", "http.server"},
    {"http.location", "http.location"},
    {"http.request_body.raw", "http.request_body.raw"},
    {"http2.header_name", "http2.header_name"},
    {"http2.header", "http2.header"},
    {"dns.query", "dns.query"},
    {"dns.answer.name", "dns.answer.name"},
    {"dns.query.name", "dns.query.name"},
    {"tls.sni", "tls.sni"},
    {"tls.cert_subject", "tls.cert_subject"},
    {"tls.cert_issuer", "tls.cert_issuer"},
    {"tls.cert_serial", "tls.cert_serial"},
    {"tls.cert_fingerprint", "tls.cert_fingerprint"},
    {"tls.certs", "tls.certs"},
    {"tls.random", "tls.random"},
    {"tls.random_time", "tls.random_time"},
    {"tls.random_bytes", "tls.random_bytes"},
    {"tls.alpn", "tls.alpn"},
    {"ja3.hash", "ja3.hash"},
    {"ja3.string", "ja3.string"},
    {"ja3s.hash", "ja3s.hash"},
    {"ja3s.string", "ja3s.string"},
    {"ja4.hash", "ja4.hash"},
    {"ssh.proto", "ssh.proto"},
    {"ssh.software", "ssh.software"},
    {"ssh.hassh", "ssh.hassh"},
    {"ssh.hassh.string", "ssh.hassh.string"},
    {"ssh.hassh.server", "ssh.hassh.server"},
    {"ssh.hassh.server.string", "ssh.hassh.server.string"},
    {"file.name", "file.name"},
    {"file.magic", "file.magic"},
    {"smb.named_pipe", "smb.named_pipe"},
    {"smb.share", "smb.share"},
    {"smb.ntlmssp_user", "smb.ntlmssp_user"},
    {"smb.ntlmssp_domain", "smb.ntlmssp_domain"},
    {"krb5_cname", "krb5_cname"},
    {"krb5_sname", "krb5_sname"},
    {"snmp.community", "snmp.community"},
    {"snmp.usm", "snmp.usm"},
    {"sip.method", "sip.method"},
    {"sip.uri", "sip.uri"},
    {"sip.request_line", "sip.request_line"},
    {"sip.stat_code", "sip.stat_code"},
    {"sip.stat_msg", "sip.stat_msg"},
    {"sip.response_line", "sip.response_line"},
    {"sip.protocol", "sip.protocol"},
    {"smtp.helo", "smtp.helo"},
    {"smtp.mail_from", "smtp.mail_from"},
    {"smtp.rcpt_to", "smtp.rcpt_to"},
    {"email.from", "email.from"},
    {"email.subject", "email.subject"},
    {"email.to", "email.to"},
    {"email.cc", "email.cc"},
    {"ftp.command", "ftp.command"},
    {"ftp.command_data", "ftp.command_data"},
    {"tftp.file", "tftp.file"},
    {"mqtt.connect.clientid", "mqtt.connect.clientid"},
    {"mqtt.connect.password", "mqtt.connect.password"},
    {"mqtt.connect.username", "mqtt.connect.username"},
    {"mqtt.connect.willmsg", "mqtt.connect.willmsg"},
    {"mqtt.connect.willtopic", "mqtt.connect.willtopic"},
    {"mqtt.publish.message", "mqtt.publish.message"},
    {"mqtt.publish.topic", "mqtt.publish.topic"},
    {"mqtt.subscribe.topic", "mqtt.subscribe.topic"},
    {"mqtt.unsubscribe.topic", "mqtt.unsubscribe.topic"},
    {"rfb.name", "rfb.name"},
    {"ike.init_spi", "ike.init_spi"},
    {"ike.resp_spi", "ike.resp_spi"},
    {"ike.key_exchange_payload", "ike.key_exchange_payload"},
    {"ike.nonce_payload", "ike.nonce_payload"},
    {"ike.vendor", "ike.vendor"},
    {"quic.cyu.hash", "quic.cyu.hash"},
    {"quic.cyu.string", "quic.cyu.string"},
    {"quic.sni", "quic.sni"},
    {"quic.ua", "quic.ua"},
    {"quic.version", "quic.version"},
    {"websocket.payload", "websocket.payload"},
    {"sdp.origin", "sdp.origin"},
    {"sdp.session_name", "sdp.session_name"},
    {"dnp3.data", "dnp3.data"},
};

const BufferKeyword* FindBuffer(std::string_view name) {
  static const std::unordered_map<std::string_view, const BufferKeyword*> index = [] {
    std::unordered_map<std::string_view, const BufferKeyword*> m;
    for (const BufferKeyword& k : kBuffers) m.emplace(k.name, &k);
    return m;
  }();
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

// Snort 3's arguments to an HTTP buffer: `field NAME`, a URI part, `request`, `with_*`.
base::Status CheckBufferArgs(Builder& b, std::string_view name, const Token& value) {
  static constexpr std::string_view kWords[] = {
      "request", "with_header", "with_body", "with_trailer", "scheme",    "host",
      "port",    "path",        "query",     "fragment",     "user_info",
  };
  std::vector<Token>& parts = b.scratch();
  SplitCommas(value.text, value.offset, parts);
  for (const Token& p : parts) {
    NamedArg arg = SplitNamed(p);
    if (arg.name.text == "field" || (name == "http_param" && arg.name.text == "nocase")) {
      if (arg.name.text == "field" && !IsNameText(arg.value.text)) {
        return b.Fail(arg.value.text.empty() ? arg.name : arg.value, "'field' needs a header name");
      }
      continue;
    }
    if (name == "http_param" && &p == &parts.front() && p.text.size() >= 2 &&
        p.text.front() == '"' && p.text.back() == '"') {
      continue;  // http_param:"name"
    }
    if (!arg.value.text.empty() ||
        std::find(std::begin(kWords), std::end(kWords), arg.name.text) == std::end(kWords)) {
      return b.Fail(p, "unknown argument '" + std::string(p.text) + "' for " + std::string(name));
    }
  }
  return {};
}

base::Status HandleBuffer(Builder& b, const OptionToken& opt, const BufferKeyword& k) {
  if (opt.has_value) {
    if (!k.args) return b.Fail(opt.value, std::string(k.name) + " takes no value");
    if (opt.value.text.empty()) return b.Fail(opt.keyword, std::string(k.name) + " needs a value");
    if (auto st = CheckBufferArgs(b, k.name, opt.value); !st) return st;
    b.SetSticky(std::string(k.canonical) + ":" + std::string(opt.value.text));
    return {};
  }
  if (k.modifier && !b.snort3() && b.last_pattern() == LastPattern::kContent) {
    // content:"x"; http_uri;  — the buffer of the last content, as Snort 2 has it: other options
    // may stand between (`content:"/a"; urilen:2; http_uri;`), and the modifier wins over a
    // sticky buffer (`file_data; content:"x"; http_header;` inspects the header).
    ContentOption& c = *b.last_content();
    ContentSite& site = b.last_site();
    if (site.buffer_from_modifier) {
      return b.Fail(opt.keyword, "this content already has the buffer " + c.buffer + "; " +
                                     std::string(k.name) + " cannot change it");
    }
    c.buffer = std::string(k.canonical);
    site.buffer_from_modifier = true;
    return {};
  }
  b.SetSticky(std::string(k.canonical));
  return {};
}

// ---------------------------------------------------------------------------------------------
// pcre

// Letters after the closing '/' and the buffer each HTTP letter selects.
struct PcreFlag {
  char letter;
  std::string_view buffer;  // "" for the flags that select none
};
constexpr PcreFlag kPcreFlags[] = {
    {'i', ""},
    {'s', ""},
    {'m', ""},
    {'x', ""},
    {'A', ""},
    {'E', ""},
    {'G', ""},
    {'R', ""},
    {'B', ""},
    {'O', ""},
    {'U', "http.uri"},
    {'I', "http.uri.raw"},
    {'P', "http.request_body"},
    {'Q', "http.response_body"},
    {'H', "http.header"},
    {'D', "http.header.raw"},
    {'M', "http.method"},
    {'C', "http.cookie"},
    {'K', "http.cookie.raw"},
    {'S', "http.stat_code"},
    {'Y', "http.stat_msg"},
    {'V', "http.user_agent"},
    {'W', "http.host"},
    {'Z', "http.host.raw"},
};

const PcreFlag* FindPcreFlag(char c) {
  for (const PcreFlag& f : kPcreFlags) {
    if (f.letter == c) return &f;
  }
  return nullptr;
}

base::Status HandlePcre(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "pcre"); !st) return st;
  std::string_view t = opt.value.text;
  size_t pos = 0;
  PcreOption p;
  if (t[0] == '!') {
    p.negated = true;
    ++pos;
    while (pos < t.size() && IsSpace(t[pos])) ++pos;
  }
  // Suricata also takes the pattern unquoted (`pcre:/one/U;`).
  bool unquoted = pos < t.size() && t[pos] == '/';
  if (!unquoted && (pos >= t.size() || t[pos] != '"' || t.size() - pos < 2 || t.back() != '"')) {
    return b.Fail(opt.value.offset + pos, "pcre must be a quoted \"/regex/flags\"");
  }
  std::string_view body = unquoted ? t.substr(pos) : t.substr(pos + 1, t.size() - pos - 2);
  size_t body_offset = opt.value.offset + pos + (unquoted ? 0 : 1);
  if (body.empty() || body[0] != '/') {
    return b.Fail(body_offset, "pcre must start with '/' inside the quotes");
  }
  size_t close = body.rfind('/');
  if (close == 0) return b.Fail(body_offset, "pcre has no closing '/'");
  p.regex = std::string(body.substr(1, close - 1));
  if (p.regex.empty()) return b.Fail(body_offset, "empty pcre regex");
  std::string_view flags = body.substr(close + 1);
  std::string_view buffer_flag;
  char buffer_letter = 0;
  for (size_t i = 0; i < flags.size(); ++i) {
    char c = flags[i];
    const PcreFlag* f = FindPcreFlag(c);
    if (f == nullptr) {
      return b.Fail(body_offset + close + 1 + i, std::string("unknown pcre flag '") + c + "'");
    }
    if (flags.substr(0, i).find(c) != std::string_view::npos) {
      return b.Fail(body_offset + close + 1 + i, std::string("pcre flag '") + c + "' given twice");
    }
    if (!f->buffer.empty()) {
      if (buffer_letter != 0) {
        return b.Fail(body_offset + close + 1 + i, std::string("pcre flags '") + buffer_letter +
                                                       "' and '" + c +
                                                       "' select two different buffers");
      }
      buffer_letter = c;
      buffer_flag = f->buffer;
    }
  }
  p.flags = std::string(flags);
  if (buffer_letter != 0 && p.HasFlag('B')) {
    return b.Fail(body_offset + close + 1 + flags.find('B'),
                  std::string("pcre flag 'B' (rawbytes) cannot be combined with the HTTP buffer "
                              "flag '") +
                      buffer_letter + "'");
  }
  bool relative = p.HasFlag('R');
  PcreOption& added = b.Add(std::move(p), relative);
  if (!buffer_flag.empty()) added.buffer = std::string(buffer_flag);
  return {};
}

// ---------------------------------------------------------------------------------------------
// Flow state

base::Status HandleFlow(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "flow"); !st) return st;
  std::vector<Token>& parts = b.scratch();
  SplitCommas(opt.value.text, opt.value.offset, parts);
  FlowOption f;
  for (const Token& p : parts) {
    std::string_view w = p.text;
    auto set = [&](auto& field, auto value, std::string_view group) -> base::Status {
      using T = std::remove_reference_t<decltype(field)>;
      if (field != T{}) {
        return b.Fail(p, "flow: '" + std::string(w) + "' conflicts with an earlier " +
                             std::string(group) + " word");
      }
      field = value;
      return {};
    };
    base::Status st;
    if (w == "to_server" || w == "from_client") {
      st = set(f.direction, FlowOption::Direction::kToServer, "direction");
    } else if (w == "to_client" || w == "from_server") {
      st = set(f.direction, FlowOption::Direction::kToClient, "direction");
    } else if (w == "established") {
      st = set(f.state, FlowOption::State::kEstablished, "state");
    } else if (w == "not_established") {
      st = set(f.state, FlowOption::State::kNotEstablished, "state");
    } else if (w == "stateless") {
      st = set(f.state, FlowOption::State::kStateless, "state");
    } else if (w == "only_stream") {
      st = set(f.stream, FlowOption::Stream::kOnlyStream, "stream");
    } else if (w == "no_stream") {
      st = set(f.stream, FlowOption::Stream::kNoStream, "stream");
    } else if (w == "only_frag") {
      st = set(f.frag, FlowOption::Frag::kOnlyFrag, "fragment");
    } else if (w == "no_frag") {
      st = set(f.frag, FlowOption::Frag::kNoFrag, "fragment");
    } else {
      return b.Fail(p, "unknown flow word " + Found(p) +
                           " (expected to_server, to_client, from_server, from_client, "
                           "established, not_established, stateless, only_stream, no_stream, "
                           "only_frag or no_frag)");
    }
    if (!st) return st;
  }
  b.Add(f);
  return {};
}

// A flowbit / xbit / flowint name: no spaces and none of , | & ; " characters.
bool IsBitName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (IsSpace(c) || c == ',' || c == '|' || c == '&' || c == ';' || c == '"' || c == '\\') {
      return false;
    }
  }
  return true;
}

base::Status HandleFlowbits(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "flowbits"); !st) return st;
  std::vector<Token>& parts = b.scratch();
  SplitCommas(opt.value.text, opt.value.offset, parts);
  struct Cmd {
    std::string_view name;
    FlowbitsOption::Command command;
  };
  static constexpr Cmd kCommands[] = {
      {"set", FlowbitsOption::Command::kSet},
      {"setx", FlowbitsOption::Command::kSetx},
      {"unset", FlowbitsOption::Command::kUnset},
      {"toggle", FlowbitsOption::Command::kToggle},
      {"isset", FlowbitsOption::Command::kIsset},
      {"isnotset", FlowbitsOption::Command::kIsnotset},
      {"noalert", FlowbitsOption::Command::kNoalert},
      {"reset", FlowbitsOption::Command::kReset},
  };
  FlowbitsOption f;
  const Cmd* cmd = nullptr;
  for (const Cmd& c : kCommands) {
    if (c.name == parts[0].text) cmd = &c;
  }
  if (cmd == nullptr) {
    return b.Fail(parts[0], "unknown flowbits command " + Found(parts[0]) +
                                " (expected set, setx, unset, toggle, isset, isnotset, noalert or "
                                "reset)");
  }
  f.command = cmd->command;
  bool no_names = f.command == FlowbitsOption::Command::kNoalert ||
                  f.command == FlowbitsOption::Command::kReset;
  if (no_names) {
    if (parts.size() > 1)
      return b.Fail(parts[1], "flowbits:" + std::string(cmd->name) + " takes no flowbit name");
    b.Add(std::move(f));
    return {};
  }
  if (parts.size() < 2) {
    return b.Fail(opt.value.offset + opt.value.text.size(),
                  "flowbits:" + std::string(cmd->name) + " needs a flowbit name");
  }
  if (parts.size() > 3) return b.Fail(parts[3], "flowbits takes at most command,names,group");
  const Token& names = parts[1];
  std::string_view n = names.text;
  size_t start = 0;
  for (size_t i = 0; i <= n.size(); ++i) {
    if (i < n.size() && n[i] != '|' && n[i] != '&') continue;
    if (i < n.size()) {
      FlowbitsOption::Join j = n[i] == '|' ? FlowbitsOption::Join::kOr : FlowbitsOption::Join::kAnd;
      if (f.join != FlowbitsOption::Join::kOne && f.join != j) {
        return b.Fail(names.offset + i, "flowbits cannot mix '|' and '&'");
      }
      f.join = j;
    }
    Token one = Trim(Token{n.substr(start, i - start), names.offset + start});
    if (!IsBitName(one.text)) {
      return b.Fail(one.text.empty() ? Token{one.text, names.offset + start} : one,
                    "flowbits needs a flowbit name, found " + Found(one));
    }
    f.names.emplace_back(one.text);
    start = i + 1;
  }
  if (f.join == FlowbitsOption::Join::kOr && f.command != FlowbitsOption::Command::kIsset &&
      f.command != FlowbitsOption::Command::kIsnotset) {
    return b.Fail(names, "flowbits:" + std::string(cmd->name) + " cannot take names joined by '|'");
  }
  if (parts.size() == 3) {
    if (!IsBitName(parts[2].text)) return b.Fail(parts[2], "flowbits group must be a name");
    f.group = std::string(parts[2].text);
  }
  b.Add(std::move(f));
  return {};
}

base::Status HandleFlowint(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "flowint"); !st) return st;
  std::vector<Token>& parts = b.scratch();
  SplitCommas(opt.value.text, opt.value.offset, parts);
  FlowintOption f;
  if (!IsBitName(parts[0].text)) return b.Fail(parts[0], "flowint needs a variable name");
  f.name = std::string(parts[0].text);
  if (parts.size() < 2) return b.Fail(parts[0], "flowint needs name,operator[,value]");
  struct OpName {
    std::string_view text;
    FlowintOption::Op op;
    bool value;
  };
  static constexpr OpName kOps[] = {
      {"+", FlowintOption::Op::kAdd, true},
      {"-", FlowintOption::Op::kSub, true},
      {"=", FlowintOption::Op::kAssign, true},
      {"==", FlowintOption::Op::kEq, true},
      {"!=", FlowintOption::Op::kNe, true},
      {"<", FlowintOption::Op::kLt, true},
      {"<=", FlowintOption::Op::kLe, true},
      {">", FlowintOption::Op::kGt, true},
      {">=", FlowintOption::Op::kGe, true},
      {"isset", FlowintOption::Op::kIsset, false},
      {"notset", FlowintOption::Op::kNotset, false},
      {"isnotset", FlowintOption::Op::kNotset, false},
  };
  const OpName* op = nullptr;
  for (const OpName& o : kOps) {
    if (o.text == parts[1].text) op = &o;
  }
  if (op == nullptr) return b.Fail(parts[1], "unknown flowint operator " + Found(parts[1]));
  f.op = op->op;
  if (op->value != (parts.size() == 3) || parts.size() > 3) {
    return b.Fail(parts[1], op->value ? "flowint operator " + std::string(op->text) +
                                            " needs exactly one value"
                                      : "flowint " + std::string(op->text) + " takes no value");
  }
  if (op->value) {
    if (IsIdentifier(parts[2].text)) {
      f.value.var = std::string(parts[2].text);
    } else {
      auto v = IntValue(b, "flowint value", parts[2], 0, kMaxU32);
      if (!v) return v.error();
      f.value.value = *v;
    }
  }
  b.Add(std::move(f));
  return {};
}

base::Status HandleXbits(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "xbits"); !st) return st;
  std::vector<Token>& parts = b.scratch();
  SplitCommas(opt.value.text, opt.value.offset, parts);
  XbitsOption x;
  static constexpr std::pair<std::string_view, XbitsOption::Command> kCommands[] = {
      {"set", XbitsOption::Command::kSet},           {"unset", XbitsOption::Command::kUnset},
      {"toggle", XbitsOption::Command::kToggle},     {"isset", XbitsOption::Command::kIsset},
      {"isnotset", XbitsOption::Command::kIsnotset},
  };
  bool found = false;
  for (const auto& [name, c] : kCommands) {
    if (name == parts[0].text) {
      x.command = c;
      found = true;
    }
  }
  if (!found) return b.Fail(parts[0], "unknown xbits command " + Found(parts[0]));
  if (parts.size() < 3)
    return b.Fail(opt.value, "xbits needs command,name,track ip_src|ip_dst|ip_pair");
  if (!IsBitName(parts[1].text)) return b.Fail(parts[1], "xbits needs a bit name");
  x.name = std::string(parts[1].text);
  NamedArg track = SplitNamed(parts[2]);
  if (track.name.text != "track") return b.Fail(parts[2], "xbits expects 'track ...' third");
  if (track.value.text == "ip_src") {
    x.track = XbitsOption::Track::kIpSrc;
  } else if (track.value.text == "ip_dst") {
    x.track = XbitsOption::Track::kIpDst;
  } else if (track.value.text == "ip_pair") {
    x.track = XbitsOption::Track::kIpPair;
  } else if (track.value.text == "tx") {
    x.track = XbitsOption::Track::kTx;
  } else {
    return b.Fail(track.value.text.empty() ? track.name : track.value,
                  "xbits track must be ip_src, ip_dst, ip_pair or tx");
  }
  if (parts.size() > 4) return b.Fail(parts[4], "unexpected xbits argument");
  if (parts.size() == 4) {
    NamedArg expire = SplitNamed(parts[3]);
    if (expire.name.text != "expire") return b.Fail(parts[3], "xbits expects 'expire N' fourth");
    auto v = IntValue(b, "xbits expire", expire.value, 1, kMaxU32);
    if (!v) return v.error();
    x.expire = uint32_t(*v);
  }
  b.Add(std::move(x));
  return {};
}

// ---------------------------------------------------------------------------------------------
// threshold, detection_filter, tag

base::Status ParseTrack(Builder& b, const Token& value, Track& out, bool allow_rule) {
  static constexpr std::pair<std::string_view, Track> kTracks[] = {
      {"by_src", Track::kBySrc},   {"by_dst", Track::kByDst},   {"by_rule", Track::kByRule},
      {"by_both", Track::kByBoth}, {"by_flow", Track::kByFlow},
  };
  for (const auto& [name, t] : kTracks) {
    if (name == value.text && (allow_rule || t == Track::kBySrc || t == Track::kByDst)) {
      out = t;
      return {};
    }
  }
  return b.Fail(value, std::string("track must be by_src or by_dst") +
                           (allow_rule ? ", by_rule, by_both or by_flow" : "") + ", found " +
                           Found(value));
}

base::Status ParseThresholdArgs(Builder& b, const OptionToken& opt, bool detection_filter) {
  std::string_view keyword = detection_filter ? "detection_filter" : "threshold";
  if (auto st = NeedValue(b, opt, keyword); !st) return st;
  if (!b.FirstTime(keyword))
    return b.Fail(opt.keyword, "duplicate " + std::string(keyword) + " option");
  std::vector<Token>& parts = b.scratch();
  SplitCommas(opt.value.text, opt.value.offset, parts);
  ThresholdOption t;
  t.detection_filter = detection_filter;
  bool has_type = false, has_track = false, has_count = false, has_seconds = false,
       has_multiplier = false;
  for (const Token& p : parts) {
    NamedArg a = SplitNamed(p);
    auto once = [&](bool& seen) -> base::Status {
      if (seen)
        return b.Fail(a.name,
                      std::string(keyword) + ": '" + std::string(a.name.text) + "' given twice");
      seen = true;
      return {};
    };
    if (a.name.text == "type" && !detection_filter) {
      if (auto st = once(has_type); !st) return st;
      if (a.value.text == "limit") {
        t.type = ThresholdOption::Type::kLimit;
      } else if (a.value.text == "threshold") {
        t.type = ThresholdOption::Type::kThreshold;
      } else if (a.value.text == "both") {
        t.type = ThresholdOption::Type::kBoth;
      } else if (a.value.text == "backoff") {
        t.type = ThresholdOption::Type::kBackoff;
      } else {
        return b.Fail(
            a.value.text.empty() ? a.name : a.value,
            "threshold type must be limit, threshold, both or backoff, found " + Found(a.value));
      }
    } else if (a.name.text == "track") {
      if (auto st = once(has_track); !st) return st;
      if (auto st = ParseTrack(b, a.value.text.empty() ? a.name : a.value, t.track, true); !st) {
        return st;
      }
    } else if (a.name.text == "count") {
      if (auto st = once(has_count); !st) return st;
      auto v = IntValue(b, std::string(keyword) + " count", a.value, 1, kMaxU32);
      if (!v) return v.error();
      t.count = uint32_t(*v);
    } else if (a.name.text == "seconds") {
      if (auto st = once(has_seconds); !st) return st;
      auto v = IntValue(b, std::string(keyword) + " seconds", a.value, 1, kMaxU32);
      if (!v) return v.error();
      t.seconds = uint32_t(*v);
    } else if (a.name.text == "multiplier" && !detection_filter) {
      if (auto st = once(has_multiplier); !st) return st;
      auto v = IntValue(b, "threshold multiplier", a.value, 1, kMaxU32);
      if (!v) return v.error();
      t.multiplier = uint32_t(*v);
    } else {
      return b.Fail(p, "unknown " + std::string(keyword) + " argument " + Found(p));
    }
  }
  size_t end = opt.value.offset + opt.value.text.size();
  if (!detection_filter && !has_type)
    return b.Fail(end, "threshold needs 'type limit|threshold|both'");
  if (!has_track) return b.Fail(end, std::string(keyword) + " needs 'track by_src|by_dst'");
  if (!has_count) return b.Fail(end, std::string(keyword) + " needs 'count N'");
  if (t.type == ThresholdOption::Type::kBackoff && !detection_filter) {
    if (!has_multiplier) return b.Fail(end, "threshold type backoff needs 'multiplier N'");
    if (has_seconds) return b.Fail(end, "threshold type backoff takes no 'seconds'");
  } else {
    if (has_multiplier) return b.Fail(end, "'multiplier' is for threshold type backoff only");
    if (!has_seconds) return b.Fail(end, std::string(keyword) + " needs 'seconds N'");
  }
  b.Add(t);
  return {};
}

base::Status HandleThreshold(Builder& b, const OptionToken& opt) {
  return ParseThresholdArgs(b, opt, false);
}
base::Status HandleDetectionFilter(Builder& b, const OptionToken& opt) {
  return ParseThresholdArgs(b, opt, true);
}

base::Status HandleTag(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "tag"); !st) return st;
  std::vector<Token>& parts = b.scratch();
  SplitCommas(opt.value.text, opt.value.offset, parts);
  TagOption t;
  if (parts[0].text == "session") {
    t.type = TagOption::Type::kSession;
  } else if (parts[0].text == "host") {
    t.type = TagOption::Type::kHost;
  } else {
    return b.Fail(parts[0], "tag type must be session or host, found " + Found(parts[0]));
  }
  auto metric = [&](const Token& m) -> base::Status {
    if (m.text == "packets") {
      t.metric = TagOption::Metric::kPackets;
    } else if (m.text == "seconds") {
      t.metric = TagOption::Metric::kSeconds;
    } else if (m.text == "bytes") {
      t.metric = TagOption::Metric::kBytes;
    } else {
      return b.Fail(m, "tag metric must be packets, seconds or bytes, found " + Found(m));
    }
    return {};
  };
  size_t next = 1;
  if (parts.size() > 1) {
    NamedArg a = SplitNamed(parts[1]);
    if (!a.value.text.empty()) {
      // Snort 3: tag:session,packets 5
      if (auto st = metric(a.name); !st) return st;
      auto v = IntValue(b, "tag count", a.value, 1, kMaxU32);
      if (!v) return v.error();
      t.count = uint32_t(*v);
      next = 2;
    } else {
      if (parts.size() < 3) return b.Fail(parts[1], "tag needs count,metric");
      auto v = IntValue(b, "tag count", parts[1], 1, kMaxU32);
      if (!v) return v.error();
      t.count = uint32_t(*v);
      if (auto st = metric(parts[2]); !st) return st;
      next = 3;
    }
  }
  if (next < parts.size()) {
    const Token& d = parts[next];
    if (t.type != TagOption::Type::kHost) return b.Fail(d, "only tag:host takes src or dst");
    if (d.text == "src") {
      t.direction = TagOption::Direction::kSrc;
    } else if (d.text == "dst") {
      t.direction = TagOption::Direction::kDst;
    } else {
      return b.Fail(d, "tag direction must be src or dst, found " + Found(d));
    }
    if (next + 1 < parts.size()) return b.Fail(parts[next + 1], "unexpected tag argument");
  }
  b.Add(t);
  return {};
}

// ---------------------------------------------------------------------------------------------
// byte_test, byte_jump, byte_extract, byte_math

// The flags the byte_* keywords share; each keyword says which it accepts.
struct ByteFlags {
  bool relative = false;
  Endian endian = Endian::kDefault;
  ByteString string = ByteString::kNone;
  std::optional<uint64_t> bitmask;
  std::optional<uint32_t> multiplier;
  bool align = false;
  std::optional<uint8_t> align_n;
  bool from_beginning = false;
  bool from_end = false;
  std::optional<IntOrVar> post_offset;
};

enum ByteFlagSet : uint16_t {
  kFlagMultiplier = 1,
  kFlagAlign = 2,   // byte_jump: `align`
  kFlagAlignN = 4,  // byte_extract: `align N`
  kFlagFromBeginning = 8,
  kFlagPostOffset = 16,
  kFlagEndianWord = 32,  // byte_math: `endian big|little`
};

base::Status ParseByteFlags(Builder& b, std::string_view keyword, const std::vector<Token>& parts,
                            size_t from, uint16_t allowed, ByteFlags& f) {
  bool seen_endian = false;
  for (size_t i = from; i < parts.size(); ++i) {
    const Token& p = parts[i];
    NamedArg a = SplitNamed(p);
    std::string_view w = a.name.text;
    auto endian = [&](Endian e, const Token& at) -> base::Status {
      if (seen_endian) return b.Fail(at, std::string(keyword) + ": byte order given twice");
      seen_endian = true;
      f.endian = e;
      return {};
    };
    auto no_value = [&]() -> base::Status {
      if (!a.value.text.empty()) return b.Fail(a.value, "'" + std::string(w) + "' takes no value");
      return {};
    };
    base::Status st;
    if (w == "relative") {
      if (f.relative) return b.Fail(p, std::string(keyword) + ": 'relative' given twice");
      f.relative = true;
      st = no_value();
    } else if (w == "big" || w == "little" || w == "dce") {
      st = no_value();
      if (st)
        st = endian(w == "big" ? Endian::kBig : w == "little" ? Endian::kLittle : Endian::kDce, p);
    } else if (w == "endian" && (allowed & kFlagEndianWord)) {
      if (a.value.text == "big") {
        st = endian(Endian::kBig, p);
      } else if (a.value.text == "little") {
        st = endian(Endian::kLittle, p);
      } else {
        return b.Fail(a.value.text.empty() ? a.name : a.value, "endian must be big or little");
      }
    } else if (w == "string") {
      if (f.string != ByteString::kNone) return b.Fail(p, "'string' given twice");
      // `string,hex` (Snort 2, Suricata) or `string hex` (byte_math); a bare `string` reads
      // decimal, as in Snort.
      Token base = a.value;
      if (base.text.empty() && i + 1 < parts.size() &&
          (parts[i + 1].text == "hex" || parts[i + 1].text == "dec" ||
           parts[i + 1].text == "oct")) {
        base = parts[++i];
      }
      if (base.text.empty() || base.text == "dec") {
        f.string = ByteString::kDec;
      } else if (base.text == "hex") {
        f.string = ByteString::kHex;
      } else if (base.text == "oct") {
        f.string = ByteString::kOct;
      } else {
        return b.Fail(base, "'string' takes hex, dec or oct, found " + Found(base));
      }
    } else if (w == "hex" || w == "dec" || w == "oct") {
      // Suricata also accepts the base before `string` is seen; it means string,base.
      if (f.string != ByteString::kNone) return b.Fail(p, "number base given twice");
      f.string = w == "hex" ? ByteString::kHex : w == "dec" ? ByteString::kDec : ByteString::kOct;
      st = no_value();
    } else if (w == "bitmask") {
      // Hexadecimal, with or without 0x, as in Snort and Suricata.
      if (f.bitmask) return b.Fail(p, "'bitmask' given twice");
      std::string_view hex = a.value.text;
      if (hex.starts_with("0x") || hex.starts_with("0X")) hex.remove_prefix(2);
      int64_t v = 0;
      if (hex.empty() || !ParseInt("0x" + std::string(hex), 1, kMaxU32, v)) {
        return b.Fail(
            a.value.text.empty() ? a.name : a.value,
            "bitmask must be a hexadecimal number from 0x1 to 0xffffffff, found " + Found(a.value));
      }
      f.bitmask = uint64_t(v);
    } else if (w == "multiplier" && (allowed & kFlagMultiplier)) {
      if (f.multiplier) return b.Fail(p, "'multiplier' given twice");
      auto v = IntValue(b, "multiplier", a.value, 1, 65535);
      if (!v) return v.error();
      f.multiplier = uint32_t(*v);
    } else if (w == "align" && (allowed & kFlagAlign)) {
      if (f.align) return b.Fail(p, "'align' given twice");
      f.align = true;
      st = no_value();
    } else if (w == "align" && (allowed & kFlagAlignN)) {
      if (f.align_n) return b.Fail(p, "'align' given twice");
      if (a.value.text != "2" && a.value.text != "4") {
        return b.Fail(a.value.text.empty() ? a.name : a.value, "align must be 2 or 4");
      }
      f.align_n = uint8_t(a.value.text[0] - '0');
    } else if ((w == "from_beginning" || w == "from_end") && (allowed & kFlagFromBeginning)) {
      if (f.from_beginning || f.from_end) {
        return b.Fail(p, "from_beginning and from_end may be given once, not both");
      }
      (w == "from_beginning" ? f.from_beginning : f.from_end) = true;
      st = no_value();
    } else if (w == "post_offset" && (allowed & kFlagPostOffset)) {
      if (f.post_offset) return b.Fail(p, "'post_offset' given twice");
      auto v = IntOrVarValue(b, "post_offset", a.value, -kMaxOffset, kMaxOffset);
      if (!v) return v.error();
      f.post_offset = std::move(*v);
    } else {
      return b.Fail(p, "unknown " + std::string(keyword) + " argument " + Found(p));
    }
    if (!st) return st;
  }
  return {};
}

// Bytes to read: 1..10 as binary (Snort's limit), 0..23 as a string ("string,dec"; Suricata reads
// a string of any length for 0). byte_jump also reads 0 binary bytes (value 0: the jump is
// post_offset alone; Snort 3's 0..10 and Suricata's 0..8 both allow it).
base::Result<uint8_t> ByteCount(Builder& b, std::string_view keyword, const Token& t) {
  auto v = IntValue(b, std::string(keyword) + " byte count", t, 0, 23);
  if (!v) return v.error();
  return uint8_t(*v);
}

base::Status CheckByteCount(Builder& b, std::string_view keyword, const Token& t, uint8_t bytes,
                            ByteString string, bool zero_ok = false) {
  if (string == ByteString::kNone && (bytes > 10 || (bytes == 0 && !zero_ok))) {
    return b.Fail(
        t, std::string(keyword) + (zero_ok ? " reads 0 to 10 bytes unless 'string' is given"
                                           : " reads 1 to 10 bytes unless 'string' is given"));
  }
  return {};
}

base::Status HandleByteTest(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "byte_test"); !st) return st;
  std::vector<Token> parts;
  SplitCommas(opt.value.text, opt.value.offset, parts);
  if (parts.size() < 4) {
    return b.Fail(opt.value, "byte_test needs bytes,operator,value,offset[,flags...]");
  }
  ByteTestOption t;
  auto bytes = ByteCount(b, "byte_test", parts[0]);
  if (!bytes) return bytes.error();
  t.bytes = *bytes;
  std::string_view op = parts[1].text;
  if (op.starts_with('!')) {
    t.negated = true;
    op.remove_prefix(1);
  }
  static constexpr std::pair<std::string_view, ByteTestOption::Op> kOps[] = {
      {"<", ByteTestOption::Op::kLt},  {">", ByteTestOption::Op::kGt},
      {"<=", ByteTestOption::Op::kLe}, {">=", ByteTestOption::Op::kGe},
      {"=", ByteTestOption::Op::kEq},  {"&", ByteTestOption::Op::kAnd},
      {"^", ByteTestOption::Op::kXor}, {"", ByteTestOption::Op::kEq},  // "!" alone: not equal
  };
  bool found = false;
  for (const auto& [text, o] : kOps) {
    if (text == op && (!text.empty() || t.negated)) {
      t.op = o;
      found = true;
    }
  }
  if (!found) {
    return b.Fail(parts[1],
                  "byte_test operator must be one of < > <= >= = & ^, optionally after "
                  "'!', found " +
                      Found(parts[1]));
  }
  auto value =
      IntOrVarValue(b, "byte_test value", parts[2], 0, std::numeric_limits<int64_t>::max());
  if (!value) return value.error();
  t.value = std::move(*value);
  // Suricata reads byte_test's offset as any 32-bit integer (Snort 3 bounds it at 65535); one
  // past every buffer loads and never matches.
  auto offset = IntOrVarValue(b, "byte_test offset", parts[3], std::numeric_limits<int32_t>::min(),
                              std::numeric_limits<int32_t>::max());
  if (!offset) return offset.error();
  t.offset = std::move(*offset);
  ByteFlags f;
  if (auto st = ParseByteFlags(b, "byte_test", parts, 4, 0, f); !st) return st;
  if (auto st = CheckByteCount(b, "byte_test", parts[0], t.bytes, f.string); !st) return st;
  t.relative = f.relative;
  t.endian = f.endian;
  t.string = f.string;
  t.bitmask = f.bitmask;
  b.Add(std::move(t), f.relative);
  return {};
}

base::Status HandleByteJump(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "byte_jump"); !st) return st;
  std::vector<Token> parts;
  SplitCommas(opt.value.text, opt.value.offset, parts);
  if (parts.size() < 2) return b.Fail(opt.value, "byte_jump needs bytes,offset[,flags...]");
  ByteJumpOption j;
  auto bytes = ByteCount(b, "byte_jump", parts[0]);
  if (!bytes) return bytes.error();
  j.bytes = *bytes;
  auto offset = IntOrVarValue(b, "byte_jump offset", parts[1], -kMaxOffset, kMaxOffset);
  if (!offset) return offset.error();
  j.offset = std::move(*offset);
  ByteFlags f;
  if (auto st =
          ParseByteFlags(b, "byte_jump", parts, 2,
                         kFlagMultiplier | kFlagAlign | kFlagFromBeginning | kFlagPostOffset, f);
      !st) {
    return st;
  }
  if (auto st = CheckByteCount(b, "byte_jump", parts[0], j.bytes, f.string, /*zero_ok=*/true); !st)
    return st;
  j.relative = f.relative;
  j.multiplier = f.multiplier;
  j.endian = f.endian;
  j.string = f.string;
  j.align = f.align;
  j.from_beginning = f.from_beginning;
  j.from_end = f.from_end;
  j.post_offset = std::move(f.post_offset);
  j.bitmask = f.bitmask;
  b.Add(std::move(j), f.relative);
  return {};
}

base::Status HandleByteExtract(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "byte_extract"); !st) return st;
  std::vector<Token> parts;
  SplitCommas(opt.value.text, opt.value.offset, parts);
  if (parts.size() < 3) return b.Fail(opt.value, "byte_extract needs bytes,offset,name[,flags...]");
  ByteExtractOption e;
  auto bytes = ByteCount(b, "byte_extract", parts[0]);
  if (!bytes) return bytes.error();
  e.bytes = *bytes;
  auto offset = IntValue(b, "byte_extract offset", parts[1], -kMaxOffset, kMaxOffset);
  if (!offset) return offset.error();
  e.offset = int32_t(*offset);
  if (!IsIdentifier(parts[2].text)) {
    return b.Fail(parts[2], "byte_extract needs a variable name (letters, digits, '_'), found " +
                                Found(parts[2]));
  }
  e.name = std::string(parts[2].text);
  ByteFlags f;
  if (auto st = ParseByteFlags(b, "byte_extract", parts, 3, kFlagMultiplier | kFlagAlignN, f);
      !st) {
    return st;
  }
  if (auto st = CheckByteCount(b, "byte_extract", parts[0], e.bytes, f.string); !st) return st;
  e.relative = f.relative;
  e.multiplier = f.multiplier;
  e.endian = f.endian;
  e.string = f.string;
  e.align = f.align_n;
  e.bitmask = f.bitmask;
  b.AddByteVariable(parts[2].text);
  b.Add(std::move(e), f.relative);
  return {};
}

base::Status HandleByteMath(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "byte_math"); !st) return st;
  std::vector<Token> parts;
  SplitCommas(opt.value.text, opt.value.offset, parts);
  ByteMathOption m;
  bool has_bytes = false, has_offset = false, has_oper = false, has_rvalue = false,
       has_result = false;
  std::vector<Token> rest;
  for (const Token& p : parts) {
    NamedArg a = SplitNamed(p);
    auto once = [&](bool& seen) -> base::Status {
      if (seen) return b.Fail(a.name, "byte_math: '" + std::string(a.name.text) + "' given twice");
      seen = true;
      return {};
    };
    if (a.name.text == "bytes") {
      if (auto st = once(has_bytes); !st) return st;
      auto v = ByteCount(b, "byte_math", a.value);
      if (!v) return v.error();
      m.bytes = *v;
    } else if (a.name.text == "offset") {
      if (auto st = once(has_offset); !st) return st;
      auto v = IntOrVarValue(b, "byte_math offset", a.value, -kMaxOffset, kMaxOffset);
      if (!v) return v.error();
      m.offset = std::move(*v);
    } else if (a.name.text == "oper") {
      if (auto st = once(has_oper); !st) return st;
      static constexpr std::pair<std::string_view, ByteMathOption::Op> kOps[] = {
          {"+", ByteMathOption::Op::kAdd},  {"-", ByteMathOption::Op::kSub},
          {"*", ByteMathOption::Op::kMul},  {"/", ByteMathOption::Op::kDiv},
          {"<<", ByteMathOption::Op::kShl}, {">>", ByteMathOption::Op::kShr},
      };
      bool found = false;
      for (const auto& [text, o] : kOps) {
        if (text == a.value.text) {
          m.op = o;
          found = true;
        }
      }
      if (!found) {
        return b.Fail(a.value.text.empty() ? a.name : a.value,
                      "byte_math oper must be + - * / << or >>, found " + Found(a.value));
      }
    } else if (a.name.text == "rvalue") {
      if (auto st = once(has_rvalue); !st) return st;
      auto v = IntOrVarValue(b, "byte_math rvalue", a.value, 0, kMaxU32);
      if (!v) return v.error();
      m.rvalue = std::move(*v);
    } else if (a.name.text == "result") {
      if (auto st = once(has_result); !st) return st;
      if (!IsIdentifier(a.value.text)) {
        return b.Fail(a.value.text.empty() ? a.name : a.value,
                      "byte_math result needs a variable name");
      }
      m.result = std::string(a.value.text);
    } else {
      rest.push_back(p);
    }
  }
  size_t end = opt.value.offset + opt.value.text.size();
  if (!has_bytes) return b.Fail(end, "byte_math needs 'bytes N'");
  if (!has_offset) return b.Fail(end, "byte_math needs 'offset N'");
  if (!has_oper) return b.Fail(end, "byte_math needs 'oper OP'");
  if (!has_rvalue) return b.Fail(end, "byte_math needs 'rvalue N'");
  if (!has_result) return b.Fail(end, "byte_math needs 'result NAME'");
  if (m.op == ByteMathOption::Op::kDiv && !m.rvalue.IsVar() && m.rvalue.value == 0) {
    return b.Fail(opt.value, "byte_math divides by rvalue 0");
  }
  ByteFlags f;
  if (auto st = ParseByteFlags(b, "byte_math", rest, 0, kFlagEndianWord, f); !st) return st;
  m.relative = f.relative;
  m.endian = f.endian;
  m.string = f.string;
  m.bitmask = f.bitmask;
  for (const Token& p : parts) {
    NamedArg a = SplitNamed(p);
    if (a.name.text == "result") b.AddByteVariable(a.value.text);
  }
  b.Add(std::move(m), f.relative);
  return {};
}

// ---------------------------------------------------------------------------------------------
// isdataat, size tests, header fields

base::Status HandleIsdataat(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "isdataat"); !st) return st;
  std::vector<Token>& parts = b.scratch();
  SplitCommas(opt.value.text, opt.value.offset, parts);
  IsDataAtOption d;
  Token first = parts[0];
  if (first.text.starts_with('!')) {
    d.negated = true;
    first = Trim(Token{first.text.substr(1), first.offset + 1});
  }
  auto offset = IntOrVarValue(b, "isdataat offset", first, -kMaxOffset, kMaxOffset);
  if (!offset) return offset.error();
  d.offset = std::move(*offset);
  for (size_t i = 1; i < parts.size(); ++i) {
    bool* flag = parts[i].text == "relative"   ? &d.relative
                 : parts[i].text == "rawbytes" ? &d.rawbytes
                                               : nullptr;
    if (flag == nullptr) {
      return b.Fail(parts[i], "isdataat takes 'relative' and 'rawbytes', found " + Found(parts[i]));
    }
    if (*flag) return b.Fail(parts[i], "isdataat: " + Found(parts[i]) + " given twice");
    *flag = true;
  }
  bool relative = d.relative;
  b.Add(std::move(d), relative);
  return {};
}

struct NumericKeyword {
  std::string_view name;
  NumericField field;
  int64_t max;
};
constexpr NumericKeyword kNumericKeywords[] = {
    {"dsize", NumericField::kDsize, 65535},
    {"bsize", NumericField::kBsize, kMaxU32},
    {"bufferlen", NumericField::kBufferlen, 65535},
    {"ttl", NumericField::kTtl, 255},
    {"tos", NumericField::kTos, 255},
    {"id", NumericField::kId, 65535},
    {"fragoffset", NumericField::kFragoffset, 8191},
    {"ip_proto", NumericField::kIpProto, 255},
    {"seq", NumericField::kSeq, kMaxU32},
    {"ack", NumericField::kAck, kMaxU32},
    {"window", NumericField::kWindow, 65535},
    {"itype", NumericField::kItype, 255},
    {"icode", NumericField::kIcode, 255},
    {"icmp_id", NumericField::kIcmpId, 65535},
    {"icmp_seq", NumericField::kIcmpSeq, 65535},
};

// ip_proto may name the protocol (getprotobyname's names for the common ones).
constexpr std::pair<std::string_view, int> kIpProtocolNames[] = {
    {"icmp", 1},  {"igmp", 2},  {"ipip", 4},   {"tcp", 6},    {"egp", 8},        {"udp", 17},
    {"ipv6", 41}, {"gre", 47},  {"esp", 50},   {"ah", 51},    {"ipv6-icmp", 58}, {"icmpv6", 58},
    {"ospf", 89}, {"pim", 103}, {"vrrp", 112}, {"sctp", 132},
};

template <NumericField kField>
base::Status HandleNumeric(Builder& b, const OptionToken& opt) {
  const NumericKeyword* k = nullptr;
  for (const NumericKeyword& n : kNumericKeywords) {
    if (n.field == kField) k = &n;
  }
  if (auto st = NeedValue(b, opt, k->name); !st) return st;
  NumericOption n;
  n.field = kField;
  Token value = opt.value;
  std::string number_text;
  if (kField == NumericField::kIpProto) {
    // Replace a protocol name by its number, keeping the operator.
    size_t name_start = 0;
    while (name_start < value.text.size() &&
           (value.text[name_start] == '!' || value.text[name_start] == '<' ||
            value.text[name_start] == '>' || value.text[name_start] == '=')) {
      ++name_start;
    }
    std::string_view name = value.text.substr(name_start);
    for (const auto& [proto, number] : kIpProtocolNames) {
      if (proto == name) {
        number_text = std::string(value.text.substr(0, name_start)) + std::to_string(number);
      }
    }
    if (!number_text.empty()) value.text = number_text;
  }
  auto test = ParseNumberTest(b, k->name, value, 0, k->max);
  if (!test) {
    if (!number_text.empty()) return b.Fail(opt.value, test.error().message);
    return test.error();
  }
  n.test = *test;
  if (kField == NumericField::kBsize || kField == NumericField::kBufferlen) {
    b.Add(std::move(n));
  } else {
    // Not a buffer option: keep `buffer` empty whatever the sticky buffer is.
    b.rule().options.emplace_back(std::move(n));
  }
  return {};
}

base::Status HandleUrilen(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "urilen"); !st) return st;
  UrilenOption u;
  Token value = opt.value;
  size_t comma = value.text.find(',');
  if (comma != std::string_view::npos) {
    Token form = Trim(Token{value.text.substr(comma + 1), value.offset + comma + 1});
    if (form.text == "norm") {
      u.form = UrilenOption::Form::kNorm;
    } else if (form.text == "raw") {
      u.form = UrilenOption::Form::kRaw;
    } else {
      return b.Fail(form, "urilen takes 'norm' or 'raw' after the ',', found " + Found(form));
    }
    value = Trim(Token{value.text.substr(0, comma), value.offset});
  }
  auto test = ParseNumberTest(b, "urilen", value, 0, 65535);
  if (!test) return test.error();
  u.test = *test;
  b.Add(u);
  return {};
}

base::Status HandleStreamSize(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "stream_size"); !st) return st;
  std::vector<Token>& parts = b.scratch();
  SplitCommas(opt.value.text, opt.value.offset, parts);
  if (parts.size() != 3) return b.Fail(opt.value, "stream_size needs side,operator,value");
  StreamSizeOption s;
  static constexpr std::pair<std::string_view, StreamSizeOption::Side> kSides[] = {
      {"client", StreamSizeOption::Side::kClient},
      {"server", StreamSizeOption::Side::kServer},
      {"both", StreamSizeOption::Side::kBoth},
      {"either", StreamSizeOption::Side::kEither},
  };
  bool found = false;
  for (const auto& [name, side] : kSides) {
    if (name == parts[0].text) {
      s.side = side;
      found = true;
    }
  }
  if (!found) return b.Fail(parts[0], "stream_size side must be client, server, both or either");
  static constexpr std::pair<std::string_view, NumberTest::Op> kOps[] = {
      {"=", NumberTest::Op::kEq},  {"!=", NumberTest::Op::kNe}, {"<", NumberTest::Op::kLt},
      {"<=", NumberTest::Op::kLe}, {">", NumberTest::Op::kGt},  {">=", NumberTest::Op::kGe},
  };
  found = false;
  for (const auto& [name, op] : kOps) {
    if (name == parts[1].text) {
      s.op = op;
      found = true;
    }
  }
  if (!found) return b.Fail(parts[1], "stream_size operator must be = != < <= > or >=");
  auto v = IntValue(b, "stream_size value", parts[2], 0, kMaxU32);
  if (!v) return v.error();
  s.value = uint32_t(*v);
  b.Add(s);
  return {};
}

// Reads [!*+]LETTERS[+*!] into bits; `letters` maps each letter to its bit.
base::Status ParseBits(Builder& b, std::string_view keyword, const Token& t,
                       std::span<const std::pair<char, uint8_t>> letters, uint8_t& bits,
                       BitsModifier& modifier, bool allow_zero) {
  bool seen_modifier = false;
  bool zero = false;
  for (size_t i = 0; i < t.text.size(); ++i) {
    char c = t.text[i];
    if (c == '!' || c == '*' || c == '+') {
      if (seen_modifier) {
        return b.Fail(t.offset + i, std::string(keyword) + " takes one modifier (+ * or !)");
      }
      seen_modifier = true;
      modifier = c == '!'   ? BitsModifier::kNot
                 : c == '*' ? BitsModifier::kAny
                            : BitsModifier::kPlus;
      continue;
    }
    if (IsSpace(c)) continue;
    if (c == '0' && allow_zero) {
      zero = true;
      continue;
    }
    uint8_t bit = 0;
    for (const auto& [letter, value] : letters) {
      if (letter == c) bit = value;
    }
    if (bit == 0) {
      return b.Fail(t.offset + i,
                    std::string("unknown ") + std::string(keyword) + " letter '" + c + "'");
    }
    if (bits & bit) {
      return b.Fail(t.offset + i, std::string(keyword) + " letter '" + c + "' given twice");
    }
    bits |= bit;
  }
  if (zero && bits != 0)
    return b.Fail(t,
                  std::string(keyword) + ": '0' means no flag; it cannot be combined with letters");
  if (!zero && bits == 0) return b.Fail(t, std::string(keyword) + " needs at least one letter");
  return {};
}

constexpr std::pair<char, uint8_t> kTcpFlagLetters[] = {
    {'F', kTcpFin}, {'S', kTcpSyn}, {'R', kTcpRst}, {'P', kTcpPsh}, {'A', kTcpAck},
    {'U', kTcpUrg}, {'C', kTcpCwr}, {'E', kTcpEce}, {'1', kTcpCwr}, {'2', kTcpEce},
};

base::Status HandleFlags(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "flags"); !st) return st;
  FlagsOption f;
  Token flags = opt.value;
  size_t comma = flags.text.find(',');
  if (comma != std::string_view::npos) {
    Token mask = Trim(Token{flags.text.substr(comma + 1), flags.offset + comma + 1});
    flags = Trim(Token{flags.text.substr(0, comma), flags.offset});
    BitsModifier none = BitsModifier::kNone;
    if (auto st = ParseBits(b, "flags mask", mask, kTcpFlagLetters, f.ignore, none, false); !st) {
      return st;
    }
    if (none != BitsModifier::kNone) return b.Fail(mask, "the flags mask takes no modifier");
  }
  if (auto st = ParseBits(b, "flags", flags, kTcpFlagLetters, f.flags, f.modifier, true); !st) {
    return st;
  }
  b.Add(f);
  return {};
}

base::Status HandleFragbits(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "fragbits"); !st) return st;
  static constexpr std::pair<char, uint8_t> kLetters[] = {
      {'M', kFragMore}, {'D', kFragDont}, {'R', kFragReserved}};
  FragbitsOption f;
  if (auto st = ParseBits(b, "fragbits", opt.value, kLetters, f.bits, f.modifier, false); !st) {
    return st;
  }
  b.Add(f);
  return {};
}

base::Status HandleIpopts(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "ipopts"); !st) return st;
  static constexpr std::string_view kNames[] = {"rr",   "eol",   "nop",  "ts",    "sec", "esec",
                                                "lsrr", "lsrre", "ssrr", "satid", "any"};
  if (std::find(std::begin(kNames), std::end(kNames), opt.value.text) == std::end(kNames)) {
    return b.Fail(opt.value, "unknown ipopts option " + Found(opt.value) +
                                 " (expected rr, eol, nop, ts, sec, esec, lsrr, lsrre, ssrr, satid "
                                 "or any)");
  }
  b.Add(IpoptsOption{std::string(opt.value.text)});
  return {};
}

template <FlagOption::Kind kKind>
base::Status HandleFlagOption(Builder& b, const OptionToken& opt) {
  std::string_view name = kKind == FlagOption::Kind::kSameip      ? "sameip"
                          : kKind == FlagOption::Kind::kFtpbounce ? "ftpbounce"
                                                                  : "noalert";
  if (auto st = NoValue(b, opt, name); !st) return st;
  b.Add(FlagOption{kKind});
  return {};
}

template <EventOption::Kind kKind>
base::Status HandleEvent(Builder& b, const OptionToken& opt) {
  std::string_view name = kKind == EventOption::Kind::kAppLayer ? "app-layer-event"
                          : kKind == EventOption::Kind::kDecode ? "decode-event"
                          : kKind == EventOption::Kind::kStream ? "stream-event"
                                                                : "engine-event";
  if (auto st = NeedValue(b, opt, name); !st) return st;
  EventOption e;
  e.kind = kKind;
  Token v = opt.value;
  if (v.text.starts_with('!')) {
    e.negated = true;
    v = Trim(Token{v.text.substr(1), v.offset + 1});
  }
  if (!IsNameText(v.text)) {
    return b.Fail(v,
                  std::string(name) + " needs an event name like proto.event, found " + Found(v));
  }
  e.name = std::string(v.text);
  b.Add(std::move(e));
  return {};
}

base::Status HandleAppLayerProtocol(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "app-layer-protocol"); !st) return st;
  AppLayerProtocolOption a;
  Token v = opt.value;
  if (v.text.starts_with('!')) {
    a.negated = true;
    v = Trim(Token{v.text.substr(1), v.offset + 1});
  }
  if (!IsNameText(v.text)) return b.Fail(v, "app-layer-protocol needs a protocol name");
  a.protocol = std::string(v.text);
  b.Add(std::move(a));
  return {};
}

// ---------------------------------------------------------------------------------------------
// base64, asn1, ber, dce, ssl, sip, tls

base::Status HandleBase64Decode(Builder& b, const OptionToken& opt) {
  Base64DecodeOption d;
  if (opt.has_value) {
    if (opt.value.text.empty()) return b.Fail(opt.keyword, "base64_decode: empty value");
    std::vector<Token>& parts = b.scratch();
    SplitCommas(opt.value.text, opt.value.offset, parts);
    for (const Token& p : parts) {
      NamedArg a = SplitNamed(p);
      if (a.name.text == "relative" && a.value.text.empty() && !d.relative) {
        d.relative = true;
      } else if (a.name.text == "bytes" && !d.bytes) {
        auto v = IntValue(b, "base64_decode bytes", a.value, 1, kMaxU32);
        if (!v) return v.error();
        d.bytes = uint32_t(*v);
      } else if (a.name.text == "offset" && !d.offset) {
        auto v = IntValue(b, "base64_decode offset", a.value, 0, kMaxU32);
        if (!v) return v.error();
        d.offset = uint32_t(*v);
      } else {
        return b.Fail(p,
                      "base64_decode takes 'bytes N', 'offset N' and 'relative' once each, "
                      "found " +
                          Found(p));
      }
    }
  }
  bool relative = d.relative;
  b.Add(std::move(d), relative);
  return {};
}

base::Status HandleAsn1(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "asn1"); !st) return st;
  std::vector<Token>& parts = b.scratch();
  SplitCommas(opt.value.text, opt.value.offset, parts);
  Asn1Option a;
  for (const Token& p : parts) {
    NamedArg n = SplitNamed(p);
    std::string_view w = n.name.text;
    if (w == "bitstring_overflow" && n.value.text.empty() && !a.bitstring_overflow) {
      a.bitstring_overflow = true;
    } else if (w == "double_overflow" && n.value.text.empty() && !a.double_overflow) {
      a.double_overflow = true;
    } else if (w == "oversize_length" && !a.oversize_length) {
      auto v = IntValue(b, "asn1 oversize_length", n.value, 0, kMaxU32);
      if (!v) return v.error();
      a.oversize_length = uint32_t(*v);
    } else if ((w == "absolute_offset" || w == "relative_offset") && !a.absolute_offset &&
               !a.relative_offset) {
      auto v = IntValue(b, "asn1 " + std::string(w), n.value, -kMaxOffset, kMaxOffset);
      if (!v) return v.error();
      (w == "absolute_offset" ? a.absolute_offset : a.relative_offset) = int32_t(*v);
    } else {
      return b.Fail(p, "unknown or repeated asn1 argument " + Found(p));
    }
  }
  b.Add(a);
  return {};
}

template <bool kSkip>
base::Status HandleBer(Builder& b, const OptionToken& opt) {
  std::string_view name = kSkip ? "ber_skip" : "ber_data";
  if (auto st = NeedValue(b, opt, name); !st) return st;
  std::vector<Token>& parts = b.scratch();
  SplitCommas(opt.value.text, opt.value.offset, parts);
  BerOption o;
  o.skip = kSkip;
  auto v = IntValue(b, std::string(name) + " type", parts[0], 0, 255);
  if (!v) return v.error();
  o.type = uint32_t(*v);
  if (parts.size() > 1) {
    if (!kSkip || parts[1].text != "optional" || parts.size() > 2) {
      return b.Fail(parts[1], std::string(name) + ": unexpected argument " + Found(parts[1]));
    }
    o.optional = true;
  }
  b.Add(o);
  return {};
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : HexValue(s[i]) < 0) return false;
  }
  return true;
}

base::Status HandleDceIface(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "dce_iface"); !st) return st;
  std::vector<Token>& parts = b.scratch();
  SplitCommas(opt.value.text, opt.value.offset, parts);
  DceIfaceOption d;
  for (size_t i = 0; i < parts.size(); ++i) {
    NamedArg a = SplitNamed(parts[i]);
    if (i == 0) {
      Token uuid = a.name.text == "uuid" ? a.value : parts[i];
      if (!IsUuid(uuid.text)) {
        return b.Fail(uuid,
                      "dce_iface needs a UUID like 4b324fc8-1670-01d3-1278-5a47bf6ee188, "
                      "found " +
                          Found(uuid));
      }
      d.uuid = std::string(uuid.text);
      for (char& c : d.uuid) c = c >= 'A' && c <= 'F' ? char(c - 'A' + 'a') : c;
    } else if (a.name.text == "any_frag" && a.value.text.empty() && !d.any_frag) {
      d.any_frag = true;
    } else if (!d.version) {
      Token v = a.name.text == "version" ? a.value : parts[i];
      auto test = ParseNumberTest(b, "dce_iface version", v, 0, 65535);
      if (!test) return test.error();
      d.version = *test;
    } else {
      return b.Fail(parts[i], "unexpected dce_iface argument " + Found(parts[i]));
    }
  }
  b.Add(std::move(d));
  return {};
}

base::Status HandleDceOpnum(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "dce_opnum"); !st) return st;
  Token value = opt.value;
  if (value.text.size() >= 2 && value.text.front() == '"' && value.text.back() == '"') {
    value = Trim(Token{value.text.substr(1, value.text.size() - 2), value.offset + 1});  // Snort 3
  }
  std::vector<Token>& parts = b.scratch();
  SplitCommas(value.text, value.offset, parts);
  DceOpnumOption d;
  for (const Token& p : parts) {
    size_t dash = p.text.find('-');
    DceOpnumOption::Range r;
    Token lo = dash == std::string_view::npos ? p : Trim(Token{p.text.substr(0, dash), p.offset});
    auto l = IntValue(b, "dce_opnum", lo, 0, 65535);
    if (!l) return l.error();
    r.lo = r.hi = uint16_t(*l);
    if (dash != std::string_view::npos) {
      auto h = IntValue(b, "dce_opnum", Trim(Token{p.text.substr(dash + 1), p.offset + dash + 1}),
                        0, 65535);
      if (!h) return h.error();
      if (*h < *l) return b.Fail(p, "dce_opnum range " + std::string(p.text) + " is empty");
      r.hi = uint16_t(*h);
    }
    d.ranges.push_back(r);
  }
  b.Add(std::move(d));
  return {};
}

template <bool kVersion>
base::Status HandleSsl(Builder& b, const OptionToken& opt) {
  std::string_view name = kVersion ? "ssl_version" : "ssl_state";
  static constexpr std::string_view kStates[] = {"client_hello", "server_hello", "client_keyx",
                                                 "server_keyx", "unknown"};
  static constexpr std::string_view kVersions[] = {"sslv2",  "sslv3",  "tls1.0",
                                                   "tls1.1", "tls1.2", "tls1.3"};
  if (auto st = NeedValue(b, opt, name); !st) return st;
  std::vector<Token>& parts = b.scratch();
  SplitCommas(opt.value.text, opt.value.offset, parts);
  SslOption s;
  s.version = kVersion;
  for (const Token& p : parts) {
    SslOption::Item item;
    Token w = p;
    if (w.text.starts_with('!')) {
      item.negated = true;
      w = Trim(Token{w.text.substr(1), w.offset + 1});
    }
    std::span<const std::string_view> names = kVersion
                                                  ? std::span<const std::string_view>(kVersions)
                                                  : std::span<const std::string_view>(kStates);
    if (std::find(names.begin(), names.end(), w.text) == names.end()) {
      return b.Fail(w, "unknown " + std::string(name) + " value " + Found(w));
    }
    item.name = std::string(w.text);
    s.items.push_back(std::move(item));
  }
  b.Add(std::move(s));
  return {};
}

template <bool kStatCode>
base::Status HandleSip(Builder& b, const OptionToken& opt) {
  std::string_view name = kStatCode ? "sip_stat_code" : "sip_method";
  if (auto st = NeedValue(b, opt, name); !st) return st;
  SipOption s;
  s.stat_code = kStatCode;
  Token value = opt.value;
  if (!kStatCode && value.text.starts_with('!')) {
    s.negated = true;
    value = Trim(Token{value.text.substr(1), value.offset + 1});
  }
  std::vector<Token>& parts = b.scratch();
  SplitCommas(value.text, value.offset, parts);
  for (const Token& p : parts) {
    if (kStatCode) {
      // A full code (100..999) or a class (1..9).
      int64_t v = 0;
      if (!ParseInt(p.text, 1, 999, v) || (v > 9 && v < 100)) {
        return b.Fail(p, "sip_stat_code needs codes 100..999 or classes 1..9, found " + Found(p));
      }
    } else if (!IsNameText(p.text)) {
      return b.Fail(p, "sip_method needs method names, found " + Found(p));
    }
    s.values.emplace_back(p.text);
  }
  b.Add(std::move(s));
  return {};
}

base::Status HandleTlsVersion(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "tls.version"); !st) return st;
  static constexpr std::string_view kVersions[] = {"1.0", "1.1", "1.2", "1.3"};
  std::string_view v = opt.value.text;
  int64_t n = 0;
  bool hex = v.size() > 2 && v.starts_with("0x") && ParseInt(v, 0, 0xffff, n);
  if (!hex && std::find(std::begin(kVersions), std::end(kVersions), v) == std::end(kVersions)) {
    return b.Fail(opt.value, "tls.version must be 1.0, 1.1, 1.2, 1.3 or a 0x number, found " +
                                 Found(opt.value));
  }
  b.Add(TlsOption{TlsOption::Field::kVersion, false, std::string(v)});
  return {};
}

template <TlsOption::Field kField>
base::Status HandleTlsMatch(Builder& b, const OptionToken& opt) {
  std::string_view name = kField == TlsOption::Field::kFingerprint ? "tls.fingerprint"
                          : kField == TlsOption::Field::kSubject   ? "tls.subject"
                                                                   : "tls.issuerdn";
  if (auto st = NeedValue(b, opt, name); !st) return st;
  TlsOption t;
  t.field = kField;
  Token v = opt.value;
  if (v.text.starts_with('!')) {
    t.negated = true;
    v = Trim(Token{v.text.substr(1), v.offset + 1});
  }
  auto s = QuotedString(b, name, v);
  if (!s) return s.error();
  if (s->empty()) return b.Fail(v, std::string(name) + ": empty value");
  t.value = std::move(*s);
  b.Add(std::move(t));
  return {};
}

// ---------------------------------------------------------------------------------------------
// Transforms (Suricata): change the sticky buffer for the options after them

constexpr std::string_view kTransforms[] = {
    "dotprefix",
    "to_md5",
    "to_sha1",
    "to_sha256",
    "to_lowercase",
    "to_uppercase",
    "strip_whitespace",
    "compress_whitespace",
    "url_decode",
    "header_lowercase",
    "strip_pseudo_headers",
    "from_base64",
    "pcrexform",
    "luaxform",
    "xor",
};
constexpr std::string_view kTransformsWithArgument[] = {"pcrexform", "luaxform", "xor"};

base::Status HandleTransform(Builder& b, const OptionToken& opt) {
  std::string lower;
  for (char c : opt.keyword.text) lower += c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
  bool needs = std::find(std::begin(kTransformsWithArgument), std::end(kTransformsWithArgument),
                         lower) != std::end(kTransformsWithArgument);
  if (needs && (!opt.has_value || opt.value.text.empty())) {
    return b.Fail(opt.keyword, lower + " needs a value");
  }
  if (!needs && lower != "from_base64" && opt.has_value) {
    return b.Fail(opt.value, lower + " takes no value");
  }
  if (opt.has_value && opt.value.text.empty()) return b.Fail(opt.keyword, lower + ": empty value");
  b.Add(TransformOption{lower, std::string(opt.value.text), {}});
  return {};
}

// ---------------------------------------------------------------------------------------------
// The keyword tables.

base::Status HandleOther(Builder& b, const OptionToken& opt);

// protected_content is a pattern of its own: modifiers after it are its.
base::Status HandleOtherPattern(Builder& b, const OptionToken& opt) {
  b.set_last_pattern_other();
  return HandleOther(b, opt);
}

struct Keyword {
  std::string_view name;
  Handler handler;
  KeywordSupport support;
};

constexpr Keyword kHandled[] = {
    {"msg", HandleMsg, KeywordSupport::kRuleField},
    {"sid", HandleSid, KeywordSupport::kRuleField},
    {"rev", HandleRev, KeywordSupport::kRuleField},
    {"gid", HandleGid, KeywordSupport::kRuleField},
    {"classtype", HandleClasstype, KeywordSupport::kRuleField},
    {"priority", HandlePriority, KeywordSupport::kRuleField},
    {"reference", HandleReference, KeywordSupport::kRuleField},
    {"metadata", HandleMetadata, KeywordSupport::kRuleField},
    {"service", HandleService, KeywordSupport::kRuleField},
    {"target", HandleTarget, KeywordSupport::kRuleField},
    {"content", HandleContent, KeywordSupport::kTyped},
    {"uricontent", HandleUricontent, KeywordSupport::kTyped},
    {"nocase", HandleModifier<Modifier::kNocase>, KeywordSupport::kTyped},
    {"rawbytes", HandleModifier<Modifier::kRawbytes>, KeywordSupport::kTyped},
    {"offset", HandleModifier<Modifier::kOffset>, KeywordSupport::kTyped},
    {"depth", HandleModifier<Modifier::kDepth>, KeywordSupport::kTyped},
    {"distance", HandleModifier<Modifier::kDistance>, KeywordSupport::kTyped},
    {"within", HandleModifier<Modifier::kWithin>, KeywordSupport::kTyped},
    {"fast_pattern", HandleModifier<Modifier::kFastPattern>, KeywordSupport::kTyped},
    {"startswith", HandleModifier<Modifier::kStartswith>, KeywordSupport::kTyped},
    {"endswith", HandleModifier<Modifier::kEndswith>, KeywordSupport::kTyped},
    {"pcre", HandlePcre, KeywordSupport::kTyped},
    {"flow", HandleFlow, KeywordSupport::kTyped},
    {"flowbits", HandleFlowbits, KeywordSupport::kTyped},
    {"flowint", HandleFlowint, KeywordSupport::kTyped},
    {"xbits", HandleXbits, KeywordSupport::kTyped},
    {"threshold", HandleThreshold, KeywordSupport::kTyped},
    {"detection_filter", HandleDetectionFilter, KeywordSupport::kTyped},
    {"tag", HandleTag, KeywordSupport::kTyped},
    {"byte_test", HandleByteTest, KeywordSupport::kTyped},
    {"byte_jump", HandleByteJump, KeywordSupport::kTyped},
    {"byte_extract", HandleByteExtract, KeywordSupport::kTyped},
    {"byte_math", HandleByteMath, KeywordSupport::kTyped},
    {"isdataat", HandleIsdataat, KeywordSupport::kTyped},
    {"dsize", HandleNumeric<NumericField::kDsize>, KeywordSupport::kTyped},
    {"bsize", HandleNumeric<NumericField::kBsize>, KeywordSupport::kTyped},
    {"bufferlen", HandleNumeric<NumericField::kBufferlen>, KeywordSupport::kTyped},
    {"ttl", HandleNumeric<NumericField::kTtl>, KeywordSupport::kTyped},
    {"tos", HandleNumeric<NumericField::kTos>, KeywordSupport::kTyped},
    {"id", HandleNumeric<NumericField::kId>, KeywordSupport::kTyped},
    {"fragoffset", HandleNumeric<NumericField::kFragoffset>, KeywordSupport::kTyped},
    {"ip_proto", HandleNumeric<NumericField::kIpProto>, KeywordSupport::kTyped},
    {"seq", HandleNumeric<NumericField::kSeq>, KeywordSupport::kTyped},
    {"ack", HandleNumeric<NumericField::kAck>, KeywordSupport::kTyped},
    {"window", HandleNumeric<NumericField::kWindow>, KeywordSupport::kTyped},
    {"itype", HandleNumeric<NumericField::kItype>, KeywordSupport::kTyped},
    {"icode", HandleNumeric<NumericField::kIcode>, KeywordSupport::kTyped},
    {"icmp_id", HandleNumeric<NumericField::kIcmpId>, KeywordSupport::kTyped},
    {"icmp_seq", HandleNumeric<NumericField::kIcmpSeq>, KeywordSupport::kTyped},
    {"urilen", HandleUrilen, KeywordSupport::kTyped},
    {"stream_size", HandleStreamSize, KeywordSupport::kTyped},
    {"flags", HandleFlags, KeywordSupport::kTyped},
    {"fragbits", HandleFragbits, KeywordSupport::kTyped},
    {"ipopts", HandleIpopts, KeywordSupport::kTyped},
    {"sameip", HandleFlagOption<FlagOption::Kind::kSameip>, KeywordSupport::kTyped},
    {"ftpbounce", HandleFlagOption<FlagOption::Kind::kFtpbounce>, KeywordSupport::kTyped},
    {"noalert", HandleFlagOption<FlagOption::Kind::kNoalert>, KeywordSupport::kTyped},
    {"app-layer-event", HandleEvent<EventOption::Kind::kAppLayer>, KeywordSupport::kTyped},
    {"decode-event", HandleEvent<EventOption::Kind::kDecode>, KeywordSupport::kTyped},
    {"stream-event", HandleEvent<EventOption::Kind::kStream>, KeywordSupport::kTyped},
    {"engine-event", HandleEvent<EventOption::Kind::kEngine>, KeywordSupport::kTyped},
    {"app-layer-protocol", HandleAppLayerProtocol, KeywordSupport::kTyped},
    {"base64_decode", HandleBase64Decode, KeywordSupport::kTyped},
    {"asn1", HandleAsn1, KeywordSupport::kTyped},
    {"ber_data", HandleBer<false>, KeywordSupport::kTyped},
    {"ber_skip", HandleBer<true>, KeywordSupport::kTyped},
    {"dce_iface", HandleDceIface, KeywordSupport::kTyped},
    {"dce_opnum", HandleDceOpnum, KeywordSupport::kTyped},
    {"ssl_state", HandleSsl<false>, KeywordSupport::kTyped},
    {"ssl_version", HandleSsl<true>, KeywordSupport::kTyped},
    {"sip_method", HandleSip<false>, KeywordSupport::kTyped},
    {"sip_stat_code", HandleSip<true>, KeywordSupport::kTyped},
    {"tls.version", HandleTlsVersion, KeywordSupport::kTyped},
    {"tls.fingerprint", HandleTlsMatch<TlsOption::Field::kFingerprint>, KeywordSupport::kTyped},
    {"tls.subject", HandleTlsMatch<TlsOption::Field::kSubject>, KeywordSupport::kTyped},
    {"tls.issuerdn", HandleTlsMatch<TlsOption::Field::kIssuer>, KeywordSupport::kTyped},
    {"protected_content", HandleOtherPattern, KeywordSupport::kOther},
};

// Keywords of Snort 2.9, Snort 3 and Suricata 7 that none of the shipped rulesets uses: kept
// verbatim as OtherOption.
constexpr std::string_view kOther[] = {
    // Payload inspection
    "regex",
    "absent",
    "cvs",
    "replace",
    "hash",
    "length",
    "sd_pattern",
    "prefilter",
    "entropy",
    "lua",
    "luajit",
    "so",
    "http_encode",
    "file_type",
    "file_meta",
    "md5",
    "sha256",
    "sha512",
    // HTTP (Snort 3) tests that are not buffers
    "http_version_match",
    "http_num_headers",
    "http_num_trailers",
    "http_num_cookies",
    "http_max_header_line",
    "http_max_trailer_line",
    "http_header_test",
    "http_trailer_test",
    "http2.frametype",
    "http2.errorcode",
    "http2.priority",
    "http2.window",
    "http2.size_update",
    "http2.settings",
    // Application layer values
    "dns.opcode",
    "dns.rrtype",
    "dns.rcode",
    "tls.store",
    "tls_cert_notbefore",
    "tls_cert_notafter",
    "tls_cert_expired",
    "tls_cert_valid",
    "ssh.protoversion",
    "ssh.softwareversion",
    "filename",
    "fileext",
    "filemagic",
    "filestore",
    "filemd5",
    "filesha1",
    "filesha256",
    "filesize",
    "smb.version",
    "dcerpc.iface",
    "dcerpc.opnum",
    "krb5_msg_type",
    "krb5_err_code",
    "krb5.weak_encryption",
    "snmp.version",
    "snmp.pdu_type",
    "ftpdata_command",
    "mqtt.type",
    "mqtt.flags",
    "mqtt.qos",
    "mqtt.reason_code",
    "mqtt.connack.session_present",
    "mqtt.connect.flags",
    "mqtt.protocol_version",
    "rfb.secresult",
    "rfb.sectype",
    "ike.chosen_sa_attribute",
    "ike.exchtype",
    "ike.key_exchange_payload_length",
    "ike.nonce_payload_length",
    "nfs_procedure",
    "nfs.version",
    "rpc",
    "dhcp.leasetime",
    "dhcp.rebinding_time",
    "dhcp.renewal_time",
    "bittorrent-dht.query.info_hash",
    "ldap.request.operation",
    "ldap.responses.operation",
    "websocket.opcode",
    "websocket.flags",
    "websocket.mask",
    // Industrial protocols
    "modbus",
    "modbus_func",
    "modbus_unit",
    "modbus_data",
    "dnp3_func",
    "dnp3_ind",
    "dnp3_obj",
    "enip_command",
    "enip_req",
    "enip_rsp",
    "cip_service",
    "cip_attribute",
    "cip_class",
    "cip_conn_path_class",
    "cip_instance",
    "cip_req",
    "cip_rsp",
    "cip_status",
    "iec104_apci_type",
    "iec104_asdu_func",
    "mms_data",
    "mms_func",
    "s7commplus_content",
    "s7commplus_func",
    "s7commplus_opcode",
    "gtp_type",
    "gtp_info",
    "gtp_version",
    // Header fields
    "ipv4.hdr",
    "ipv6.hdr",
    "geoip",
    "tcp.flags",
    "tcp.mss",
    "tcp.hdr",
    "tcp.wscale",
    "udp.hdr",
    "icmpv4.hdr",
    "icmpv6.hdr",
    "icmpv6.mtu",
    "pkthdr",
    "vlan.id",
    "stream_reassemble",
    "flow.age",
    "flow.pkts",
    "flow.bytes",
    "mss",
    "wscale",
    // Flow state and application layer
    "hostbits",
    "app-layer-state",
    "appid",
    "appids",
    "iprep",
    "datarep",
    "dataset",
    "config",
    "bypass",
    "frame",
    "requires",
    // Post-detection
    "alert",
    "logto",
    "session",
    "resp",
    "react",
    "activates",
    "activated_by",
    "count",
    "rem",
    "soid",
    "file_id",
    "awarn",
};

// Every keyword, by lowercase name.
struct KeywordEntry {
  Handler handler = nullptr;
  const BufferKeyword* buffer = nullptr;
  KeywordSupport support = KeywordSupport::kUnknown;
};
using KeywordTable = std::unordered_map<std::string_view, KeywordEntry>;

const KeywordTable& Keywords() {
  static const KeywordTable table = [] {
    KeywordTable t;
    auto add = [&t](std::string_view name, const KeywordEntry& e) {
      if (!t.emplace(name, e).second) {
        // A keyword listed twice would be handled by whichever came first: a programming error
        // that the first rule parsed (in rules_test) reveals.
        std::fprintf(stderr, "vigil: rule keyword '%.*s' is listed twice\n", int(name.size()),
                     name.data());
        std::abort();
      }
    };
    for (const Keyword& k : kHandled) add(k.name, {k.handler, nullptr, k.support});
    for (const BufferKeyword& k : kBuffers) {
      add(k.name, {nullptr, &k, KeywordSupport::kBuffer});
    }
    for (std::string_view name : kTransforms) {
      add(name, {HandleTransform, nullptr, KeywordSupport::kTyped});
    }
    for (std::string_view name : kOther) add(name, {HandleOther, nullptr, KeywordSupport::kOther});
    return t;
  }();
  return table;
}

// Lowercases `keyword` into `buf`; empty when it is too long to be any keyword.
std::string_view Lowercase(std::string_view keyword, std::array<char, 64>& buf) {
  if (keyword.size() > buf.size()) return {};
  for (size_t i = 0; i < keyword.size(); ++i) {
    char c = keyword[i];
    buf[i] = c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
  }
  return std::string_view(buf.data(), keyword.size());
}

base::Status HandleOther(Builder& b, const OptionToken& opt) {
  std::array<char, 64> buf;
  b.Add(OtherOption{std::string(Lowercase(opt.keyword.text, buf)), std::string(opt.value.text),
                    opt.has_value});
  return {};
}

// ---------------------------------------------------------------------------------------------
// Header

struct ActionEntry {
  std::string_view name;
  Action action;
};
constexpr ActionEntry kActions[] = {
    {"alert", Action::kAlert},
    {"log", Action::kLog},
    {"pass", Action::kPass},
    {"drop", Action::kDrop},
    {"reject", Action::kReject},
    {"sdrop", Action::kSdrop},
    {"rejectsrc", Action::kRejectSrc},
    {"rejectdst", Action::kRejectDst},
    {"rejectboth", Action::kRejectBoth},
};
// Actions of other dialects or versions that this engine does not implement.
constexpr std::string_view kOtherActions[] = {"block",    "react",   "rewrite",
                                              "activate", "dynamic", "config"};

struct ProtocolEntry {
  std::string_view name;
  Protocol protocol;
  bool variant;  // a narrowing kept in Rule::protocol_variant
};
constexpr ProtocolEntry kProtocols[] = {
    {"ip", Protocol::kIp, false},      {"tcp", Protocol::kTcp, false},
    {"udp", Protocol::kUdp, false},    {"icmp", Protocol::kIcmp, false},
    {"tcp-pkt", Protocol::kTcp, true}, {"tcp-stream", Protocol::kTcp, true},
    {"ipv4", Protocol::kIp, true},     {"ip4", Protocol::kIp, true},
    {"ipv6", Protocol::kIp, true},     {"ip6", Protocol::kIp, true},
    {"icmpv4", Protocol::kIcmp, true}, {"icmpv6", Protocol::kIcmp, true},
    {"sctp", Protocol::kIp, true},     {"pkthdr", Protocol::kIp, true},
};

base::Status ParseProtocol(Builder& b, const Token& t) {
  Rule& r = b.rule();
  std::string_view proto = t.text;
  for (const ProtocolEntry& p : kProtocols) {
    if (p.name != proto) continue;
    r.protocol = p.protocol;
    if (p.variant) r.protocol_variant = std::string(proto);
    return {};
  }
  if (const AppProtocol* app = FindAppProtocol(proto); app != nullptr) {
    r.protocol = app->transport;
    r.service = std::string(proto);
    return {};
  }
  return b.Fail(t, "unknown protocol '" + std::string(proto) + "'");
}

base::Status ParseHeader(Builder& b, const RuleTokens& tokens, const Variables& vars) {
  const std::vector<Token>& h = tokens.header;
  Rule& r = b.rule();
  if (h.empty()) return b.Fail(tokens.open_paren, "missing rule header before '('");

  const ActionEntry* action = nullptr;
  for (const ActionEntry& a : kActions) {
    if (a.name == h[0].text) action = &a;
  }
  if (action == nullptr) {
    for (std::string_view other : kOtherActions) {
      if (other == h[0].text) {
        return b.Fail(h[0], "action '" + std::string(other) + "' is not supported");
      }
    }
    return b.Fail(h[0], "unknown rule action '" + std::string(h[0].text) + "'");
  }
  r.action = action->action;

  // Snort 3's short headers: `alert (...)` (any protocol) and `alert http (...)` (a service or
  // transport): any any -> any any.
  if (h.size() == 1) return {};
  if (h.size() == 2) return ParseProtocol(b, h[1]);
  if (h.size() < 7) {
    return b.Fail(tokens.open_paren,
                  "incomplete rule header: expected 'action protocol source port direction "
                  "destination port', found " +
                      std::to_string(h.size()) + " fields");
  }
  if (h.size() > 7) {
    return b.Fail(h[7], "unexpected '" + std::string(h[7].text) +
                            "' after the destination port; expected '('");
  }
  if (auto st = ParseProtocol(b, h[1]); !st) return st;

  auto src = ParseAddress(h[2].text, vars);
  if (!src) return b.Relocate(src.error(), h[2]);
  auto sport = ParsePort(h[3].text, vars);
  if (!sport) return b.Relocate(sport.error(), h[3]);
  if (h[4].text == "->") {
    r.bidirectional = false;
  } else if (h[4].text == "<>") {
    r.bidirectional = true;
  } else {
    return b.Fail(h[4], "expected direction '->' or '<>', found '" + std::string(h[4].text) + "'");
  }
  auto dst = ParseAddress(h[5].text, vars);
  if (!dst) return b.Relocate(dst.error(), h[5]);
  auto dport = ParsePort(h[6].text, vars);
  if (!dport) return b.Relocate(dport.error(), h[6]);
  r.src_addr = std::move(*src);
  r.src_port = std::move(*sport);
  r.dst_addr = std::move(*dst);
  r.dst_port = std::move(*dport);
  return {};
}

// Snort 3 rules are recognised by forms only Snort 3 has: a short header, the `service` option,
// content sub-options (`content:"x",nocase`) or an HTTP buffer with arguments.
bool LooksLikeSnort3(const RuleTokens& tokens) {
  if (tokens.header.size() < 3) return true;
  std::array<char, 64> buf;
  for (const OptionToken& opt : tokens.options) {
    std::string_view k = Lowercase(opt.keyword.text, buf);
    if (k == "service") return true;
    if (k == "content" && !opt.value.text.empty() && opt.value.text.back() != '"') return true;
    if (opt.has_value && k.starts_with("http_")) {
      const BufferKeyword* buffer = FindBuffer(k);
      if (buffer != nullptr && buffer->args) return true;
    }
  }
  return false;
}

// Checks that need the whole rule.
base::Status FinishRule(Builder& b, const RuleTokens& tokens) {
  Rule& r = b.rule();
  if (r.sid == 0) return b.Fail(tokens.open_paren, "rule has no sid option");
  size_t site = 0;
  for (const Option& option : r.options) {
    const auto* c = std::get_if<ContentOption>(&option);
    if (c == nullptr) continue;
    const ContentSite& where = b.sites()[site++];
    if (c->fast_pattern_only) {
      if (c->negated) {
        return b.Fail(where.fast_pattern_offset,
                      "fast_pattern:only cannot be used on a negated content");
      }
      if (c->offset || c->depth || c->distance || c->within || c->HasVariable()) {
        return b.Fail(where.fast_pattern_offset,
                      "fast_pattern:only cannot be combined with offset, depth, distance or "
                      "within");
      }
    }
    if (c->startswith && (c->offset || c->depth || c->distance || c->within || c->HasVariable())) {
      return b.Fail(where.startswith_offset,
                    "startswith cannot be combined with offset, depth, distance or within");
    }
    if (c->fast_pattern_offset || c->fast_pattern_length) {
      int64_t off = c->fast_pattern_offset.value_or(0);
      int64_t len = c->fast_pattern_length.value_or(0);
      if (off + len > int64_t(c->pattern.size())) {
        return b.Fail(where.content_offset, "fast_pattern offset " + std::to_string(off) +
                                                " + length " + std::to_string(len) +
                                                " exceeds the content's length " +
                                                std::to_string(c->pattern.size()));
      }
    }
  }
  return {};
}

}  // namespace

KeywordSupport LookupKeyword(std::string_view keyword) {
  std::array<char, 64> buf;
  const KeywordTable& table = Keywords();
  auto it = table.find(Lowercase(keyword, buf));
  return it == table.end() ? KeywordSupport::kUnknown : it->second.support;
}

base::Result<Rule> ParseRule(std::string_view text, const Variables& vars, const std::string& file,
                             uint32_t line) {
  Builder b(file, line);
  // One per thread, its vectors' room kept from rule to rule: a ruleset is tens of thousands.
  thread_local RuleTokens tokens;
  LexError lex_error;
  if (!TokenizeRule(text, tokens, lex_error)) return b.Fail(lex_error.offset, lex_error.message);
  if (auto st = ParseHeader(b, tokens, vars); !st) return st.error();
  b.set_snort3(LooksLikeSnort3(tokens));

  const KeywordTable& table = Keywords();
  std::array<char, 64> buf;
  for (const OptionToken& opt : tokens.options) {
    auto it = table.find(Lowercase(opt.keyword.text, buf));
    if (it == table.end()) {
      return b.Fail(opt.keyword, "unknown rule option '" + std::string(opt.keyword.text) + "'");
    }
    const KeywordEntry& k = it->second;
    base::Status st = k.buffer != nullptr ? HandleBuffer(b, opt, *k.buffer) : k.handler(b, opt);
    if (!st) return st.error();
  }
  if (auto st = FinishRule(b, tokens); !st) return st.error();
  Rule rule = b.Take();
  rule.file = file;
  rule.line = line;
  return rule;
}

}  // namespace vigil::rules

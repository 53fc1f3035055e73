#include "rules/parser.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rules/lexer.h"

namespace vigil::rules {

namespace {

constexpr int32_t kMaxOffset = 65535;  // Snort's bound for offset, depth, distance and within

// ---------------------------------------------------------------------------------------------
// Building one rule

enum class LastPattern : uint8_t { kNone, kContent, kUnsupported };

// Where each content option started, for checks made once the whole rule is read.
struct ContentSite {
  size_t content_offset = 0;
  size_t fast_pattern_offset = 0;  // valid when the content has fast_pattern
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

  // Disables the rule unless an earlier reason did.
  void Disable(std::string reason) {
    if (!rule_.enabled) return;
    rule_.enabled = false;
    rule_.disabled_reason = std::move(reason);
  }

  void AddRaw(const OptionToken& opt) {
    rule_.unsupported_options.push_back(RawOption{std::string(opt.keyword.text),
                                                  std::string(opt.value.text), opt.has_value,
                                                  rule_.options.size()});
  }

  // The content that modifiers apply to (the last one), or nullptr.
  ContentOption* last_content() {
    if (last_content_ < 0) return nullptr;
    return std::get_if<ContentOption>(&rule_.options[size_t(last_content_)]);
  }
  ContentSite& last_site() { return sites_.back(); }
  LastPattern last_pattern() const { return last_pattern_; }
  void set_last_pattern_unsupported() { last_pattern_ = LastPattern::kUnsupported; }

  ContentOption& AddContent(size_t offset) {
    rule_.options.emplace_back(ContentOption{});
    last_content_ = int(rule_.options.size() - 1);
    last_pattern_ = LastPattern::kContent;
    sites_.push_back(ContentSite{offset, 0});
    return std::get<ContentOption>(rule_.options.back());
  }
  const std::vector<ContentSite>& sites() const { return sites_; }

  // byte_extract / byte_math variable names, which modifiers may use instead of numbers.
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
  std::vector<std::string_view> byte_variables_;
  std::vector<std::string_view> seen_once_;
  std::vector<Token> scratch_;
};

using Handler = base::Status (*)(Builder&, const OptionToken&);

// ---------------------------------------------------------------------------------------------
// Small value parsers

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A byte_extract / byte_math variable name.
bool IsIdentifier(std::string_view s) {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_')) {
    return false;
  }
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_' ||
              c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// A decimal integer with an optional sign, within [min, max].
bool ParseInt(std::string_view s, int64_t min, int64_t max, int64_t& out) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  if (negative) v = -v;
  if (v < min || v > max) return false;
  out = v;
  return true;
}

base::Result<int64_t> IntValue(Builder& b, std::string_view keyword, const Token& value,
                               int64_t min, int64_t max) {
  int64_t v = 0;
  if (!ParseInt(value.text, min, max, v)) {
    std::string found = value.text.empty() ? "nothing" : "'" + std::string(value.text) + "'";
    return b.Fail(value, std::string(keyword) + " must be an integer from " + std::to_string(min) +
                             " to " + std::to_string(max) + ", found " + found);
  }
  return v;
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
  }
  return "?";
}

base::Status NumericModifier(Builder& b, Modifier m, const OptionToken& opt,
                             std::optional<int32_t>& field, int64_t min, int64_t max) {
  std::string_view name = ModifierName(m);
  if (field.has_value()) {
    return b.Fail(opt.keyword, std::string(name) + " is already set for this content");
  }
  if (!opt.has_value || opt.value.text.empty()) {
    return b.Fail(opt.keyword, std::string(name) + " needs a value");
  }
  if (IsIdentifier(opt.value.text)) {
    // A byte_extract / byte_math variable: the rule is already disabled by that keyword; keep the
    // modifier verbatim.
    if (!b.HasByteVariable(opt.value.text)) {
      return b.Fail(opt.value, std::string(name) + " names '" + std::string(opt.value.text) +
                                   "', which no earlier byte_extract or byte_math defines");
    }
    b.AddRaw(opt);
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
    case LastPattern::kUnsupported:
      // Modifies a pattern keyword this version keeps verbatim (uricontent, ...).
      b.AddRaw(opt);
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
    case Modifier::kOffset:
      return NumericModifier(b, m, opt, c.offset, -kMaxOffset, kMaxOffset);
    case Modifier::kDistance:
      return NumericModifier(b, m, opt, c.distance, -kMaxOffset, kMaxOffset);
    case Modifier::kDepth:
    case Modifier::kWithin: {
      std::optional<int32_t>& field = m == Modifier::kDepth ? c.depth : c.within;
      if (auto st = NumericModifier(b, m, opt, field, 1, kMaxOffset); !st) return st;
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
      return NumericModifier(b, m, opt, field, 0, kMaxOffset);
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
// Handlers of the supported keywords

base::Status NeedValue(Builder& b, const OptionToken& opt, std::string_view name) {
  if (!opt.has_value || opt.value.text.empty()) {
    return b.Fail(opt.keyword, std::string(name) + " needs a value");
  }
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
  auto v = IntValue(b, "sid", opt.value, 1, std::numeric_limits<uint32_t>::max());
  if (!v) return v.error();
  b.rule().sid = uint32_t(*v);
  return {};
}

base::Status HandleRev(Builder& b, const OptionToken& opt) {
  if (auto st = Once(b, opt, "rev"); !st) return st;
  auto v = IntValue(b, "rev", opt.value, 0, std::numeric_limits<uint32_t>::max());
  if (!v) return v.error();
  b.rule().rev = uint32_t(*v);
  return {};
}

base::Status HandleGid(Builder& b, const OptionToken& opt) {
  if (auto st = Once(b, opt, "gid"); !st) return st;
  auto v = IntValue(b, "gid", opt.value, 0, std::numeric_limits<uint32_t>::max());
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

bool IsNameText(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_' ||
              c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
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

base::Status HandleContent(Builder& b, const OptionToken& opt) {
  if (auto st = NeedValue(b, opt, "content"); !st) return st;
  std::string_view t = opt.value.text;
  size_t pos = 0;
  bool negated = false;
  if (t[pos] == '!') {
    negated = true;
    ++pos;
    while (pos < t.size() && IsSpace(t[pos])) ++pos;
  }
  if (pos >= t.size() || t[pos] != '"') {
    return b.Fail(opt.value.offset + pos, "content must be a quoted string");
  }
  size_t open = pos++;
  while (pos < t.size() && t[pos] != '"') pos += t[pos] == '\\' ? 2 : 1;
  if (pos >= t.size()) return b.Fail(opt.value.offset + open, "unterminated quoted string");
  size_t close = pos;

  ContentOption& c = b.AddContent(opt.keyword.offset);
  c.negated = negated;
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
  if (t[pos] != ',') {
    return b.Fail(opt.value.offset + pos, "unexpected text after the content string");
  }
  std::vector<Token> parts;
  SplitCommas(t.substr(pos + 1), opt.value.offset + pos + 1, parts);
  for (const Token& part : parts) {
    if (part.text.empty()) return b.Fail(part, "empty content sub-option");
    size_t space = 0;
    while (space < part.text.size() && !IsSpace(part.text[space])) ++space;
    OptionToken sub;
    sub.keyword = Token{part.text.substr(0, space), part.offset};
    sub.value = Trim(Token{part.text.substr(space), part.offset + space});
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

// ---------------------------------------------------------------------------------------------
// Known keywords this version keeps verbatim

base::Status HandleUnsupported(Builder& b, const OptionToken& opt);

// uricontent and protected_content are patterns of their own: modifiers after them are theirs.
base::Status HandleUnsupportedPattern(Builder& b, const OptionToken& opt) {
  b.set_last_pattern_unsupported();
  return HandleUnsupported(b, opt);
}

// byte_extract:bytes,offset,name[,...] defines `name` for later modifiers.
base::Status HandleByteExtract(Builder& b, const OptionToken& opt) {
  std::vector<Token>& parts = b.scratch();
  SplitCommas(opt.value.text, opt.value.offset, parts);
  if (parts.size() >= 3) b.AddByteVariable(parts[2].text);
  return HandleUnsupported(b, opt);
}

// byte_math:...,result name[,...] defines `name`.
base::Status HandleByteMath(Builder& b, const OptionToken& opt) {
  std::vector<Token>& parts = b.scratch();
  SplitCommas(opt.value.text, opt.value.offset, parts);
  for (const Token& p : parts) {
    if (p.text.starts_with("result") && p.text.size() > 6 && IsSpace(p.text[6])) {
      b.AddByteVariable(Trim(Token{p.text.substr(6), 0}).text);
    }
  }
  return HandleUnsupported(b, opt);
}

// ---------------------------------------------------------------------------------------------
// The keyword tables. Supporting a keyword means writing its handler, adding it to kHandled and
// taking it out of kUnsupported; nothing else in the parser changes.

struct Keyword {
  std::string_view name;
  Handler handler;
  KeywordSupport support;
};

constexpr Keyword kHandled[] = {
    {"msg", HandleMsg, KeywordSupport::kSupported},
    {"sid", HandleSid, KeywordSupport::kSupported},
    {"rev", HandleRev, KeywordSupport::kSupported},
    {"gid", HandleGid, KeywordSupport::kSupported},
    {"classtype", HandleClasstype, KeywordSupport::kSupported},
    {"priority", HandlePriority, KeywordSupport::kSupported},
    {"reference", HandleReference, KeywordSupport::kSupported},
    {"metadata", HandleMetadata, KeywordSupport::kSupported},
    {"service", HandleService, KeywordSupport::kSupported},
    {"content", HandleContent, KeywordSupport::kSupported},
    {"nocase", HandleModifier<Modifier::kNocase>, KeywordSupport::kSupported},
    {"rawbytes", HandleModifier<Modifier::kRawbytes>, KeywordSupport::kSupported},
    {"offset", HandleModifier<Modifier::kOffset>, KeywordSupport::kSupported},
    {"depth", HandleModifier<Modifier::kDepth>, KeywordSupport::kSupported},
    {"distance", HandleModifier<Modifier::kDistance>, KeywordSupport::kSupported},
    {"within", HandleModifier<Modifier::kWithin>, KeywordSupport::kSupported},
    {"fast_pattern", HandleModifier<Modifier::kFastPattern>, KeywordSupport::kSupported},
    // Not evaluated, but they tell the supported keywords something.
    {"uricontent", HandleUnsupportedPattern, KeywordSupport::kUnsupported},
    {"protected_content", HandleUnsupportedPattern, KeywordSupport::kUnsupported},
    {"byte_extract", HandleByteExtract, KeywordSupport::kUnsupported},
    {"byte_math", HandleByteMath, KeywordSupport::kUnsupported},
};

// Rule option keywords of Snort 2.9, Snort 3 and Suricata 7 that this version does not evaluate.
constexpr std::string_view kUnsupported[] = {
    // Payload inspection
    "pcre",
    "regex",
    "isdataat",
    "dsize",
    "bufferlen",
    "bsize",
    "startswith",
    "endswith",
    "absent",
    "byte_test",
    "byte_jump",
    "ber_data",
    "ber_skip",
    "asn1",
    "cvs",
    "base64_decode",
    "base64_data",
    "replace",
    "hash",
    "length",
    "sd_pattern",
    "prefilter",
    "entropy",
    "lua",
    "luajit",
    "so",
    "ftpbounce",
    "urilen",
    "http_encode",
    "file_type",
    "file_meta",
    "md5",
    "sha256",
    "sha512",
    "xor",
    // Buffers and buffer modifiers (Snort 2 / Suricata modifiers, Snort 3 / Suricata sticky)
    "pkt_data",
    "raw_data",
    "file_data",
    "file.data",
    "js_data",
    "vba_data",
    "script_data",
    "http_uri",
    "http_raw_uri",
    "http_header",
    "http_raw_header",
    "http_cookie",
    "http_raw_cookie",
    "http_client_body",
    "http_server_body",
    "http_raw_body",
    "http_method",
    "http_stat_code",
    "http_stat_msg",
    "http_user_agent",
    "http_host",
    "http_raw_host",
    "http_accept",
    "http_accept_lang",
    "http_accept_enc",
    "http_referer",
    "http_connection",
    "http_content_type",
    "http_content_len",
    "http_start",
    "http_protocol",
    "http_header_names",
    "http_request_line",
    "http_response_line",
    "http_version",
    "http_trailer",
    "http_raw_trailer",
    "http_true_ip",
    "http_param",
    "http_raw_request",
    "http_raw_status",
    "http_version_match",
    "http_num_headers",
    "http_num_trailers",
    "http_num_cookies",
    "http_max_header_line",
    "http_max_trailer_line",
    "http_header_test",
    "http_trailer_test",
    "http.uri",
    "http.uri.raw",
    "http.method",
    "http.request_line",
    "http.request_body",
    "http.header",
    "http.header.raw",
    "http.cookie",
    "http.user_agent",
    "http.host",
    "http.host.raw",
    "http.accept",
    "http.accept_lang",
    "http.accept_enc",
    "http.referer",
    "http.connection",
    "http.content_type",
    "http.content_len",
    "http.start",
    "http.protocol",
    "http.header_names",
    "http.request_header",
    "http.response_header",
    "http.stat_msg",
    "http.stat_code",
    "http.response_line",
    "http.response_body",
    "http.server",
    "http.location",
    "http.request_body.raw",
    "http2.frametype",
    "http2.errorcode",
    "http2.priority",
    "http2.window",
    "http2.size_update",
    "http2.settings",
    "http2.header_name",
    "http2.header",
    "dns.query",
    "dns_query",
    "dns.opcode",
    "dns.rrtype",
    "dns.rcode",
    "dns.answer.name",
    "dns.query.name",
    "tls.sni",
    "tls_sni",
    "tls.cert_subject",
    "tls.subject",
    "tls_cert_subject",
    "tls.cert_issuer",
    "tls.issuerdn",
    "tls_cert_issuer",
    "tls.cert_serial",
    "tls_cert_serial",
    "tls.cert_fingerprint",
    "tls_cert_fingerprint",
    "tls.certs",
    "tls.version",
    "tls.fingerprint",
    "tls.store",
    "tls.random",
    "tls.random_time",
    "tls.random_bytes",
    "tls.alpn",
    "tls_cert_notbefore",
    "tls_cert_notafter",
    "tls_cert_expired",
    "tls_cert_valid",
    "ja3.hash",
    "ja3_hash",
    "ja3.string",
    "ja3_string",
    "ja3s.hash",
    "ja3s.string",
    "ja4.hash",
    "ssh.proto",
    "ssh_proto",
    "ssh.software",
    "ssh_software",
    "ssh.protoversion",
    "ssh.softwareversion",
    "ssh.hassh",
    "ssh.hassh.string",
    "ssh.hassh.server",
    "ssh.hassh.server.string",
    "file.name",
    "filename",
    "fileext",
    "filemagic",
    "file.magic",
    "filestore",
    "filemd5",
    "filesha1",
    "filesha256",
    "filesize",
    "smb.named_pipe",
    "smb.share",
    "smb.ntlmssp_user",
    "smb.ntlmssp_domain",
    "smb.version",
    "dcerpc.iface",
    "dcerpc.opnum",
    "dcerpc.stub_data",
    "dce_iface",
    "dce_opnum",
    "dce_stub_data",
    "krb5_msg_type",
    "krb5_cname",
    "krb5_sname",
    "krb5_err_code",
    "krb5.weak_encryption",
    "snmp.version",
    "snmp.community",
    "snmp.pdu_type",
    "snmp.usm",
    "sip.method",
    "sip.uri",
    "sip.request_line",
    "sip.stat_code",
    "sip.stat_msg",
    "sip.response_line",
    "sip.protocol",
    "sip_method",
    "sip_stat_code",
    "sip_header",
    "sip_body",
    "smtp.helo",
    "smtp.mail_from",
    "smtp.rcpt_to",
    "email.from",
    "email.subject",
    "email.to",
    "email.cc",
    "ftpdata_command",
    "ftp.command",
    "ftp.command_data",
    "tftp.file",
    "mqtt.type",
    "mqtt.flags",
    "mqtt.qos",
    "mqtt.reason_code",
    "mqtt.connack.session_present",
    "mqtt.connect.clientid",
    "mqtt.connect.flags",
    "mqtt.connect.password",
    "mqtt.connect.username",
    "mqtt.connect.willmsg",
    "mqtt.connect.willtopic",
    "mqtt.protocol_version",
    "mqtt.publish.message",
    "mqtt.publish.topic",
    "mqtt.subscribe.topic",
    "mqtt.unsubscribe.topic",
    "rfb.name",
    "rfb.secresult",
    "rfb.sectype",
    "ike.init_spi",
    "ike.resp_spi",
    "ike.chosen_sa_attribute",
    "ike.exchtype",
    "ike.key_exchange_payload",
    "ike.key_exchange_payload_length",
    "ike.nonce_payload",
    "ike.nonce_payload_length",
    "ike.vendor",
    "quic.cyu.hash",
    "quic.cyu.string",
    "quic.version",
    "quic.sni",
    "quic.ua",
    "nfs_procedure",
    "nfs.version",
    "rpc",
    "dhcp.leasetime",
    "dhcp.rebinding_time",
    "dhcp.renewal_time",
    "bittorrent-dht.query.info_hash",
    "ldap.request.operation",
    "ldap.responses.operation",
    "websocket.payload",
    "websocket.opcode",
    "websocket.flags",
    "websocket.mask",
    "sdp.origin",
    "sdp.session_name",
    // Transforms (Suricata)
    "dotprefix",
    "to_md5",
    "to_sha1",
    "to_sha256",
    "to_lowercase",
    "to_uppercase",
    "strip_whitespace",
    "compress_whitespace",
    "url_decode",
    "pcrexform",
    "header_lowercase",
    "strip_pseudo_headers",
    "from_base64",
    "luaxform",
    // Industrial protocols
    "modbus",
    "modbus_func",
    "modbus_unit",
    "modbus_data",
    "dnp3_func",
    "dnp3_ind",
    "dnp3_obj",
    "dnp3_data",
    "dnp3.data",
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
    "ssl_state",
    "ssl_version",
    // Header fields
    "ttl",
    "tos",
    "id",
    "ipopts",
    "fragbits",
    "fragoffset",
    "ip_proto",
    "sameip",
    "ipv4.hdr",
    "ipv6.hdr",
    "geoip",
    "flags",
    "tcp.flags",
    "seq",
    "ack",
    "window",
    "tcp.mss",
    "tcp.hdr",
    "tcp.wscale",
    "udp.hdr",
    "itype",
    "icode",
    "icmp_id",
    "icmp_seq",
    "icmpv4.hdr",
    "icmpv6.hdr",
    "icmpv6.mtu",
    "pkthdr",
    "vlan.id",
    "stream_size",
    "stream_reassemble",
    "flow.age",
    "flow.pkts",
    "flow.bytes",
    "mss",
    "wscale",
    // Flow state and application layer
    "flow",
    "flowbits",
    "flowint",
    "xbits",
    "hostbits",
    "app-layer-protocol",
    "app-layer-event",
    "app-layer-state",
    "decode-event",
    "stream-event",
    "engine-event",
    "appid",
    "appids",
    "iprep",
    "datarep",
    "dataset",
    "config",
    "bypass",
    "frame",
    "requires",
    // Post-detection and rate limiting
    "threshold",
    "detection_filter",
    "tag",
    "noalert",
    "alert",
    "target",
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

// Every keyword, by lowercase name, with its handler (HandleUnsupported for kUnsupported).
using KeywordTable = std::unordered_map<std::string_view, Keyword>;

const KeywordTable& Keywords() {
  static const KeywordTable table = [] {
    KeywordTable t;
    auto add = [&t](const Keyword& k) {
      if (!t.emplace(k.name, k).second) {
        // A keyword listed twice would be handled by whichever came first: a programming error
        // that the first rule parsed (in rules_test) reveals.
        std::fprintf(stderr, "vigil: rule keyword '%.*s' is listed twice\n", int(k.name.size()),
                     k.name.data());
        std::abort();
      }
    };
    for (const Keyword& k : kHandled) add(k);
    for (std::string_view name : kUnsupported) {
      add(Keyword{name, HandleUnsupported, KeywordSupport::kUnsupported});
    }
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

base::Status HandleUnsupported(Builder& b, const OptionToken& opt) {
  std::array<char, 64> buf;
  b.AddRaw(opt);
  b.Disable("unsupported keyword " + std::string(Lowercase(opt.keyword.text, buf)));
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
  bool variant;  // a narrowing (Rule::protocol_variant) the detector cannot evaluate yet
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

  if (h.size() == 1) {
    return b.Fail(tokens.open_paren,
                  "Snort 3 header-less rules ('alert (...)') are not supported yet; write a full "
                  "header 'action protocol source port -> destination port'");
  }
  if (h.size() == 2) {
    return b.Fail(tokens.open_paren, "Snort 3 service-only rule headers ('alert " +
                                         std::string(h[1].text) +
                                         " (...)') are not supported yet; write 'alert " +
                                         std::string(h[1].text) + " any any -> any any (...)'");
  }
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

  std::string_view proto = h[1].text;
  const ProtocolEntry* p = nullptr;
  for (const ProtocolEntry& candidate : kProtocols) {
    if (candidate.name == proto) p = &candidate;
  }
  if (p != nullptr) {
    r.protocol = p->protocol;
    if (p->variant) {
      r.protocol_variant = std::string(proto);
      b.Disable("unsupported protocol " + std::string(proto));
    }
  } else if (const AppProtocol* app = FindAppProtocol(proto); app != nullptr) {
    r.protocol = app->transport;
    r.service = std::string(proto);
    // Such a rule applies only to flows identified as that protocol; until vigil identifies
    // application protocols, evaluating it on every flow of the transport would be wrong.
    b.Disable("unsupported protocol " + std::string(proto) + " (application-layer detection)");
  } else {
    return b.Fail(h[1], "unknown protocol '" + std::string(proto) + "'");
  }

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
      if (c->offset || c->depth || c->distance || c->within) {
        return b.Fail(where.fast_pattern_offset,
                      "fast_pattern:only cannot be combined with offset, depth, distance or "
                      "within");
      }
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
  RuleTokens tokens;
  LexError lex_error;
  if (!TokenizeRule(text, tokens, lex_error)) return b.Fail(lex_error.offset, lex_error.message);
  if (auto st = ParseHeader(b, tokens, vars); !st) return st.error();

  const KeywordTable& table = Keywords();
  std::array<char, 64> buf;
  for (const OptionToken& opt : tokens.options) {
    auto it = table.find(Lowercase(opt.keyword.text, buf));
    if (it == table.end()) {
      return b.Fail(opt.keyword, "unknown rule option '" + std::string(opt.keyword.text) + "'");
    }
    if (auto st = it->second.handler(b, opt); !st) return st.error();
  }
  if (auto st = FinishRule(b, tokens); !st) return st.error();
  Rule rule = b.Take();
  rule.file = file;
  rule.line = line;
  return rule;
}

}  // namespace vigil::rules

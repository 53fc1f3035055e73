// The option walk (option_program.h) against a brute-force reference written from the definition:
// a rule matches when SOME assignment — every occurrence of every positive content, every match
// of every pcre from every start position — satisfies all options in rule order, with the cursor,
// variables, windows and the stream chunk's min_end as defined in option_program.h. The
// reference enumerates every such assignment, position by position, with its own window
// arithmetic, byte comparisons and number parsing (strtoull), and no search shortcut, retry
// pruning or step bound. Random rules (content with every modifier, pcre, byte_test, byte_jump,
// byte_extract, byte_math, isdataat, variables) on random short buffers, packets and chunks.
#include <gtest/gtest.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "detect/byte_ops.h"
#include "detect/pcre_match.h"
#include "detect/rule_match.h"
#include "rules/rule.h"

namespace vigil::detect {
namespace {

using Vars = std::map<std::string, uint64_t>;

// ---- The reference ----

class Reference {
 public:
  Reference(const std::vector<rules::Option>& options, const std::vector<const Pcre*>& pcres,
            std::string_view data, int64_t origin, int64_t min_end)
      : options_(options), pcres_(pcres), data_(data), origin_(origin), min_end_(min_end) {}

  bool Matches() { return From(0, 0, 0, {}); }

 private:
  int64_t len() const { return int64_t(data_.size()); }

  // A number or a variable's value, as a signed position (variables clamped far past any buffer).
  static int64_t Num(const rules::IntOrVar& v, const Vars& vars) {
    if (!v.IsVar()) return v.value;
    uint64_t x = vars.at(v.var);
    return x > (uint64_t(1) << 40) ? int64_t(1) << 40 : int64_t(x);
  }
  static uint64_t Unsigned(const rules::IntOrVar& v, const Vars& vars) {
    return v.IsVar() ? vars.at(v.var) : uint64_t(v.value);
  }
  static int64_t Modifier(const std::optional<int32_t>& n, const std::string& var, const Vars& vars,
                          int64_t unset) {
    if (!var.empty()) return Num(rules::IntOrVar{.var = var}, vars);
    return n ? *n : unset;
  }

  bool BytesAt(int64_t pos, const rules::ContentOption& c) const {
    for (size_t k = 0; k < c.pattern.size(); ++k) {
      unsigned char a = static_cast<unsigned char>(data_[size_t(pos) + k]);
      unsigned char b = static_cast<unsigned char>(c.pattern[k]);
      if (c.nocase) {
        a = static_cast<unsigned char>(std::tolower(a));
        b = static_cast<unsigned char>(std::tolower(b));
      }
      if (a != b) return false;
    }
    return true;
  }

  // Every place content `c` may match given the cursor.
  std::vector<int64_t> Places(const rules::ContentOption& c, int64_t cursor, const Vars& vars) {
    int64_t n = int64_t(c.pattern.size());
    int64_t start, end;
    if (c.startswith) {
      start = -origin_;
      end = start + n;
    } else if (c.IsRelative()) {
      start = cursor + Modifier(c.distance, c.distance_var, vars, 0);
      end = (c.within || !c.within_var.empty()) ? start + Modifier(c.within, c.within_var, vars, 0)
                                                : len();
    } else {
      start = Modifier(c.offset, c.offset_var, vars, 0) - origin_;
      end = (c.depth || !c.depth_var.empty()) ? start + Modifier(c.depth, c.depth_var, vars, 0)
                                              : len();
    }
    std::vector<int64_t> places;
    for (int64_t p = 0; p + n <= len(); ++p) {
      if (p < start || p + n > end) continue;
      if (c.endswith && p + n != len()) continue;
      if (BytesAt(p, c)) places.push_back(p);
    }
    return places;
  }

  // Reads a number as the engines do: a binary read, or strtoull on a copy of the characters.
  struct Read {
    uint64_t value;
    int64_t consumed;
    int64_t examined;
  };
  std::optional<Read> ReadAt(int64_t pos, uint8_t bytes, rules::Endian endian,
                             rules::ByteString string) const {
    if (pos < 0 || pos > len()) return std::nullopt;
    if (string == rules::ByteString::kNone) {
      if (pos + bytes > len()) return std::nullopt;
      bool little = endian == rules::Endian::kLittle || endian == rules::Endian::kDce;
      uint64_t v = 0;
      for (int k = 0; k < bytes; ++k) {
        int at = little ? bytes - 1 - k : k;
        v = v * 256 + static_cast<unsigned char>(data_[size_t(pos + at)]);
      }
      return Read{v, bytes, bytes};
    }
    int64_t n = bytes == 0 ? len() - pos : bytes;
    if (pos + n > len()) return std::nullopt;
    std::string copy(data_.substr(size_t(pos), size_t(n)));
    copy = copy.substr(0, copy.find('\0'));  // strtoull stops at a NUL anyway
    int base = string == rules::ByteString::kHex ? 16 : string == rules::ByteString::kOct ? 8 : 10;
    size_t first = copy.find_first_not_of(" \t\n\v\f\r");
    if (first != std::string::npos && copy[first] == '-') return std::nullopt;
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(copy.c_str(), &end, base);
    if (end == copy.c_str() || errno == ERANGE) return std::nullopt;
    int64_t consumed = end - copy.c_str();
    return Read{v, consumed, bytes == 0 ? consumed : n};
  }

  static uint64_t Mask(uint64_t v, const std::optional<uint64_t>& mask) {
    if (!mask || *mask == 0) return v;
    v &= *mask;
    uint64_t m = *mask;
    while ((m & 1) == 0) {
      m >>= 1;
      v >>= 1;
    }
    return v;
  }

  bool From(size_t i, int64_t cursor, int64_t max_end, Vars vars) {
    if (i == options_.size()) return min_end_ == 0 || max_end > min_end_;
    const rules::Option& o = options_[i];
    if (const auto* c = std::get_if<rules::ContentOption>(&o)) {
      auto places = Places(*c, cursor, vars);
      if (c->negated) return places.empty() && From(i + 1, cursor, max_end, vars);
      for (int64_t p : places) {
        int64_t end = p + int64_t(c->pattern.size());
        if (From(i + 1, end, std::max(max_end, end), vars)) return true;
      }
      return false;
    }
    if (const auto* re = std::get_if<rules::PcreOption>(&o)) {
      const Pcre& pcre = *pcres_[i];
      int64_t base = re->HasFlag('R') ? cursor : 0;
      const auto* subject = reinterpret_cast<const uint8_t*>(data_.data()) + base;
      size_t subject_len = size_t(len() - base);
      size_t b, e;
      if (re->negated) {
        return pcre.Find(subject, subject_len, 0, b, e) == PcreStatus::kNoMatch &&
               From(i + 1, cursor, max_end, vars);
      }
      // Every match, from every start; an anchored pattern has only the one at the start.
      size_t last_start = re->HasFlag('A') ? 0 : subject_len;
      for (size_t s = 0; s <= last_start; ++s) {
        if (pcre.Find(subject, subject_len, s, b, e) != PcreStatus::kMatch) continue;
        int64_t end = base + int64_t(e);
        if (From(i + 1, end, std::max(max_end, end), vars)) return true;
      }
      return false;
    }
    if (const auto* t = std::get_if<rules::ByteTestOption>(&o)) {
      int64_t pos = t->relative ? cursor + Num(t->offset, vars) : Num(t->offset, vars) - origin_;
      auto r = ReadAt(pos, t->bytes, t->endian, t->string);
      if (!r) return false;
      uint64_t v = Mask(r->value, t->bitmask), x = Unsigned(t->value, vars);
      bool holds = false;
      switch (t->op) {
        case rules::ByteTestOption::Op::kLt:
          holds = v < x;
          break;
        case rules::ByteTestOption::Op::kGt:
          holds = v > x;
          break;
        case rules::ByteTestOption::Op::kLe:
          holds = v <= x;
          break;
        case rules::ByteTestOption::Op::kGe:
          holds = v >= x;
          break;
        case rules::ByteTestOption::Op::kEq:
          holds = v == x;
          break;
        case rules::ByteTestOption::Op::kAnd:
          holds = (v & x) != 0;
          break;
        case rules::ByteTestOption::Op::kXor:
          holds = v != x;
          break;
      }
      if (holds == t->negated) return false;
      return From(i + 1, cursor, std::max(max_end, pos + r->examined), vars);
    }
    if (const auto* j = std::get_if<rules::ByteJumpOption>(&o)) {
      int64_t pos = j->relative ? cursor + Num(j->offset, vars) : Num(j->offset, vars) - origin_;
      auto r = ReadAt(pos, j->bytes, j->endian, j->string);
      if (!r) return false;
      uint64_t v = Mask(r->value, j->bitmask) * j->multiplier.value_or(1);
      if (j->align) v = (v + 3) / 4 * 4;
      int64_t jump = int64_t(std::min<uint64_t>(v, uint64_t(1) << 40));
      int64_t target = j->from_beginning ? jump - origin_
                       : j->from_end     ? len() + jump
                                         : pos + r->consumed + jump;
      if (j->post_offset) target += Num(*j->post_offset, vars);
      target = std::max<int64_t>(target, 0);  // before the buffer: its start
      if (target > len()) return false;
      return From(i + 1, target, std::max(max_end, pos + r->examined), vars);
    }
    if (const auto* e = std::get_if<rules::ByteExtractOption>(&o)) {
      int64_t pos = e->relative ? cursor + e->offset : e->offset - origin_;
      auto r = ReadAt(pos, e->bytes, e->endian, e->string);
      if (!r) return false;
      uint64_t v = Mask(r->value, e->bitmask) * e->multiplier.value_or(1);
      if (e->align) v = (v + *e->align - 1) / *e->align * *e->align;
      vars[e->name] = v;
      return From(i + 1, pos + r->consumed, std::max(max_end, pos + r->examined), vars);
    }
    if (const auto* m = std::get_if<rules::ByteMathOption>(&o)) {
      int64_t pos = m->relative ? cursor + Num(m->offset, vars) : Num(m->offset, vars) - origin_;
      auto r = ReadAt(pos, m->bytes, m->endian, m->string);
      if (!r) return false;
      uint64_t v = Mask(r->value, m->bitmask), x = Unsigned(m->rvalue, vars);
      switch (m->op) {
        case rules::ByteMathOption::Op::kAdd:
          v += x;
          break;
        case rules::ByteMathOption::Op::kSub:
          v -= x;
          break;
        case rules::ByteMathOption::Op::kMul:
          v *= x;
          break;
        case rules::ByteMathOption::Op::kDiv:
          if (x == 0) return false;
          v /= x;
          break;
        case rules::ByteMathOption::Op::kShl:
          v = x >= 64 ? 0 : v << x;
          break;
        case rules::ByteMathOption::Op::kShr:
          v = x >= 64 ? 0 : v >> x;
          break;
      }
      vars[m->result] = v;
      return From(i + 1, pos + r->consumed, std::max(max_end, pos + r->examined), vars);
    }
    if (const auto* d = std::get_if<rules::IsDataAtOption>(&o)) {
      int64_t at = d->relative ? cursor + Num(d->offset, vars) : Num(d->offset, vars) - origin_;
      // Relative: N more bytes after the cursor; absolute: a byte at position N.
      bool present = origin_ + at >= 0 && (d->relative ? at <= len() : at < len());
      if (present == d->negated) return false;
      return From(i + 1, cursor, max_end, vars);
    }
    ADD_FAILURE() << "unexpected option " << rules::ToText(o);
    return false;
  }

  const std::vector<rules::Option>& options_;
  const std::vector<const Pcre*>& pcres_;
  std::string_view data_;
  int64_t origin_;
  int64_t min_end_;
};

// ---- Random rules and buffers ----

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  int Pick(int n) { return int(rng_() % uint32_t(n)); }
  bool Chance(int percent) { return Pick(100) < percent; }
  int Between(int lo, int hi) { return lo + Pick(hi - lo + 1); }

  char RandomByte() {
    static constexpr char kBytes[] = {'a', 'a', 'a', 'b', 'b',    'b',    '1',    '1', '2',
                                      '0', ' ', 'A', 'x', '\x01', '\x02', '\x03', '\0'};
    return kBytes[Pick(sizeof(kBytes))];
  }

  // A random buffer, or (more often) one laid out after the rule: what each option looks for, in
  // order, with random bytes between, so that rules match often enough to test both outcomes.
  std::string Buffer(const std::vector<rules::Option>& options) {
    std::string s;
    if (Chance(40)) {
      s.resize(size_t(Pick(25)));
      for (char& c : s) c = RandomByte();
      return s;
    }
    static constexpr char kSmall[] = {'\0', '\x01', '\x02', '\x03', '1', '2', '0'};
    for (const rules::Option& o : options) {
      bool reads = std::holds_alternative<rules::ByteTestOption>(o) ||
                   std::holds_alternative<rules::ByteJumpOption>(o) ||
                   std::holds_alternative<rules::ByteExtractOption>(o) ||
                   std::holds_alternative<rules::ByteMathOption>(o);
      for (int gap = reads && Chance(70) ? 0 : Pick(3); gap > 0; --gap) s += RandomByte();
      if (const auto* c = std::get_if<rules::ContentOption>(&o)) {
        if (!c->negated) s += c->pattern;
      } else if (const auto* re = std::get_if<rules::PcreOption>(&o)) {
        if (!re->negated) s += SampleFor(re->regex);
      } else if (const auto* j = std::get_if<rules::ByteJumpOption>(&o)) {
        // A small length in the option's own format, then that many bytes to jump over.
        int v = Pick(4);
        int width = std::max<int>(1, j->bytes);
        std::string number(size_t(width), j->string == rules::ByteString::kNone ? '\0' : '0');
        bool little = j->endian != rules::Endian::kDefault && j->endian != rules::Endian::kBig &&
                      j->string == rules::ByteString::kNone;
        char digit = j->string == rules::ByteString::kNone ? char(v) : char('0' + v);
        number[little ? 0 : size_t(width - 1)] = digit;
        s += number;
        for (int k = 0; k < v; ++k) s += RandomByte();
      } else if (!std::holds_alternative<rules::IsDataAtOption>(o)) {
        for (int k = Between(1, 2); k > 0; --k) s += kSmall[Pick(sizeof(kSmall))];
      }
    }
    for (int tail = Pick(5); tail > 0; --tail) s += RandomByte();
    return s;
  }

  std::vector<rules::Option> Options() {
    vars_.clear();
    std::vector<rules::Option> options;
    int n = Between(1, 4);
    for (int i = 0; i < n; ++i) {
      int k = Pick(100);
      if (k < 38) {
        options.emplace_back(Content());
      } else if (k < 52) {
        options.emplace_back(PcreOption());
      } else if (k < 64) {
        options.emplace_back(ByteTest());
      } else if (k < 74) {
        options.emplace_back(ByteJump());
      } else if (k < 84) {
        options.emplace_back(ByteExtract());
      } else if (k < 90) {
        options.emplace_back(ByteMath());
      } else {
        options.emplace_back(IsDataAt());
      }
    }
    return options;
  }

 private:
  std::string Var() { return vars_[size_t(Pick(int(vars_.size())))]; }
  bool UseVar() { return !vars_.empty() && Chance(20); }
  std::string NewVar() {
    std::string name = "v" + std::to_string(Pick(3));
    if (std::find(vars_.begin(), vars_.end(), name) == vars_.end()) vars_.push_back(name);
    return name;
  }
  rules::IntOrVar Number(int lo, int hi) {
    if (UseVar()) return rules::IntOrVar{.var = Var()};
    return rules::IntOrVar{.value = Between(lo, hi)};
  }

  // A number format the byte_* options share.
  void Format(uint8_t& bytes, rules::Endian& endian, rules::ByteString& string, int max_binary) {
    if (Chance(60)) {
      bytes = uint8_t(Between(1, max_binary));
      endian = Chance(30)   ? rules::Endian::kLittle
               : Chance(10) ? rules::Endian::kDce
                            : rules::Endian::kDefault;
    } else {
      string = Chance(70)   ? rules::ByteString::kDec
               : Chance(50) ? rules::ByteString::kHex
                            : rules::ByteString::kOct;
      bytes = uint8_t(Chance(10) ? 0 : Between(1, 3));
    }
  }
  std::optional<uint64_t> Bitmask() {
    static constexpr uint64_t kMasks[] = {0x0f, 0xf0, 0x3c, 0x01, 0xff00};
    if (!Chance(15)) return std::nullopt;
    return kMasks[Pick(5)];
  }

  rules::ContentOption Content() {
    static constexpr const char* kPatterns[] = {"a", "b", "ab", "ba", "a1", "1", "aa", "b2 ", "A"};
    rules::ContentOption c;
    c.pattern = kPatterns[Pick(9)];
    int n = int(c.pattern.size());
    c.negated = Chance(15);
    c.nocase = Chance(20);
    int mode = Pick(100);
    if (mode < 42) {  // absolute
      if (Chance(50)) c.offset = Between(0, 6);
      if (Chance(40)) c.depth = Between(n, 9);
      if (UseVar()) c.offset_var = Var(), c.offset.reset();
      if (UseVar()) c.depth_var = Var(), c.depth.reset();
    } else if (mode < 90) {  // relative
      if (Chance(70)) c.distance = Between(-3, 4);
      if (!c.distance || Chance(60)) c.within = Between(n, 7);
      if (UseVar()) c.distance_var = Var(), c.distance.reset();
      if (UseVar()) c.within_var = Var(), c.within.reset();
    } else if (mode < 95) {
      c.startswith = true;
    } else {
      c.endswith = true;
    }
    return c;
  }

  // Patterns, each with a subject it matches.
  static constexpr std::pair<const char*, const char*> kRegexes[] = {
      {"a.", "a1"},   {"ab*", "abb"},   {"[ab]1", "b1"},  {"^a", "a"},       {"b$", "b"},
      {"a|1b", "1b"}, {"(a)\\1", "aa"}, {"a(?=b)", "ab"}, {"(?<=a)b", "ab"}, {"1+", "111"},
      {"b{2}", "bb"}, {"\\d", "2"},     {"a.*b", "axb"},  {"x?", "x"},       {"[^ ]+ ", "ab "},
  };
  static std::string SampleFor(const std::string& regex) {
    for (const auto& [re, sample] : kRegexes) {
      if (regex == re) return sample;
    }
    return "";
  }

  rules::PcreOption PcreOption() {
    rules::PcreOption p;
    p.regex = kRegexes[Pick(15)].first;
    if (Chance(40)) p.flags += 'R';
    if (Chance(20)) p.flags += 'i';
    if (Chance(15)) p.flags += 'G';
    if (Chance(5)) p.flags += 'A';
    p.negated = Chance(20);
    return p;
  }

  rules::ByteTestOption ByteTest() {
    rules::ByteTestOption t;
    Format(t.bytes, t.endian, t.string, 3);
    t.op = rules::ByteTestOption::Op(Pick(7));
    t.negated = Chance(20);
    t.value = Number(0, 0x70);
    t.offset = Offset(-3, 8);
    t.relative = Chance(50);
    t.bitmask = Bitmask();
    return t;
  }

  // An offset for a byte_* option: often 0 (right at the cursor or the buffer's start).
  rules::IntOrVar Offset(int lo, int hi) {
    return Chance(50) ? rules::IntOrVar{.value = 0} : Number(lo, hi);
  }

  rules::ByteJumpOption ByteJump() {
    rules::ByteJumpOption j;
    Format(j.bytes, j.endian, j.string, 2);
    j.offset = Offset(-2, 6);
    j.relative = Chance(50);
    if (Chance(20)) j.multiplier = uint32_t(Between(1, 3));
    j.align = Chance(15);
    int from = Pick(10);
    j.from_beginning = from == 0;
    j.from_end = from == 1;
    if (Chance(30)) j.post_offset = Number(-4, 4);
    j.bitmask = Bitmask();
    return j;
  }

  rules::ByteExtractOption ByteExtract() {
    rules::ByteExtractOption e;
    Format(e.bytes, e.endian, e.string, 2);
    e.offset = Chance(50) ? 0 : Between(-2, 6);
    e.relative = Chance(50);
    if (Chance(20)) e.multiplier = uint32_t(Between(1, 3));
    if (Chance(15)) e.align = uint8_t(Chance(50) ? 2 : 4);
    e.bitmask = Bitmask();
    e.name = NewVar();
    return e;
  }

  rules::ByteMathOption ByteMath() {
    rules::ByteMathOption m;
    Format(m.bytes, m.endian, m.string, 2);
    m.offset = Offset(-2, 6);
    m.op = rules::ByteMathOption::Op(Pick(6));
    m.rvalue = Number(m.op == rules::ByteMathOption::Op::kDiv ? 1 : 0, 5);
    m.relative = Chance(50);
    m.bitmask = Bitmask();
    m.result = NewVar();
    return m;
  }

  rules::IsDataAtOption IsDataAt() {
    rules::IsDataAtOption d;
    d.offset = Number(-2, 20);
    d.relative = Chance(50);
    d.negated = Chance(30);
    return d;
  }

  std::mt19937 rng_;
  std::vector<std::string> vars_;
};

TEST(OptionWalkDifferentialTest, MatchesTheBruteForceReference) {
  Generator gen(20240611);
  std::string payload_storage;
  packet::Packet p;
  p.ip_version = 4;
  p.ip_proto = packet::kProtoTcp;
  p.has_tcp = true;
  int cases = 0, matched = 0, chunks = 0, mismatches = 0;
  // Per option kind (the variant index): matches of rules holding one, so that every evaluator is
  // seen both matching and not.
  std::map<size_t, std::pair<int, int>> by_kind;  // index -> (cases, matches)
  for (int round = 0; round < 20000; ++round) {
    CompiledRule cr;
    cr.rule.options = gen.Options();
    auto st = CompileRule(cr);
    ASSERT_TRUE(st) << rules::ToText(cr.rule) << ": " << st.error().message;
    // The reference needs each pcre compiled too (the same PCRE2 semantics, searched from every
    // start).
    std::vector<Pcre> owned;
    owned.reserve(cr.rule.options.size());
    std::vector<const Pcre*> pcres(cr.rule.options.size(), nullptr);
    for (size_t i = 0; i < cr.rule.options.size(); ++i) {
      if (const auto* re = std::get_if<rules::PcreOption>(&cr.rule.options[i])) {
        owned.push_back(std::move(*Pcre::Compile(*re)));
        pcres[i] = &owned.back();
      }
    }
    for (int b = 0; b < 10; ++b) {
      std::string data = gen.Buffer(cr.rule.options);
      int64_t origin = 0, min_end = 0;
      if (gen.Chance(35)) {
        static constexpr int64_t kOrigins[] = {0, 1, 2, 5, 100};
        origin = kOrigins[gen.Pick(5)];
        min_end = gen.Pick(int(data.size()) + 1);
        ++chunks;
      }
      payload_storage = data;
      p.payload = reinterpret_cast<const uint8_t*>(payload_storage.data());
      p.payload_len = uint32_t(payload_storage.size());
      MatchInput in{.packet = &p,
                    .data = p.payload,
                    .len = p.payload_len,
                    .origin = uint64_t(origin),
                    .min_end = uint32_t(min_end),
                    .rebuilt = origin != 0 || min_end != 0};
      bool got = MatchRule(cr, in);
      bool want = Reference(cr.rule.options, pcres, data, origin, min_end).Matches();
      ++cases;
      matched += want;
      for (const rules::Option& o : cr.rule.options) {
        by_kind[o.index()].first += 1;
        by_kind[o.index()].second += want;
      }
      if (got != want && ++mismatches <= 10) {
        std::string shown;
        for (unsigned char c : data) {
          shown += std::isprint(c) ? std::string(1, char(c)) : "\\x" + std::to_string(c);
        }
        ADD_FAILURE() << rules::ToText(cr.rule) << "\n  on \"" << shown << "\" origin " << origin
                      << " min_end " << min_end << ": matcher " << got << ", reference " << want;
      }
    }
  }
  std::cout << cases << " cases (" << chunks << " stream chunks), " << matched << " matches, "
            << mismatches << " mismatches\n";
  for (const auto& [kind, counts] : by_kind) {
    std::cout << "  option kind " << kind << ": " << counts.first << " cases, " << counts.second
              << " matches\n";
    EXPECT_GT(counts.second, counts.first / 20) << "option kind " << kind;
  }
  EXPECT_EQ(mismatches, 0);
  // The generator must exercise both outcomes substantially.
  EXPECT_GT(matched, cases / 10);
  EXPECT_LT(matched, cases * 9 / 10);
}

}  // namespace
}  // namespace vigil::detect

#include "ebpf/asm.h"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "fmt/format.h"

namespace vigil::ebpf {
namespace {

struct Line {
  std::string_view mnemonic;
  std::vector<std::string_view> operands;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits on blanks and commas.
std::vector<std::string_view> Tokens(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ',' || s[i] == '\r')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != ',' && s[i] != '\r') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// A signed or hex integer literal: "-12", "+3", "0x1f", "-0x10".
std::optional<__int128> ParseInt(std::string_view s, bool* hex = nullptr) {
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (hex) *hex = base == 16;
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  __int128 r = v;
  return neg ? -r : r;
}

class Assembler {
 public:
  base::Result<std::vector<Insn>> Run(std::string_view source) {
    std::vector<Line> lines;
    std::vector<uint32_t> line_numbers;
    uint32_t number = 0;
    size_t pos = 0;
    // Pass 1: tokenize, record labels at their instruction index.
    uint32_t index = 0;
    while (pos <= source.size()) {
      size_t end = source.find('\n', pos);
      if (end == std::string_view::npos) end = source.size();
      std::string_view text = source.substr(pos, end - pos);
      pos = end + 1;
      ++number;
      if (size_t hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);
      text = Trim(text);
      if (text.empty()) continue;
      if (text.back() == ':') {
        std::string label(Trim(text.substr(0, text.size() - 1)));
        if (!labels_.emplace(label, index).second) {
          return Fail(number, fmt::format("duplicate label '{}'", label));
        }
        continue;
      }
      auto tokens = Tokens(text);
      Line line{tokens[0], {tokens.begin() + 1, tokens.end()}};
      if (line.mnemonic == "exit" && !labels_.contains("exit")) implicit_exit_ = index;
      index += line.mnemonic == "lddw" ? 2 : 1;
      lines.push_back(std::move(line));
      line_numbers.push_back(number);
    }
    if (implicit_exit_ && !labels_.contains("exit")) labels_.emplace("exit", *implicit_exit_);
    // Pass 2: encode.
    for (size_t i = 0; i < lines.size(); ++i) {
      line_ = line_numbers[i];
      if (auto st = Encode(lines[i]); !st) return st.error();
    }
    for (const auto& fix : fixups_) {
      auto it = labels_.find(fix.label);
      if (it == labels_.end())
        return Fail(fix.line, fmt::format("undefined label '{}'", fix.label));
      int64_t rel = int64_t(it->second) - int64_t(fix.index) - 1;
      if (fix.wide) {
        out_[fix.index].imm = int32_t(rel);
      } else {
        if (rel < INT16_MIN || rel > INT16_MAX) return Fail(fix.line, "jump offset out of range");
        out_[fix.index].off = int16_t(rel);
      }
    }
    return std::move(out_);
  }

 private:
  struct Fixup {
    size_t index;
    std::string label;
    uint32_t line;
    bool wide;  // the target goes in imm (ja32, call local), not off
  };

  static base::Error Fail(uint32_t line, std::string message) {
    base::Error e{std::move(message)};
    e.line = line;
    return e;
  }
  base::Error Fail(std::string message) const { return Fail(line_, std::move(message)); }

  base::Result<uint8_t> Reg(std::string_view s) const {
    if (s.size() < 3 || s[0] != '%' || s[1] != 'r') {
      return Fail(fmt::format("invalid register '{}'", s));
    }
    auto v = ParseInt(s.substr(2));
    if (!v || *v < 0 || *v > 15 || s[2] == '+' || s[2] == '-') {
      return Fail(fmt::format("invalid register '{}'", s));
    }
    return uint8_t(*v);
  }

  // A 32-bit immediate: decimal in the signed range, hex up to 0xffffffff.
  base::Result<int32_t> Imm32(std::string_view s) const {
    bool hex = false;
    auto v = ParseInt(s, &hex);
    if (!v) return Fail(fmt::format("invalid immediate '{}'", s));
    const bool ok =
        hex ? (*v >= -0x80000000LL && *v <= 0xffffffffLL) : (*v >= INT32_MIN && *v <= INT32_MAX);
    if (!ok) return Fail(fmt::format("immediate '{}' does not fit in 32 bits", s));
    return int32_t(uint32_t(uint64_t(int64_t(*v))));
  }

  base::Result<int16_t> Off16(std::string_view s) const {
    bool hex = false;
    auto v = ParseInt(s, &hex);
    if (!v) return Fail(fmt::format("invalid offset '{}'", s));
    const bool ok = hex ? (*v >= -0x8000 && *v <= 0xffff) : (*v >= INT16_MIN && *v <= INT16_MAX);
    if (!ok) return Fail(fmt::format("offset '{}' does not fit in 16 bits", s));
    return int16_t(uint16_t(int64_t(*v)));
  }

  // "[%rN]", "[%rN+off]", "[%rN-off]".
  base::Status Mem(std::string_view s, uint8_t* reg, int16_t* off) const {
    if (s.size() < 4 || s.front() != '[' || s.back() != ']') {
      return Fail(fmt::format("expected a memory operand [%rN+off], got '{}'", s));
    }
    s = s.substr(1, s.size() - 2);
    size_t sign = s.find_first_of("+-");
    auto r = Reg(s.substr(0, sign));
    if (!r) return r.error();
    *reg = *r;
    *off = 0;
    if (sign != std::string_view::npos) {
      auto o = Off16(s.substr(sign));
      if (!o) return o.error();
      *off = *o;
    }
    return {};
  }

  // A jump target: +N / -N, or a label resolved after all labels are known.
  base::Result<int32_t> Target(std::string_view s, bool wide) {
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
      if (wide) return Imm32(s);
      auto o = Off16(s);
      if (!o) return o.error();
      return int32_t(*o);
    }
    fixups_.push_back({out_.size(), std::string(s), line_, wide});
    return 0;
  }

  base::Status Count(const Line& l, size_t n) const {
    if (l.operands.size() != n) {
      return Fail(fmt::format("invalid number of operands for '{}': {} (expected {})", l.mnemonic,
                              l.operands.size(), n));
    }
    return {};
  }

  void Emit(uint8_t op, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    out_.push_back(Insn::Make(op, dst, src, off, imm));
  }

  base::Status Encode(const Line& l);
  base::Status EncodeAlu(const Line& l, std::string_view name, bool is64);
  base::Status EncodeJump(const Line& l, std::string_view name, bool is32);
  base::Status EncodeAtomic(const Line& l);

  std::unordered_map<std::string, uint32_t> labels_;
  std::optional<uint32_t> implicit_exit_;
  std::vector<Fixup> fixups_;
  std::vector<Insn> out_;
  uint32_t line_ = 0;
};

const std::unordered_map<std::string_view, uint8_t>& AluOps() {
  static const std::unordered_map<std::string_view, uint8_t> ops{
      {"add", kAluAdd}, {"sub", kAluSub},  {"mul", kAluMul}, {"div", kAluDiv}, {"sdiv", kAluDiv},
      {"or", kAluOr},   {"and", kAluAnd},  {"lsh", kAluLsh}, {"rsh", kAluRsh}, {"neg", kAluNeg},
      {"mod", kAluMod}, {"smod", kAluMod}, {"xor", kAluXor}, {"mov", kAluMov}, {"arsh", kAluArsh},
  };
  return ops;
}

const std::unordered_map<std::string_view, uint8_t>& JumpOps() {
  static const std::unordered_map<std::string_view, uint8_t> ops{
      {"jeq", kJmpJeq}, {"jgt", kJmpJgt},   {"jge", kJmpJge},   {"jset", kJmpJset},
      {"jne", kJmpJne}, {"jsgt", kJmpJsgt}, {"jsge", kJmpJsge}, {"jlt", kJmpJlt},
      {"jle", kJmpJle}, {"jslt", kJmpJslt}, {"jsle", kJmpJsle},
  };
  return ops;
}

base::Status Assembler::Encode(const Line& l) {
  std::string_view m = l.mnemonic;
  if (m == "exit") {
    if (auto st = Count(l, 0); !st) return st;
    Emit(kOpExit, 0, 0, 0, 0);
    return {};
  }
  if (m == "lock") return EncodeAtomic(l);
  if (m == "lddw") {
    if (auto st = Count(l, 2); !st) return st;
    auto dst = Reg(l.operands[0]);
    if (!dst) return dst.error();
    // vigil's extension for its own tests: `map:N` (src=1) and `map_value:N:OFF` (src=2).
    std::string_view arg = l.operands[1];
    if (arg.starts_with("map:") || arg.starts_with("map_value:")) {
      const bool value = arg.starts_with("map_value:");
      arg.remove_prefix(value ? 10 : 4);
      size_t colon = arg.find(':');
      auto index = ParseInt(arg.substr(0, colon));
      auto off = value && colon != std::string_view::npos ? ParseInt(arg.substr(colon + 1))
                                                          : std::optional<__int128>(0);
      if (!index || !off || *index < 0 || *index > INT32_MAX || *off < 0 || *off > INT32_MAX ||
          (value == (colon == std::string_view::npos))) {
        return Fail(fmt::format("invalid map operand '{}'", l.operands[1]));
      }
      Emit(kOpLddw, *dst, value ? kPseudoMapValue : kPseudoMapFd, 0, int32_t(*index));
      Emit(0, 0, 0, 0, int32_t(*off));
      return {};
    }
    bool hex = false;
    auto v = ParseInt(l.operands[1], &hex);
    if (!v || *v < INT64_MIN || *v > __int128(UINT64_MAX)) {
      return Fail(fmt::format("invalid 64-bit immediate '{}'", l.operands[1]));
    }
    uint64_t u = uint64_t(*v);
    Emit(kOpLddw, *dst, 0, 0, int32_t(uint32_t(u)));
    Emit(0, 0, 0, 0, int32_t(uint32_t(u >> 32)));
    return {};
  }
  if (m == "call") {
    if (l.operands.size() == 2 && l.operands[0] == "local") {
      auto t = Target(l.operands[1], /*wide=*/true);
      if (!t) return t.error();
      Emit(kOpCall, 0, kPseudoCall, 0, *t);
      return {};
    }
    std::vector<std::string_view> ops = l.operands;
    if (ops.size() == 2 && ops[0] == "helper") ops.erase(ops.begin());
    if (ops.size() != 1) return Fail("invalid number of operands for 'call'");
    if (ops[0].starts_with('%')) {
      auto r = Reg(ops[0]);
      if (!r) return r.error();
      Emit(kOpCallx, *r, 0, 0, 0);
      return {};
    }
    auto imm = Imm32(ops[0]);
    if (!imm) return imm.error();
    Emit(kOpCall, 0, 0, 0, *imm);
    return {};
  }
  if (m == "ja" || m == "ja32") {
    if (auto st = Count(l, 1); !st) return st;
    const bool wide = m == "ja32";
    auto t = Target(l.operands[0], wide);
    if (!t) return t.error();
    if (wide) {
      Emit(kClsJmp32 | kJmpJa, 0, 0, 0, *t);
    } else {
      Emit(kClsJmp | kJmpJa, 0, 0, int16_t(*t), 0);
    }
    return {};
  }
  // Loads and stores: ldx{b,h,w,dw}, ldxs{b,h,w}, st{b,h,w,dw}, stx{b,h,w,dw}.
  static const std::unordered_map<std::string_view, uint8_t> kSizes{
      {"b", kSizeB}, {"h", kSizeH}, {"w", kSizeW}, {"dw", kSizeDw}};
  for (auto [prefix, cls, mode] :
       {std::tuple{"ldxs", kClsLdx, kModeMemsx}, std::tuple{"ldx", kClsLdx, kModeMem},
        std::tuple{"stx", kClsStx, kModeMem}, std::tuple{"st", kClsSt, kModeMem}}) {
    std::string_view p(prefix);
    if (!m.starts_with(p)) continue;
    auto size = kSizes.find(m.substr(p.size()));
    if (size == kSizes.end() || (mode == kModeMemsx && size->second == kSizeDw)) break;
    if (auto st = Count(l, 2); !st) return st;
    const uint8_t op = cls | mode | size->second;
    uint8_t reg = 0;
    int16_t off = 0;
    if (cls == kClsLdx) {
      auto dst = Reg(l.operands[0]);
      if (!dst) return dst.error();
      if (auto st = Mem(l.operands[1], &reg, &off); !st) return st;
      Emit(op, *dst, reg, off, 0);
    } else if (cls == kClsStx) {
      if (auto st = Mem(l.operands[0], &reg, &off); !st) return st;
      auto src = Reg(l.operands[1]);
      if (!src) return src.error();
      Emit(op, reg, *src, off, 0);
    } else {
      if (auto st = Mem(l.operands[0], &reg, &off); !st) return st;
      auto imm = Imm32(l.operands[1]);
      if (!imm) return imm.error();
      Emit(op, reg, 0, off, *imm);
    }
    return {};
  }
  // Byte swaps: le16/32/64, be16/32/64 (ALU class), bswap16/32/64 and swap16/32/64 (ALU64 class).
  for (auto [prefix, op] : {std::pair{"le", uint8_t(kClsAlu | kAluEnd | kSrcK)},
                            std::pair{"be", uint8_t(kClsAlu | kAluEnd | kSrcX)},
                            std::pair{"bswap", uint8_t(kClsAlu64 | kAluEnd)},
                            std::pair{"swap", uint8_t(kClsAlu64 | kAluEnd)}}) {
    std::string_view p(prefix);
    if (!m.starts_with(p)) continue;
    std::string_view width = m.substr(p.size());
    if (width != "16" && width != "32" && width != "64") break;
    if (auto st = Count(l, 1); !st) return st;
    auto dst = Reg(l.operands[0]);
    if (!dst) return dst.error();
    Emit(op, *dst, 0, 0, width == "16" ? 16 : width == "32" ? 32 : 64);
    return {};
  }
  if (m.starts_with("movsx")) {
    // movsx<from><to>: movsx832, movsx1632, movsx864, movsx1664, movsx3264.
    static const std::unordered_map<std::string_view, std::pair<int16_t, bool>> kForms{
        {"movsx832", {8, false}},
        {"movsx1632", {16, false}},
        {"movsx864", {8, true}},
        {"movsx1664", {16, true}},
        {"movsx3264", {32, true}}};
    auto it = kForms.find(m);
    if (it == kForms.end()) return Fail(fmt::format("invalid mnemonic '{}'", m));
    if (auto st = Count(l, 2); !st) return st;
    auto dst = Reg(l.operands[0]);
    if (!dst) return dst.error();
    auto src = Reg(l.operands[1]);
    if (!src) return src.error();
    Emit((it->second.second ? kClsAlu64 : kClsAlu) | kAluMov | kSrcX, *dst, *src, it->second.first,
         0);
    return {};
  }
  const bool is32 = m.ends_with("32");
  std::string_view base = is32 ? m.substr(0, m.size() - 2) : m;
  if (JumpOps().contains(base)) return EncodeJump(l, base, is32);
  if (AluOps().contains(base)) return EncodeAlu(l, base, !is32);
  return Fail(fmt::format("invalid mnemonic '{}'", m));
}

base::Status Assembler::EncodeAlu(const Line& l, std::string_view name, bool is64) {
  const uint8_t cls = is64 ? kClsAlu64 : kClsAlu;
  const uint8_t op = AluOps().at(name);
  const int16_t off = (name == "sdiv" || name == "smod") ? 1 : 0;
  if (op == kAluNeg) {
    if (auto st = Count(l, 1); !st) return st;
    auto dst = Reg(l.operands[0]);
    if (!dst) return dst.error();
    Emit(cls | op, *dst, 0, 0, 0);
    return {};
  }
  if (auto st = Count(l, 2); !st) return st;
  auto dst = Reg(l.operands[0]);
  if (!dst) return dst.error();
  if (l.operands[1].starts_with('%')) {
    auto src = Reg(l.operands[1]);
    if (!src) return src.error();
    Emit(cls | op | kSrcX, *dst, *src, off, 0);
  } else {
    auto imm = Imm32(l.operands[1]);
    if (!imm) return imm.error();
    Emit(cls | op | kSrcK, *dst, 0, off, *imm);
  }
  return {};
}

base::Status Assembler::EncodeJump(const Line& l, std::string_view name, bool is32) {
  if (auto st = Count(l, 3); !st) return st;
  const uint8_t op = (is32 ? kClsJmp32 : kClsJmp) | JumpOps().at(name);
  auto dst = Reg(l.operands[0]);
  if (!dst) return dst.error();
  uint8_t src = 0;
  int32_t imm = 0;
  uint8_t source = kSrcK;
  if (l.operands[1].starts_with('%')) {
    auto r = Reg(l.operands[1]);
    if (!r) return r.error();
    src = *r;
    source = kSrcX;
  } else {
    auto i = Imm32(l.operands[1]);
    if (!i) return i.error();
    imm = *i;
  }
  auto t = Target(l.operands[2], /*wide=*/false);
  if (!t) return t.error();
  Emit(op | source, *dst, src, int16_t(*t), imm);
  return {};
}

// lock [fetch] <op>[32] [%rD+off], %rS
base::Status Assembler::EncodeAtomic(const Line& l) {
  std::vector<std::string_view> ops = l.operands;
  bool fetch = false;
  if (!ops.empty() && ops[0] == "fetch") {
    fetch = true;
    ops.erase(ops.begin());
  }
  if (ops.size() != 3) return Fail("invalid number of operands for lock");
  std::string_view name = ops[0];
  const bool is32 = name.ends_with("32");
  if (is32) name.remove_suffix(2);
  int32_t imm = 0;
  if (name == "add") {
    imm = kAluAdd;
  } else if (name == "or") {
    imm = kAluOr;
  } else if (name == "and") {
    imm = kAluAnd;
  } else if (name == "xor") {
    imm = kAluXor;
  } else if (name == "xchg") {
    imm = kAtomicXchg;
  } else if (name == "cmpxchg") {
    imm = kAtomicCmpxchg;
  } else {
    return Fail(fmt::format("invalid atomic operation '{}'", ops[0]));
  }
  if (fetch) imm |= kAtomicFetch;
  uint8_t reg = 0;
  int16_t off = 0;
  if (auto st = Mem(ops[1], &reg, &off); !st) return st;
  auto src = Reg(ops[2]);
  if (!src) return src.error();
  Emit(kClsStx | kModeAtomic | (is32 ? kSizeW : kSizeDw), reg, *src, off, imm);
  return {};
}

}  // namespace

base::Result<std::vector<Insn>> Assemble(std::string_view source) {
  return Assembler().Run(source);
}

}  // namespace vigil::ebpf

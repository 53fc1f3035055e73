#include "ebpf/test_vector.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ebpf/asm.h"
#include "ebpf/interp/interpreter.h"
#include "ebpf/program.h"
#include "ebpf/scratch.h"
#include "fmt/format.h"

namespace vigil::ebpf {
namespace {

base::Result<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::MakeError(fmt::format("{}: cannot open", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<uint64_t> ParseU64(std::string_view s) {
  int base = 10;
  if (s.starts_with("0x") || s.starts_with("0X")) {
    base = 16;
    s.remove_prefix(2);
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Hex bytes separated by blanks ("aa bb 0c"); also tcpdump-style dumps ("0x0010:  0040 a8de"),
// whose offset labels end in ':' and whose groups hold several bytes each.
base::Status AppendHexBytes(std::string_view text, std::vector<uint8_t>& out) {
  std::istringstream in{std::string(text)};
  std::string tok;
  while (in >> tok) {
    if (tok.back() == ':') continue;
    if (tok.size() % 2 != 0 && tok.size() != 1) {
      return base::MakeError(fmt::format("bad hex byte '{}'", tok));
    }
    for (size_t i = 0; i < tok.size(); i += 2) {
      uint32_t v = 0;
      const char* end = tok.data() + std::min(tok.size(), i + 2);
      auto [p, ec] = std::from_chars(tok.data() + i, end, v, 16);
      if (ec != std::errc() || p != end)
        return base::MakeError(fmt::format("bad hex byte '{}'", tok));
      out.push_back(uint8_t(v));
    }
  }
  return {};
}

uint64_t Gather(Scratch&, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e) {
  return (a & 0xff) << 32 | (b & 0xff) << 24 | (c & 0xff) << 16 | (d & 0xff) << 8 | (e & 0xff);
}
uint64_t Memfrob(Scratch& s, uint64_t p, uint64_t n, uint64_t, uint64_t, uint64_t) {
  if (s.config().checked && n && !s.CanWrite(p, n)) {
    s.Fail("memfrob: buffer is not writable");
    return 0;
  }
  for (uint64_t i = 0; i < n; ++i) reinterpret_cast<uint8_t*>(p)[i] ^= 42;
  return 0;
}
uint64_t NoOp(Scratch&, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) { return 0; }
uint64_t Sqrti(Scratch&, uint64_t x, uint64_t, uint64_t, uint64_t, uint64_t) {
  return uint64_t(std::sqrt(double(x)));
}
uint64_t StrcmpExt(Scratch& s, uint64_t a, uint64_t b, uint64_t, uint64_t, uint64_t) {
  for (uint64_t i = 0;; ++i) {
    if (s.config().checked && (!s.CanRead(a + i, 1) || !s.CanRead(b + i, 1))) {
      s.Fail("strcmp_ext: string is not readable");
      return 0;
    }
    const uint8_t ca = reinterpret_cast<const uint8_t*>(a)[i];
    const uint8_t cb = reinterpret_cast<const uint8_t*>(b)[i];
    if (ca != cb || ca == 0) return uint64_t(int64_t(ca) - int64_t(cb));
  }
}
uint64_t Unwind(Scratch& s, uint64_t x, uint64_t, uint64_t, uint64_t, uint64_t) {
  if (x == 0) {
    s.stop_requested = true;
    s.pending = true;
  }
  return x;
}

}  // namespace

base::Result<TestVector> ParseTestVector(const std::filesystem::path& path) {
  auto text = ReadFile(path);
  if (!text) return text.error();
  TestVector v;
  std::string section;
  std::string raw_text, mem_text, result_text, error_text;
  std::istringstream in(*text);
  std::string line;
  uint32_t number = 0;
  auto fail = [&](std::string why) {
    base::Error e{std::move(why)};
    e.file = path.string();
    e.line = number;
    return e;
  };
  while (std::getline(in, line)) {
    ++number;
    std::string_view l = line;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.starts_with("-- ")) {
      std::string_view name = Trim(l.substr(3));
      std::string include;
      if (size_t at = name.find('@'); at != std::string_view::npos) {
        include = std::string(Trim(name.substr(at + 1)));
        name = Trim(name.substr(0, at));
      }
      if (name == "asm" || name == "raw" || name == "mem" || name == "mem (optional)" ||
          name == "result" || name == "error" || name == "error pattern") {
        section = std::string(name);
      } else if (name == "c" || name == "description" || name == "no jit" ||
                 name == "no register offset") {
        section = "ignore";
      } else if (name == "pyelf" || name == "reload" || name == "unload") {
        v.unsupported.emplace_back(name);
        section = "ignore";
      } else {
        return fail(fmt::format("unknown section '-- {}'", name));
      }
      if (section == "asm") v.has_asm = true;
      if (section == "raw") v.has_raw = true;
      if (section.starts_with("error")) v.error = "";
      if (!include.empty()) {
        auto inc = ReadFile(path.parent_path() / include);
        if (!inc) return inc.error();
        if (section == "asm") {
          v.asm_text += *inc + "\n";
        } else if (section.starts_with("mem")) {
          mem_text += *inc + "\n";
        } else {
          return fail("include in a section that does not take one");
        }
      }
      continue;
    }
    if (section == "asm") {
      v.asm_text += line + "\n";
      continue;
    }
    std::string_view content = l;
    if (size_t hash = content.find('#'); hash != std::string_view::npos && section != "error") {
      content = content.substr(0, hash);
    }
    if (section == "raw") {
      raw_text += std::string(content) + "\n";
    } else if (section.starts_with("mem")) {
      mem_text += std::string(content) + "\n";
    } else if (section == "result") {
      if (!Trim(content).empty()) result_text = std::string(Trim(content));
    } else if (section.starts_with("error")) {
      if (!Trim(content).empty()) v.error = std::string(Trim(content));
    }
  }
  if (!result_text.empty()) {
    auto r = ParseU64(result_text);
    if (!r) return fail(fmt::format("bad result '{}'", result_text));
    v.result = *r;
  }
  if (auto st = AppendHexBytes(mem_text, v.mem); !st) return fail(st.error().message);
  // Raw words: "0x0000000000000095" (a 64-bit little-endian word) or "95 00 00 00 00 00 00 00".
  std::istringstream raw(raw_text);
  while (std::getline(raw, line)) {
    std::string_view l = Trim(line);
    if (l.empty()) continue;
    if (l.starts_with("0x")) {
      auto w = ParseU64(l);
      if (!w) return fail(fmt::format("bad instruction word '{}'", l));
      uint8_t bytes[8];
      std::memcpy(bytes, &*w, 8);
      v.raw.push_back(InsnsFromBytes(bytes)[0]);
    } else {
      std::vector<uint8_t> bytes;
      if (auto st = AppendHexBytes(l, bytes); !st || bytes.size() != 8) {
        return fail(fmt::format("bad instruction bytes '{}'", l));
      }
      v.raw.push_back(InsnsFromBytes(bytes)[0]);
    }
  }
  return v;
}

const HelperTable& TestHelpers() {
  static const HelperTable table = [] {
    HelperTable t;
    t.Set(0, "gather_bytes", Gather);
    t.Set(1, "memfrob", Memfrob);
    t.Set(2, "no_op", NoOp);
    t.Set(3, "sqrti", Sqrti);
    t.Set(4, "strcmp_ext", StrcmpExt);
    t.Set(5, "unwind", Unwind);
    return t;
  }();
  return table;
}

TestOutcome RunTestVector(const TestVector& v, const HelperTable& helpers, Engine engine) {
  TestOutcome out;
  const bool expect_error = v.error.has_value();
  if (v.has_asm && v.has_raw && !expect_error && !v.result) {
    // An assembler vector: the source must assemble to exactly the given words.
    auto assembled = Assemble(v.asm_text);
    if (!assembled) {
      out.refused = true;
      out.detail = "assembler: " + assembled.error().ToString();
      return out;
    }
    out.passed = assembled->size() == v.raw.size() &&
                 std::memcmp(assembled->data(), v.raw.data(), v.raw.size() * sizeof(Insn)) == 0;
    out.detail = out.passed ? "assembles to the given words" : "assembles to different words";
    return out;
  }
  std::vector<Insn> insns = v.raw;
  if (!v.has_raw) {
    auto assembled = Assemble(v.asm_text);
    if (!assembled) {
      out.refused = true;
      out.detail = "assembler: " + assembled.error().ToString();
      out.passed = expect_error;
      return out;
    }
    insns = std::move(*assembled);
  }
  auto program = Program::Load(insns, {.helpers = &helpers});
  if (!program) {
    out.refused = true;
    out.detail = "load: " + program.error().message;
    out.passed = expect_error;
    return out;
  }
  std::vector<uint8_t> mem = v.mem;
  Scratch scratch(EngineConfig(engine, {.step_limit = 10'000'000}));
  scratch.AddRegion(mem.data(), mem.size(), /*writable=*/true);
  auto r0 = Run(**program, scratch, mem.empty() ? 0 : uint64_t(mem.data()), mem.size());
  if (!r0) {
    out.run_failed = true;
    out.detail = "run: " + r0.error().message;
    out.passed = expect_error;
    return out;
  }
  out.r0 = *r0;
  if (expect_error) {
    out.detail = fmt::format("ran to r0 {:#x}, expected an error '{}'", *r0, *v.error);
    return out;
  }
  if (!v.result) {
    out.detail = "no expected result";
    return out;
  }
  out.passed = *r0 == *v.result;
  out.detail = fmt::format("r0 {:#x}, expected {:#x}", *r0, *v.result);
  return out;
}

}  // namespace vigil::ebpf

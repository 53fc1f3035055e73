#include "ebpf/jit/jit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "ebpf/asm.h"
#include "ebpf/interp/interpreter.h"
#include "ebpf/jit/differential.h"
#include "ebpf/program.h"
#include "ebpf/verifier/random_program.h"
#include "ebpf/xdp.h"
#include "fmt/format.h"

namespace vigil::ebpf::jit {
namespace {

std::shared_ptr<const Program> Load(const std::string& source, LoadOptions options = {}) {
  auto insns = Assemble(source);
  EXPECT_TRUE(insns) << insns.error().ToString();
  if (!insns) return nullptr;
  auto p = Program::Load(*insns, std::move(options));
  EXPECT_TRUE(p) << p.error().message;
  return p ? *p : nullptr;
}

uint64_t Env(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : fallback;
}

// Programs whose operands sit where the JIT's register assignment makes trouble: the x86 divide
// uses r0 and r2 (rax, rdx), a shift count must be in r3 (rcx), 32-bit operations must
// zero-extend, the atomics that return a value may return it into r0 itself.
TEST(Jit, AwkwardOperandsGiveTheInterpretersResults) {
  const char* cases[] = {
      "lddw %r0, 0x123456789\nmov %r2, 7\ndiv %r0, %r2\nexit",
      "lddw %r2, 0x123456789\nmov %r0, 7\ndiv %r2, %r0\nmov %r0, %r2\nexit",
      "mov %r0, 100\nmov %r2, 7\nmod %r2, %r2\nadd %r0, %r2\nexit",
      "lddw %r0, 0x8000000000000000\nmov %r1, -1\nsdiv %r0, %r1\nexit",
      "lddw %r0, 0x8000000000000000\nmov %r1, -1\nsmod %r0, %r1\nexit",
      "mov32 %r0, 0x80000000\nsdiv32 %r0, -1\nexit",
      "lddw %r0, 0xffffffff80000000\nsmod32 %r0, -1\nexit",
      "lddw %r0, 0xffffffffffff\nmov %r1, 0\nmod32 %r0, %r1\nexit",
      "lddw %r0, 0xffffffffffff\nmov %r1, 0\ndiv %r0, %r1\nexit",
      "mov %r0, -7\nmov %r2, 2\nsdiv %r0, %r2\nexit",
      "mov %r0, -7\nmov %r2, 2\nsmod32 %r0, %r2\nexit",
      "mov %r3, 70\nmov %r0, 1\nlsh %r0, %r3\nexit",
      "mov %r3, 33\nlsh32 %r3, %r3\nmov %r0, %r3\nexit",
      "lddw %r0, 0xffffffffffffffff\nmov %r3, 0\nrsh32 %r0, %r3\nexit",
      "lddw %r3, 0x8000000000000000\nmov %r1, 65\narsh %r3, %r1\nmov %r0, %r3\nexit",
      "lddw %r0, 0xffffffffffffffff\nlsh32 %r0, 0\nexit",
      "mov %r1, 0x1234\nbe16 %r1\nmov %r0, %r1\nexit",
      "lddw %r0, 0x1122334455667788\nbe32 %r0\nexit",
      "lddw %r0, 0x1122334455667788\nle16 %r0\nexit",
      "mov %r0, 0x80\nmovsx864 %r0, %r0\nexit",
      "mov %r4, 0x1ff\nmovsx832 %r4, %r4\nmov %r0, %r4\nexit",
      "lddw %r5, 0x80008000\nmovsx1664 %r0, %r5\nexit",
      "lddw %r5, 0x80008000\nmovsx3264 %r0, %r5\nexit",
      "stdw [%r10-8], 5\nmov %r0, 3\nmov %r1, %r10\nlock fetch or [%r1-8], %r0\n"
      "ldxdw %r1, [%r10-8]\nlsh %r0, 8\nor %r0, %r1\nexit",
      "stw [%r10-8], 12\nlddw %r0, 0xffffffff0000000c\nmov %r1, 99\n"
      "lock cmpxchg32 [%r10-8], %r1\nldxw %r1, [%r10-8]\nlsh %r0, 8\nor %r0, %r1\nexit",
      "stdw [%r10-8], 9\nmov %r0, %r10\nmov %r2, 4\nlock fetch xor [%r0-8], %r2\n"
      "ldxdw %r0, [%r10-8]\nlsh %r0, 8\nor %r0, %r2\nexit",
  };
  for (const char* source : cases) {
    auto p = Load(source);
    ASSERT_TRUE(p && p->jit()) << source;
    Scratch checked({.checked = true}), jit;
    auto want = ebpf::Run(*p, checked, 0);
    auto got = ebpf::Run(*p, jit, 0);
    ASSERT_TRUE(want && got) << source;
    EXPECT_EQ(*got, *want) << source;
  }
}

TEST(Jit, TailCallsStopAfter33AndSubprogramsReturnToTheirCaller) {
  auto progs = std::static_pointer_cast<ProgramArray>(
      *Map::Create({.type = kMapProgArray, .key_size = 4, .value_size = 4, .max_entries = 4}));
  auto counter =
      *Map::Create({.type = kMapArray, .key_size = 4, .value_size = 8, .max_entries = 1});
  auto self = Load(
      "mov %r6, %r1\nlddw %r1, map_value:1:0\nmov %r2, 1\nlock add [%r1+0], %r2\n"
      "mov %r1, %r6\nlddw %r2, map:0\nmov %r3, 0\ncall 12\nmov %r0, 7\nexit",
      {.maps = {progs, counter}});
  ASSERT_TRUE(progs->SetProgram(0, self));
  // A subprogram tail-calls index 1 (returns 40): the caller goes on after its call with r6 kept.
  auto target = Load("mov %r0, 40\nexit");
  ASSERT_TRUE(progs->SetProgram(1, target));
  auto from_callee = Load(
      "mov %r6, 2\ncall local f\nadd %r0, %r6\nexit\n"
      "f:\nmov %r6, 1000\nlddw %r2, map:0\nmov %r3, 1\ncall 12\nmov %r0, 1\nexit",
      {.maps = {progs}});
  for (bool jit : {false, true}) {
    uint32_t key = 0;
    uint8_t zero[8] = {};
    ASSERT_EQ(counter->Update(&key, zero, kUpdateAny, 0), 0);
    Scratch s({.jit = jit});
    auto r = ebpf::Run(*self, s, 0);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, 7u);
    uint64_t runs;
    std::memcpy(&runs, counter->Lookup(&key, 0), 8);
    EXPECT_EQ(runs, 1u + kMaxTailCalls) << "jit=" << jit;
    auto r2 = ebpf::Run(*from_callee, s, 0);
    ASSERT_TRUE(r2) << r2.error().message;
    EXPECT_EQ(*r2, 42u) << "jit=" << jit;
  }
}

// A run that ends deep inside calls (a helper's failure, too many frames, an unknown callx
// helper) unwinds the native stack: the error is the interpreter's and the next run is clean.
TEST(Jit, FailuresUnwindWithTheInterpretersMessage) {
  HelperTable helpers = HelperTable::Kernel();
  helpers.Set(100, "fail", [](Scratch& s, uint64_t a, uint64_t, uint64_t, uint64_t, uint64_t) {
    if (a == 1) s.Fail("failed on request");
    return a + 1;
  });
  helpers.Set(101, "stop", [](Scratch& s, uint64_t a, uint64_t, uint64_t, uint64_t, uint64_t) {
    if (a == 0) {
      s.stop_requested = true;
      s.pending = true;
    }
    return a + 50;
  });
  auto fail_deep = Load(
      "mov %r6, %r1\ncall local f\nadd %r0, 1\nexit\n"
      "f:\nmov %r1, %r6\ncall 100\nexit",
      {.helpers = &helpers});
  auto stop_deep =
      Load("call local f\nadd %r0, 1\nexit\nf:\ncall 101\nexit", {.helpers = &helpers});
  auto too_deep = Load("call local f\nexit\nf:\ncall local f\nexit");
  auto callx = Load("mov %r0, 9\nmov %r5, 999\ncall %r5\nexit", {.helpers = &helpers});
  auto callx_ok = Load("mov %r1, 4\nmov %r5, 100\ncall %r5\nexit", {.helpers = &helpers});
  struct Case {
    const Program* p;
    uint64_t r1;
  } cases[] = {{fail_deep.get(), 1}, {fail_deep.get(), 5}, {stop_deep.get(), 0},
               {stop_deep.get(), 3}, {too_deep.get(), 0},  {callx.get(), 0},
               {callx_ok.get(), 0}};
  Scratch interp({.jit = false}), jit;
  for (int round = 0; round < 2; ++round) {
    for (const Case& c : cases) {
      auto want = ebpf::Run(*c.p, interp, c.r1);
      auto got = ebpf::Run(*c.p, jit, c.r1);
      ASSERT_EQ(bool(want), bool(got));
      if (want) {
        EXPECT_EQ(*got, *want);
      } else {
        EXPECT_EQ(got.error().message, want.error().message);
      }
    }
  }
  EXPECT_EQ(ebpf::Run(*fail_deep, jit, 1).error().message, "failed on request");
  EXPECT_EQ(*ebpf::Run(*stop_deep, jit, 0), 50u);
  EXPECT_EQ(*ebpf::Run(*callx_ok, jit, 0), 5u);
}

// The code pages are never writable and executable at once: /proc/self/maps shows them r-x.
TEST(Jit, CodeIsReadAndExecuteOnly) {
  auto p = Load("mov %r0, 1\nexit");
  ASSERT_TRUE(p && p->jit());
  const uint64_t at = uint64_t(p->jit()->body());
  std::ifstream maps("/proc/self/maps");
  std::string line;
  bool found = false;
  while (std::getline(maps, line)) {
    uint64_t lo, hi;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &lo, &hi, perms) != 3) continue;
    if (at >= lo && at < hi) {
      found = true;
      EXPECT_STREQ(perms, "r-xp") << line;
    }
  }
  EXPECT_TRUE(found);
}

// The pages land within 2 GiB of vigil's code, so a helper call is a direct rel32 call (e8):
// the parser's map lookup has no call through a table (ff 15).
// Whether the first `bytes` of `code`'s body hold a direct call (e8 rel32) of `fn`.
bool CallsDirectly(const Code& code, int64_t fn, size_t bytes = 64) {
  const auto* body = reinterpret_cast<const uint8_t*>(code.body());
  bool direct = false;
  for (size_t i = 0; i + 5 <= std::min(bytes, code.size()); ++i) {
    int32_t rel;
    std::memcpy(&rel, body + i + 1, 4);
    direct |= body[i] == 0xe8 && int64_t(body) + int64_t(i) + 5 + rel == fn;
  }
  return direct;
}

TEST(Jit, HelperCallsAreDirect) {
  auto p = Load("call 7\nexit");  // bpf_get_prandom_u32
  ASSERT_TRUE(p && p->jit());
  const auto helper = int64_t(HelperTable::Kernel().Find(kHelperGetPrandomU32));
  const auto* code = reinterpret_cast<const uint8_t*>(p->jit()->body());
  EXPECT_LT(std::llabs(int64_t(code) - helper), int64_t(1) << 31);
  EXPECT_TRUE(CallsDirectly(*p->jit(), helper));
}

// Lookups in an array, hash or LRU hash map the code knows skip the helper (the array's inline,
// the others' a direct call of the map), with the helper's results: a value's address, or null
// for an index out of range or an absent key. A lookup whose map depends on the path, or in
// another kind of map, calls the helper.
TEST(Jit, KnownMapLookupsSkipTheHelper) {
  const auto helper = int64_t(HelperTable::Kernel().Find(kHelperMapLookupElem));
  for (uint32_t type : {kMapArray, kMapHash, kMapLruHash, kMapPerCpuArray}) {
    auto map = *Map::Create({.type = type, .key_size = 4, .value_size = 12, .max_entries = 6});
    for (uint32_t k : {0u, 2u, 5u}) {
      const uint32_t v[3] = {k, k + 1, k + 2};
      ASSERT_EQ(map->Update(&k, v, kUpdateAny, 0), 0);
    }
    for (uint32_t key : {0u, 2u, 3u, 5u, 6u, 0xffffffffu}) {
      // r0 = the value's address minus what the host's lookup gives (0 when they agree), or
      // 0x1234 for null; the value's second word is read through the pointer.
      const std::string source = fmt::format(
          "stw [%r10-4], {}\nlddw %r1, map:0\nmov %r2, %r10\nadd %r2, -4\ncall 1\n"
          "jeq %r0, 0, none\nldxw %r1, [%r0+4]\nstxw [%r10-8], %r1\nlddw %r1, {:#x}\n"
          "sub %r0, %r1\nexit\nnone:\nmov %r0, 0x1234\nexit",
          int32_t(key), uint64_t(map->Lookup(&key, 0)));
      auto p = Load(source, {.maps = {map}});
      ASSERT_TRUE(p && p->jit());
      EXPECT_EQ(CallsDirectly(*p->jit(), helper, p->jit()->size()), type == kMapPerCpuArray)
          << "map type " << type;
      Scratch scratch;
      auto r = ebpf::Run(*p, scratch, 0);
      ASSERT_TRUE(r);
      EXPECT_EQ(*r, map->Lookup(&key, 0) != nullptr ? 0u : 0x1234u)
          << "map type " << type << ", key " << key;
    }
  }
  // r1 is one map or another depending on a branch: the helper decides.
  auto a = *Map::Create({.type = kMapArray, .key_size = 4, .value_size = 8, .max_entries = 2});
  auto b = *Map::Create({.type = kMapArray, .key_size = 4, .value_size = 8, .max_entries = 1});
  auto p = Load(
      "stw [%r10-4], 1\nlddw %r1, map:0\njeq %r2, 0, go\nlddw %r1, map:1\ngo:\n"
      "mov %r2, %r10\nadd %r2, -4\ncall 1\nexit",
      {.maps = {a, b}});
  ASSERT_TRUE(p && p->jit());
  EXPECT_TRUE(CallsDirectly(*p->jit(), helper, p->jit()->size()));
  Scratch scratch;
  uint32_t one = 1;
  EXPECT_EQ(*ebpf::Run(*p, scratch, 0, 0), uint64_t(a->Lookup(&one, 0)));
  EXPECT_EQ(*ebpf::Run(*p, scratch, 0, 1), 0u);  // map 1 has no index 1
}

// A verified program without helper calls saves no register it does not write: `return
// XDP_PASS` enters its body at once.
TEST(Jit, LeanEntryForVerifiedProgramsWithoutCalls) {
  auto p = Load("mov %r0, 2\nexit", {.type = ProgramType::kXdp});
  ASSERT_TRUE(p && p->jit() && p->verified());
  EXPECT_TRUE(p->jit()->lean());
  EXPECT_EQ(p->lean_entry(), p->jit()->entry());
  // Nothing to save, no call of the body: the entry is the program's first instruction.
  const auto* code = reinterpret_cast<const uint8_t*>(p->jit()->entry());
  EXPECT_NE(code[0], 0xe8);  // call
  XdpBuffer buf;
  buf.Assign(std::vector<uint8_t>(64, 1));
  Scratch scratch;
  auto v = RunXdp(*p, scratch, buf);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->action, kXdpPass);
  // A helper call takes the full entry.
  auto full = Load("call 7\nmov %r0, 2\nexit", {.type = ProgramType::kXdp});  // get_prandom_u32
  ASSERT_TRUE(full && full->jit());
  EXPECT_FALSE(full->jit()->lean());
  EXPECT_EQ(full->lean_entry(), nullptr);
}

// The lean entry's copy of the body restores what it saved at every exit, keeps rsp aligned for a
// map's lookup, and its redirect verdict names no target (no helper set one), even on a Scratch
// that a previous program's redirect left a target in.
TEST(Jit, LeanExitsRestoreRegistersAndRedirectWithoutTarget) {
  auto counts = *Map::Create({.type = kMapHash, .key_size = 4, .value_size = 8, .max_entries = 4});
  const uint32_t key = 7;
  const uint64_t value = 41;
  ASSERT_EQ(counts->Update(&key, &value, kUpdateAny, 0), 0);
  // r6-r9 written (rbx, r13, r14, r15 saved), a hash lookup called with rsp aligned, two exits.
  const char* source =
      "mov %r6, 1\nmov %r7, 2\nmov %r8, 3\nmov %r9, 4\n"
      "stw [%r10-4], 7\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, map:0\ncall 1\n"
      "jeq %r0, 0, none\nldxdw %r0, [%r0]\nadd %r0, %r6\nadd %r0, %r9\nand %r0, 3\nexit\n"
      "none:\nmov %r0, 1\nexit";
  auto p = Load(source, {.type = ProgramType::kXdp, .maps = {counts}});
  ASSERT_TRUE(p && p->jit() && p->jit()->lean());
  XdpBuffer buf;
  buf.Assign(std::vector<uint8_t>(64, 1));
  Scratch scratch;
  scratch.redirect = {.kind = RedirectKind::kIfindex, .value = 9};
  for (int i = 0; i < 3; ++i) {
    auto v = RunXdp(*p, scratch, buf);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->raw, (41u + 1 + 4) & 3);  // 2: XDP_PASS
  }
  ASSERT_EQ(counts->Delete(&key), 0);
  auto v = RunXdp(*p, scratch, buf);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->action, kXdpDrop);
  auto redirect = Load("mov %r0, 4\nexit", {.type = ProgramType::kXdp});
  ASSERT_TRUE(redirect && redirect->jit()->lean());
  v = RunXdp(*redirect, scratch, buf);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->action, kXdpRedirect);
  EXPECT_EQ(v->redirect.kind, RedirectKind::kNone);
  EXPECT_EQ(v->redirect_ifindex, 0u);
}

// With blinding no immediate of the program appears in the machine code, and results stay.
TEST(Jit, ConstantBlindingHidesImmediates) {
  const std::string source =
      "mov %r0, 0x5a5a1234\nlddw %r1, 0x77665544332211ff\nxor %r0, %r1\nadd32 %r0, 0x3c3c4321\n"
      "stw [%r10-4], 0x69696969\nldxw %r1, [%r10-4]\nadd %r0, %r1\n"
      "jeq %r0, 0x4b4b1111, out\nmul %r0, 0x1e1e2222\nmod %r0, 0x2d2d3333\nout:\nexit";
  auto plain = Load(source);
  auto blinded = Load(source, {.blind_constants = true});
  ASSERT_TRUE(plain && blinded);
  auto contains = [](const Code& code, uint32_t v) {
    const auto* begin = reinterpret_cast<const uint8_t*>(code.entry());
    for (const uint8_t* p = begin; p + 4 <= begin + code.size(); ++p) {
      if (std::memcmp(p, &v, 4) == 0) return true;
    }
    return false;
  };
  for (uint32_t imm : {0x5a5a1234u, 0x332211ffu, 0x77665544u, 0x3c3c4321u, 0x69696969u, 0x4b4b1111u,
                       0x1e1e2222u, 0x2d2d3333u}) {
    EXPECT_TRUE(contains(*plain->jit(), imm)) << std::hex << imm;
    EXPECT_FALSE(contains(*blinded->jit(), imm)) << std::hex << imm;
  }
  Scratch a({.jit = false}), b;
  EXPECT_EQ(*ebpf::Run(*plain, a, 0), *ebpf::Run(*blinded, b, 0));
}

// The comparison itself: addresses the program turns into numbers are the same for both engines
// (one buffer, one stack), while a real difference (here the clock, read twice) is reported.
TEST(JitDifferential, ComparisonSeesDifferencesButNotAddresses) {
  const std::vector<uint8_t> mem(kRawMemorySize, 7);
  for (const char* same : {"mov %r0, %r1\nexit", "mov %r0, %r10\nexit",
                           "call 7\nmov %r6, %r0\ncall 7\nxor %r0, %r6\nexit"}) {
    auto p = Load(same);
    EXPECT_EQ(CompareRaw(*p, mem), "") << same;
  }
  auto clock = Load("call 5\nexit");
  EXPECT_NE(CompareRaw(*clock, mem), "");
  auto store = Load("stb [%r1+3], 1\nmov %r0, 0\nexit");
  EXPECT_EQ(CompareRaw(*store, mem), "");
}

// A program that grows the packet reads the headroom: the comparison gives both engines the same
// (zeroed) headroom, rather than what the first run left there. jit_diff found this one.
TEST(JitDifferential, BothEnginesSeeTheSameHeadroom) {
  auto p = Load(
      "mov %r6, %r1\nmov %r2, -1\ncall 44\n"  // bpf_xdp_adjust_head(ctx, -1)
      "ldxw %r2, [%r6+0]\nldxw %r3, [%r6+4]\nmov %r4, %r2\nadd %r4, 1\njgt %r4, %r3, out\n"
      "ldxb %r5, [%r2+0]\nadd %r5, 1\nstxb [%r2+0], %r5\n"
      "out:\nmov %r0, 2\nexit",
      {.type = ProgramType::kXdp});
  ASSERT_TRUE(p);
  Scratch interp({.jit = false, .clock_ns = 1}), jit({.clock_ns = 1});
  const std::vector<uint8_t> frame(60, 0xab);
  EXPECT_EQ(CompareXdp(*p, frame, interp, jit), "");
}

// Random programs over every instruction's semantics (differential.h), each on two random
// memories: the interpreter and the JIT must agree, with and without blinding. The checked
// interpreter must run them too (the generator promises memory safety).
// VIGIL_JIT_DIFF_PROGRAMS sets how many (3,000 by default), VIGIL_JIT_DIFF_SEED the seed (of
// both differential tests).
TEST(JitDifferential, RandomAluPrograms) {
  const uint64_t programs = Env("VIGIL_JIT_DIFF_PROGRAMS", 3000);
  std::mt19937_64 rng(Env("VIGIL_JIT_DIFF_SEED", 22));
  uint64_t runs = 0;
  for (uint64_t n = 0; n < programs; ++n) {
    const std::vector<Insn> insns = RandomAluProgram(rng);
    const bool blind = n % 8 == 7;
    auto p = Program::Load(insns, {.blind_constants = blind});
    ASSERT_TRUE(p) << "program " << n << ": " << p.error().message;
    for (int k = 0; k < 2; ++k) {
      const std::vector<uint8_t> mem = RandomMemory(rng);
      const std::string diff = CompareRaw(**p, mem);
      ASSERT_EQ(diff, "") << "program " << n << " (seed " << Env("VIGIL_JIT_DIFF_SEED", 22)
                          << ", blinded " << blind << ")";
      ++runs;
    }
    if (programs >= 1'000'000 && n % 1'000'000 == 999'999)
      fmt::print("{} programs, {} differential runs, no difference\n", n + 1, runs);
    if (n % 16 == 0) {
      std::vector<uint8_t> mem = RandomMemory(rng);
      Scratch checked({.checked = true});
      checked.AddRegion(mem.data(), mem.size(), true);
      auto r = ebpf::Run(**p, checked, uint64_t(mem.data()), mem.size());
      ASSERT_TRUE(r) << "program " << n << " is not memory-safe: " << r.error().message;
    }
  }
  fmt::print("random ALU programs: {} programs, {} differential runs, no difference\n", programs,
             runs);
}

// Random verified XDP programs (verifier/random_program.h) on random frames, maps included.
// VIGIL_JIT_DIFF_XDP_PROGRAMS sets how many (3,000 by default: the verifier takes most of the
// time).
TEST(JitDifferential, RandomVerifiedXdpPrograms) {
  const uint64_t programs = Env("VIGIL_JIT_DIFF_XDP_PROGRAMS", 3000);
  std::mt19937_64 rng(Env("VIGIL_JIT_DIFF_SEED", 22) + 1);
  std::vector<std::shared_ptr<Map>> maps;
  for (const MapSpec& spec : verifier::RandomProgramMaps()) maps.push_back(*Map::Create(spec));
  for (uint32_t k = 0; k < 6; ++k) {
    std::vector<uint8_t> key(4), value(maps[1]->spec().value_size, uint8_t(k));
    std::memcpy(key.data(), &k, 4);
    ASSERT_TRUE(maps[1]->HostUpdate(key, value));
  }
  Scratch interp({.jit = false, .clock_ns = 1}), jit({.clock_ns = 1});
  uint64_t accepted = 0, runs = 0;
  for (uint64_t n = 0; n < programs; ++n) {
    const std::vector<Insn> insns = verifier::RandomXdpProgram(rng);
    if (programs >= 100'000 && n % 100'000 == 99'999)
      fmt::print("{} programs, {} accepted, {} differential runs, no difference\n", n + 1, accepted,
                 runs);
    auto p = Program::Load(insns, {.type = ProgramType::kXdp, .maps = maps});
    if (!p) continue;
    ++accepted;
    for (int k = 0; k < 4; ++k) {
      std::vector<uint8_t> frame(rng() % 160);
      for (auto& b : frame) b = uint8_t(rng());
      const std::string diff = CompareXdp(**p, frame, interp, jit);
      ASSERT_EQ(diff, "") << "program " << n << " on a " << frame.size() << "-byte frame";
      ++runs;
    }
  }
  fmt::print("random verified XDP programs: {} of {} accepted, {} differential runs\n", accepted,
             programs, runs);
  EXPECT_GT(accepted, programs / 10);
}

}  // namespace
}  // namespace vigil::ebpf::jit

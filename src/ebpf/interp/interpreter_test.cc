#include "ebpf/interp/interpreter.h"

#include <gtest/gtest.h>

#include <cstring>

#include "ebpf/asm.h"

namespace vigil::ebpf {
namespace {

std::shared_ptr<const Program> Load(const char* source, LoadOptions options = {}) {
  auto insns = Assemble(source);
  EXPECT_TRUE(insns) << insns.error().ToString();
  if (!insns) return nullptr;
  auto p = Program::Load(*insns, std::move(options));
  EXPECT_TRUE(p) << p.error().message;
  return p ? *p : nullptr;
}

// Where a test holds for every engine: the checked and fast interpreters, and the JIT.
constexpr Engine kEngines[] = {Engine::kChecked, Engine::kInterpreter, Engine::kJit};

std::shared_ptr<Map> MakeMap(MapSpec spec) {
  auto m = Map::Create(spec);
  EXPECT_TRUE(m) << m.error().message;
  return *m;
}

// Programs that a checked run must stop, each with a substring of the error.
TEST(CheckedMode, StopsBadAccessesWithAMessage) {
  struct Case {
    const char* source;
    const char* why;
  } cases[] = {
      {"ldxdw %r0, [%r10+0]\nexit", "out-of-bounds load of 8 bytes"},  // above the frame
      {"stb [%r10-513], 1\nmov %r0, 0\nexit", "out-of-bounds store"},  // below frame 0
      {"mov %r1, 0\nldxb %r0, [%r1+0]\nexit", "out-of-bounds load of 1 byte"},
      {"ldxw %r0, [%r2+0]\nexit", "out-of-bounds"},                  // r2 = length, no pointer
      {"ldxw %r0, [%r1+6]\nexit", "out-of-bounds load of 4 bytes"},  // straddles the end
      {"stw [%r1+0], 1\nmov %r0, 0\nexit", "out-of-bounds store"},   // read-only region
      {"mov %r0, 0\nl:\nadd %r0, 1\nja l", "step limit"},            // infinite loop
      {"call local f\nexit\nf:\ncall local f\nexit", "call depth"},  // unbounded recursion
      {"mov %r1, 1\nlock add32 [%r10-6], %r1\nmov %r0, 0\nexit", "misaligned atomic"},
      // The callee's frame is dead after it returns; its address must not stay usable.
      {"call local f\nldxdw %r0, [%r0-8]\nexit\nf:\nmov %r0, %r10\nstdw [%r10-8], 7\nexit",
       "out-of-bounds load"},
  };
  uint8_t mem[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  for (const auto& c : cases) {
    auto p = Load(c.source);
    ASSERT_TRUE(p) << c.source;
    Scratch s({.checked = true, .step_limit = 10000});
    s.AddRegion(mem, sizeof(mem), /*writable=*/false);
    auto r = ebpf::Run(*p, s, uint64_t(mem), sizeof(mem));
    ASSERT_FALSE(r) << c.source;
    EXPECT_NE(r.error().message.find(c.why), std::string::npos)
        << c.source << ": " << r.error().message;
  }
}

TEST(CheckedMode, AllowsTheCallersFrameAndTheRegions) {
  // The callee writes into its caller's frame through a pointer argument, as the kernel allows.
  auto p = Load(
      "mov %r1, %r10\nadd %r1, -8\ncall local f\nldxdw %r0, [%r10-8]\nexit\n"
      "f:\nstdw [%r1+0], 42\nexit");
  Scratch s({.checked = true});
  auto r = ebpf::Run(*p, s, 0);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, 42u);
}

TEST(Calls, CalleeHasItsOwnFrameAndCallerKeepsR6ToR9) {
  auto p = Load(
      "mov %r6, 6\nstdw [%r10-8], 1\ncall local f\nldxdw %r1, [%r10-8]\nadd %r0, %r1\n"
      "add %r0, %r6\nexit\n"
      "f:\nstdw [%r10-8], 100\nmov %r6, 0\nldxdw %r0, [%r10-8]\nexit");
  for (Engine e : kEngines) {
    Scratch s(EngineConfig(e));
    auto r = ebpf::Run(*p, s, 0);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 100u + 1 + 6) << "engine " << int(e);
  }
}

TEST(Calls, EightFramesAreAllowedNineAreNot) {
  // f calls itself while r1 > 0: depth r1 + 1 frames in all.
  const char* src =
      "call local f\nexit\nf:\njeq %r1, 0, done\nsub %r1, 1\ncall local f\ndone:\nexit";
  auto p = Load(src);
  for (Engine e : kEngines) {
    Scratch s(EngineConfig(e));
    EXPECT_TRUE(ebpf::Run(*p, s, 6));   // entry + 7 frames of f = 8
    EXPECT_FALSE(ebpf::Run(*p, s, 7));  // 9: refused even in fast mode, the frame array is fixed
  }
}

TEST(TailCalls, JumpIntoTheTargetAndStopAfter33) {
  auto progs = std::static_pointer_cast<ProgramArray>(
      MakeMap({.type = kMapProgArray, .key_size = 4, .value_size = 4, .max_entries = 4}));
  auto counter = MakeMap({.type = kMapArray, .key_size = 4, .value_size = 8, .max_entries = 1});
  // Program 0 counts its runs in counter[0] and tail-calls itself; when the tail call fails (the
  // 34th time) it falls through and returns 7.
  auto self = Load(
      "mov %r6, %r1\nlddw %r1, map_value:1:0\nmov %r2, 1\nlock add [%r1+0], %r2\n"
      "mov %r1, %r6\nlddw %r2, map:0\nmov %r3, 0\ncall 12\nmov %r0, 7\nexit",
      {.maps = {progs, counter}});
  ASSERT_TRUE(progs->SetProgram(0, self));
  // Program 1 tail-calls index 2, which is empty: execution continues after the call.
  auto missing = Load("lddw %r2, map:0\nmov %r3, 2\ncall 12\nmov %r0, 9\nexit", {.maps = {progs}});
  for (Engine e : kEngines) {
    uint8_t zero[8] = {};
    uint32_t key = 0;
    ASSERT_EQ(counter->Update(&key, zero, kUpdateAny, 0), 0);
    Scratch s(EngineConfig(e));
    auto r = ebpf::Run(*self, s, 0);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, 7u);
    uint64_t runs;
    std::memcpy(&runs, counter->Lookup(&key, 0), 8);
    EXPECT_EQ(runs, 1u + kMaxTailCalls);
    auto r2 = ebpf::Run(*missing, s, 0);
    ASSERT_TRUE(r2);
    EXPECT_EQ(*r2, 9u);
  }
}

TEST(Helpers, MapLookupUpdateThroughAProgram) {
  auto hash = MakeMap({.type = kMapHash, .key_size = 4, .value_size = 8, .max_entries = 16});
  // key 5 := 40 (update), then lookup, add 2 in place, return the value.
  auto p = Load(
      "stw [%r10-4], 5\nstdw [%r10-16], 40\nlddw %r1, map:0\nmov %r2, %r10\nadd %r2, -4\n"
      "mov %r3, %r10\nadd %r3, -16\nmov %r4, 0\ncall 2\n"
      "lddw %r1, map:0\nmov %r2, %r10\nadd %r2, -4\ncall 1\njeq %r0, 0, miss\n"
      "ldxdw %r1, [%r0+0]\nadd %r1, 2\nstxdw [%r0+0], %r1\nmov %r0, %r1\nexit\n"
      "miss:\nmov %r0, -1\nexit",
      {.maps = {hash}});
  Scratch s({.checked = true});
  auto r = ebpf::Run(*p, s, 0);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, 42u);
  uint8_t key[4] = {5, 0, 0, 0};
  auto v = hash->HostLookup(key);
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)[0], 42);
}

TEST(Helpers, CheckedModeRefusesForeignMapsAndKeys) {
  auto hash = MakeMap({.type = kMapHash, .key_size = 4, .value_size = 8, .max_entries = 16});
  // r1 is a made-up pointer, then a real map with a key pointer into nowhere.
  auto fake = Load("mov %r1, 4096\nmov %r2, %r10\nadd %r2, -4\ncall 1\nexit", {.maps = {hash}});
  auto badkey = Load("lddw %r1, map:0\nmov %r2, 64\ncall 1\nexit", {.maps = {hash}});
  Scratch s({.checked = true});
  auto r1 = ebpf::Run(*fake, s, 0);
  ASSERT_FALSE(r1);
  EXPECT_NE(r1.error().message.find("not a map"), std::string::npos);
  auto r2 = ebpf::Run(*badkey, s, 0);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find("not readable"), std::string::npos);
}

TEST(Helpers, TracePrintkWritesTheDebugLog) {
  // "x=%d\0" on the stack, then bpf_trace_printk(fmt, 6, -5).
  auto p = Load(
      "mov %r1, 0x64253d78\nstxw [%r10-8], %r1\nstw [%r10-4], 0\nmov %r1, %r10\nadd %r1, -8\n"
      "mov %r2, 8\nmov %r3, -5\ncall 6\nexit");
  Scratch s({.checked = true});
  auto r = ebpf::Run(*p, s, 0);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(s.trace_log(), "x=-5");
  EXPECT_EQ(*r, 4u);
}

TEST(Helpers, CsumDiffMatchesOnesComplementArithmetic) {
  // csum_diff(NULL, 0, &w, 4, 0) of w = 0x0000ffff is 0xffff; replacing 0x00000001 by 0x00000003
  // adds 2.
  auto p = Load(
      "stw [%r10-4], 0x0000ffff\nmov %r1, 0\nmov %r2, 0\nmov %r3, %r10\nadd %r3, -4\n"
      "mov %r4, 4\nmov %r5, 0\ncall 28\nexit");
  Scratch s({.checked = true});
  auto r = ebpf::Run(*p, s, 0);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, 0xffffu);
  auto p2 = Load(
      "stw [%r10-4], 1\nstw [%r10-8], 3\nmov %r1, %r10\nadd %r1, -4\nmov %r2, 4\n"
      "mov %r3, %r10\nadd %r3, -8\nmov %r4, 4\nmov %r5, 0\ncall 28\nexit");
  auto r2 = ebpf::Run(*p2, s, 0);
  ASSERT_TRUE(r2);
  // ~1 + 3 in 32-bit ones' complement: 0xfffffffe + 3 = 0x1_00000001 -> folds to 2.
  EXPECT_EQ(*r2, 2u);
}

TEST(Helpers, ProcessorIdAndRandom) {
  auto cpu = Load("call 8\nexit");
  Scratch s({.cpu = 3});
  EXPECT_EQ(*ebpf::Run(*cpu, s, 0), 3u);
  auto rnd = Load("call 7\nmov %r6, %r0\ncall 7\nxor %r0, %r6\nexit");
  auto r = ebpf::Run(*rnd, s, 0);
  EXPECT_NE(*r, 0u);  // two draws differ
}

}  // namespace
}  // namespace vigil::ebpf

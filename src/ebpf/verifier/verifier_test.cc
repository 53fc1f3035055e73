// The verifier: its numeric domain against concrete arithmetic, what it proves and refuses on
// small programs (with the messages a programmer sees), its soundness on random programs run in
// the checked interpreter, and its speed on a large program.
#include "ebpf/verifier/verifier.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <random>

#include "ebpf/asm.h"
#include "ebpf/program.h"
#include "ebpf/scratch.h"
#include "ebpf/verifier/random_program.h"
#include "ebpf/verifier/scalar.h"
#include "ebpf/xdp.h"
#include "fmt/format.h"

namespace vigil::ebpf::verifier {
namespace {

// --- The numeric domain. ---

// A random abstract value and a concrete member of it.
struct Sample {
  Scalar abstract;
  uint64_t concrete;
};

Sample RandomSample(std::mt19937_64& rng) {
  const uint64_t v = rng() >> (rng() % 64);
  switch (rng() % 5) {
    case 0:
      return {Scalar::Const(v), v};
    case 1: {
      const uint64_t lo = v - std::min<uint64_t>(v, rng() % 300);
      const uint64_t hi = v + rng() % 300;
      return {Scalar::Range(lo, hi < v ? ~0ull : hi), v};
    }
    case 2: {
      const int64_t s = int64_t(v) - int64_t(rng() % 1000);
      return {Scalar::SignedRange(s - int64_t(rng() % 50), s + int64_t(rng() % 50)), uint64_t(s)};
    }
    case 3: {  // known bits: a mask of unknown bits around the value
      Scalar x = Scalar::Unknown();
      const uint64_t mask = rng() & rng();
      x.SetBits({v & ~mask, mask});
      return {x, v};
    }
    default:
      return {Scalar::Unknown(), v};
  }
}

TEST(VerifierScalar, OperationsContainTheirConcreteResults) {
  std::mt19937_64 rng(7);
  for (int n = 0; n < 200000; ++n) {
    Sample a = RandomSample(rng), b = RandomSample(rng);
    ASSERT_FALSE(a.abstract.Empty());
    ASSERT_TRUE(a.abstract.Contains(Scalar::Const(a.concrete))) << a.abstract.ToString();
    Scalar r = a.abstract;
    uint64_t want = 0;
    const int op = int(rng() % 12);
    const uint64_t x = a.concrete, y = b.concrete;
    switch (op) {
      case 0:
        r.Add(b.abstract), want = x + y;
        break;
      case 1:
        r.Sub(b.abstract), want = x - y;
        break;
      case 2:
        r.Mul(b.abstract), want = x * y;
        break;
      case 3:
        r.Div(b.abstract), want = y ? x / y : 0;
        break;
      case 4:
        r.Mod(b.abstract), want = y ? x % y : x;
        break;
      case 5:
        r.And(b.abstract), want = x & y;
        break;
      case 6:
        r.Or(b.abstract), want = x | y;
        break;
      case 7:
        r.Xor(b.abstract), want = x ^ y;
        break;
      case 8: {
        const uint64_t s = y % 64;
        r.Lsh(Scalar::Const(s), 64), want = x << s;
        break;
      }
      case 9: {
        const uint64_t s = y % 64;
        r.Rsh(Scalar::Const(s), 64), want = x >> s;
        break;
      }
      case 10: {
        const int bytes = 1 << (y % 4);
        r.Truncate(bytes);
        want = bytes == 8 ? x : x & ((1ull << (8 * bytes)) - 1);
        break;
      }
      default: {
        const uint64_t s = y % 64;
        r.Arsh(Scalar::Const(s), 64), want = uint64_t(int64_t(x) >> s);
        break;
      }
    }
    ASSERT_TRUE(r.Contains(Scalar::Const(want)))
        << "op " << op << ": " << a.abstract.ToString() << " (" << x << ") with "
        << b.abstract.ToString() << " (" << y << ") gave " << r.ToString() << ", not " << want;
  }
}

TEST(VerifierScalar, ComparisonsNarrowBothSides) {
  Scalar x = Scalar::Range(0, 255);
  x.SetUmax(13);
  EXPECT_EQ(x.umax(), 13u);
  EXPECT_EQ(x.smax(), 13);
  Scalar y = Scalar::SignedRange(-5, 5);
  y.SetSmin(0);
  EXPECT_EQ(y.umin(), 0u);
  EXPECT_EQ(y.umax(), 5u);
  Scalar z = Scalar::Range(4, 4);
  z.SetUmin(5);
  EXPECT_TRUE(z.Empty());  // a branch that cannot be taken
  Scalar w = Scalar::Range(0, 0xffff);
  w.SetBits({0, 0xff00});  // low byte known zero
  EXPECT_EQ(w.umax(), 0xff00u);
}

// --- Small programs. ---

base::Result<Stats> VerifyAsm(const std::string& source, std::vector<MapSpec> maps = {},
                              bool untrusted = true) {
  auto insns = Assemble(source);
  if (!insns) return insns.error();
  Options o;
  o.maps = std::move(maps);
  o.untrusted = untrusted;
  return Verify(*insns, o);
}

const char* const kPrologue =
    "ldxw %r2, [%r1+0]\n"
    "ldxw %r3, [%r1+4]\n";

TEST(Verifier, PacketBoundsComeFromComparisonsWithDataEnd) {
  const std::string check = std::string(kPrologue) + "mov %r4, %r2\nadd %r4, 14\n";
  EXPECT_TRUE(VerifyAsm(check + "jgt %r4, %r3, out\nldxw %r0, [%r2+10]\nmov %r0, 2\nexit\n"
                                "out:\nmov %r0, 1\nexit\n"));
  // The same comparison written the other way round.
  EXPECT_TRUE(VerifyAsm(check + "jle %r3, %r4, out\nldxb %r0, [%r2+14]\nmov %r0, 2\nexit\n"
                                "out:\nmov %r0, 1\nexit\n"));  // end > data + 14: 15 bytes
  auto st = VerifyAsm(check +
                      "jgt %r4, %r3, out\nldxw %r0, [%r2+11]\nmov %r0, 2\nexit\n"
                      "out:\nmov %r0, 1\nexit\n");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message,
            "instruction 5: r2 = packet reads 4 bytes at offset 11, but only 14 bytes are proven "
            "before data_end (compare data + 15 with data_end first)");
  EXPECT_EQ(st.error().offset, 5 * 8);
}

TEST(Verifier, TenantsMayNotBranchOnWhereAPointerPoints) {
  // `if r10 & 66`: which path runs depends on the stack's address, so the verdict would differ
  // between the interpreter and the JIT, whose stacks lie apart (jit_diff, seed 1313).
  const std::string on_stack = "jset %r10, 66, out\nmov %r0, 2\nexit\nout:\nmov %r0, 1\nexit\n";
  auto st = VerifyAsm(on_stack);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message,
            "instruction 0: compares r10 = fp with 66: a tenant's program may compare a pointer "
            "only with 0, a lookup's result for NULL or a packet position with the packet's end "
            "(root's kernel would load this program; vigil does not, as tenants are not "
            "trusted)");
  EXPECT_TRUE(VerifyAsm(on_stack, {}, /*untrusted=*/false));
  // Two packet positions compared for equality, and the context against a number: refused.
  EXPECT_FALSE(VerifyAsm(std::string(kPrologue) +
                         "mov %r4, %r2\nadd %r4, 4\njeq %r4, %r3, out\nmov %r0, 2\nexit\n"
                         "out:\nmov %r0, 1\nexit\n"));
  EXPECT_FALSE(VerifyAsm("jgt %r1, 4096, out\nmov %r0, 2\nexit\nout:\nmov %r0, 1\nexit\n"));
  // Against 0 the outcome is known whatever the address (clang's `if (ip)` of a packet pointer).
  EXPECT_TRUE(VerifyAsm("jne %r10, 0, out\nmov %r0, 2\nexit\nout:\nmov %r0, 1\nexit\n"));
  EXPECT_TRUE(VerifyAsm(std::string(kPrologue) +
                        "jeq %r2, 0, out\nmov %r0, 2\nexit\nout:\nmov %r0, 1\nexit\n"));
}

TEST(Verifier, ProvenRangeFollowsCopiesAndSpills) {
  // The range proven through r4 (data + 14) holds for r2 and for a copy spilled to the stack.
  EXPECT_TRUE(VerifyAsm(std::string(kPrologue) +
                        "stxdw [%r10-8], %r2\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, out\n"
                        "ldxdw %r5, [%r10-8]\nldxh %r0, [%r5+12]\nmov %r0, 2\nexit\n"
                        "out:\nmov %r0, 1\nexit\n"));
}

TEST(Verifier, VariableOffsetsNeedTheirOwnCheck) {
  const std::string base = std::string(kPrologue) +
                           "mov %r4, %r2\nadd %r4, 1\njgt %r4, %r3, out\n"
                           "ldxb %r5, [%r2+0]\nand %r5, 0x3f\nadd %r2, %r5\n";
  auto st = VerifyAsm(base + "ldxb %r0, [%r2+0]\nmov %r0, 2\nexit\nout:\nmov %r0, 1\nexit\n");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("r2 = packet + [0, 63] reads 1 byte"), std::string::npos)
      << st.error().message;
  EXPECT_TRUE(VerifyAsm(base + "mov %r4, %r2\nadd %r4, 2\njgt %r4, %r3, out\nldxh %r0, [%r2+0]\n"
                               "mov %r0, 2\nexit\nout:\nmov %r0, 1\nexit\n"));
}

TEST(Verifier, NullCheckCoversEveryCopyOfTheLookupResult) {
  const std::vector<MapSpec> maps = {
      {.type = kMapHash, .key_size = 4, .value_size = 8, .max_entries = 4, .name = "counts"}};
  const std::string lookup =
      "stw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, map:0\ncall 1\n";
  // r6 is a copy made before the check of r0: the check covers it.
  EXPECT_TRUE(VerifyAsm(lookup + "mov %r6, %r0\njeq %r0, 0, out\nldxdw %r1, [%r6+0]\n"
                                 "out:\nmov %r0, 2\nexit\n",
                        maps));
  auto st = VerifyAsm(lookup + "ldxdw %r1, [%r0+0]\nmov %r0, 2\nexit\n", maps);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("r0 = value of map 'counts' or NULL reads 8 bytes through it, "
                                    "but it may be NULL"),
            std::string::npos)
      << st.error().message;
}

TEST(Verifier, ResizingThePacketInvalidatesItsPointers) {
  auto st = VerifyAsm(std::string("mov %r6, %r1\n") + kPrologue +
                      "mov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, out\nmov %r7, %r2\n"
                      "mov %r1, %r6\nmov %r2, -4\ncall 44\nldxb %r0, [%r7+0]\n"
                      "out:\nmov %r0, 2\nexit\n");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("a packet pointer until the packet was resized by the helper "
                                    "call at instruction 9"),
            std::string::npos)
      << st.error().message;
}

TEST(Verifier, BoundedLoopsAreUnrolledAndUnboundedOnesRefused) {
  // Sum 16 packet bytes, each read checked.
  auto ok = VerifyAsm(std::string(kPrologue) +
                      "mov %r9, 0\nmov %r0, 0\nloop:\nmov %r4, %r2\nadd %r4, %r9\nmov %r5, %r4\n"
                      "add %r5, 1\njgt %r5, %r3, out\nldxb %r8, [%r4+0]\nadd %r0, %r8\nadd %r9, 1\n"
                      "jlt %r9, 16, loop\nout:\nmov %r0, 2\nexit\n");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_GT(ok->explored, 16u * 8);
  auto forever = VerifyAsm("mov %r0, 2\nloop:\nmov %r1, 1\nja loop\n");
  ASSERT_FALSE(forever);
  EXPECT_NE(forever.error().message.find("infinite loop"), std::string::npos);
  Options small;
  small.complexity_limit = 10000;
  auto insns = Assemble(
      "call 7\nmov %r1, 0\nloop:\nadd %r1, 1\njlt %r1, %r0, loop\nmov %r0, 2\n"
      "exit\n");
  auto budget = Verify(*insns, small);
  ASSERT_FALSE(budget);
  EXPECT_NE(budget.error().message.find("more than 10000 instructions explored"),
            std::string::npos);
}

TEST(Verifier, StackReadsNeedWritesAndSpillsKeepTypes) {
  auto st = VerifyAsm("stw [%r10-8], 1\nldxdw %r0, [%r10-8]\nmov %r0, 2\nexit\n");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message,
            "instruction 1: r10 = fp reads 8 bytes at fp-8, but fp-4 was never written on this "
            "path (uninitialized stack) (root's kernel would load this program; vigil does not, "
            "as tenants are not trusted)");
  EXPECT_TRUE(VerifyAsm("stw [%r10-8], 1\nldxdw %r0, [%r10-8]\nmov %r0, 2\nexit\n", {},
                        /*untrusted=*/false));  // root's kernel allows it
  // A spilled context pointer comes back as the context.
  EXPECT_TRUE(
      VerifyAsm("stxdw [%r10-8], %r1\nldxdw %r6, [%r10-8]\nldxw %r0, [%r6+12]\n"
                "mov %r0, 2\nexit\n"));
  // A 32-bit spill of a bounded number keeps its bounds (clang's `*(u32 *)(r10 - 16) = r1`).
  EXPECT_TRUE(VerifyAsm("mov %r1, 3\nstxw [%r10-16], %r1\nldxw %r0, [%r10-16]\nexit\n"));
}

TEST(Verifier, CallsPassArgumentsAndKeepCalleeSavedRegisters) {
  EXPECT_TRUE(
      VerifyAsm("mov %r6, 1\nmov %r1, 2\ncall local f\nadd %r0, %r6\nexit\n"
                "f:\nmov %r0, %r1\nexit\n"));
  auto st = VerifyAsm("mov %r1, 2\ncall local f\nexit\nf:\nmov %r0, %r1\nadd %r0, 3\nexit\n");
  ASSERT_FALSE(st);  // returns 5: not an XDP action
  EXPECT_NE(st.error().message.find("r0 = 5 at exit"), std::string::npos) << st.error().message;
}

TEST(Verifier, MessagesNameTheSourceLine) {
  std::vector<SourceLine> lines = {{0, "parse.c", 40, "void* data = (void*)(long)ctx->data;"},
                                   {2, "parse.c", 42, "__u8 proto = ip->protocol;"}};
  auto insns = Assemble(std::string(kPrologue) + "ldxb %r0, [%r2+23]\nmov %r0, 2\nexit\n");
  Options o;
  o.lines = &lines;
  auto st = Verify(*insns, o);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message,
            "instruction 2 (parse.c:42: `__u8 proto = ip->protocol;`): r2 = packet reads 1 byte "
            "at offset 23, but only 0 bytes are proven before data_end (compare data + 24 with "
            "data_end first)");
}

// --- Soundness: what is accepted runs without a fault. ---

// A verified program's tail call must not reach code the verifier never saw: an XDP program
// loaded without verification, or a program of another type, in its program array.
TEST(VerifierSoundness, TailCallsReachOnlyVerifiedPrograms) {
  auto progs =
      Map::Create({.type = kMapProgArray, .key_size = 4, .value_size = 4, .max_entries = 2});
  ASSERT_TRUE(progs);
  auto* array = static_cast<ProgramArray*>(progs->get());
  auto caller = Assemble(
      "mov %r6, %r1\nlddw %r2, map:0\nmov %r3, 0\ncall 12\nmov %r1, %r6\nmov %r3, 1\n"
      "lddw %r2, map:0\ncall 12\nmov %r0, 1\nexit\n");
  auto target = Assemble("mov %r0, 3\nexit\n");
  ASSERT_TRUE(caller && target);
  auto prog = Program::Load(*caller, {.type = ProgramType::kXdp, .maps = {*progs}});
  ASSERT_TRUE(prog) << prog.error().message;
  ASSERT_TRUE((*prog)->verified());
  auto unchecked = Program::Load(*target, {.type = ProgramType::kXdp, .verify = false});
  auto raw = Program::Load(*target, {});
  auto checked = Program::Load(*target, {.type = ProgramType::kXdp});
  ASSERT_TRUE(unchecked && raw && checked);
  XdpBuffer buf;
  buf.Assign(std::vector<uint8_t>(64, 0));
  Scratch fast;
  ASSERT_TRUE(array->SetProgram(0, *unchecked));
  ASSERT_TRUE(array->SetProgram(1, *raw));
  EXPECT_EQ(RunXdp(**prog, fast, buf)->raw, 1u);  // both tail calls refused: falls through
  ASSERT_TRUE(array->SetProgram(1, *checked));
  EXPECT_EQ(RunXdp(**prog, fast, buf)->raw, 3u);  // the verified target runs
}

// bpf_trace_printk("%s", number): the verifier cannot know the format, so the helper itself must
// not read through a number, in fast mode too.
TEST(VerifierSoundness, PrintkStringOfANumberReadsNothing) {
  auto insns = Assemble(
      "mov %r1, 0x7325\nstxdw [%r10-8], %r1\n"  // "%s\0"
      "mov %r1, %r10\nadd %r1, -8\nmov %r2, 8\nlddw %r3, 0x12345678\ncall 6\nmov %r0, 2\n"
      "exit\n");
  ASSERT_TRUE(insns);
  auto prog = Program::Load(*insns, {.type = ProgramType::kXdp});
  ASSERT_TRUE(prog) << prog.error().message;
  Scratch fast;
  XdpBuffer buf;
  buf.Assign(std::vector<uint8_t>(64, 0));
  auto v = RunXdp(**prog, fast, buf);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->action, kXdpPass);
  EXPECT_EQ(fast.trace_log(), "");
}

// Random XDP-shaped programs (random_program.h); VIGIL_SOUNDNESS_PROGRAMS sets how many (4,000
// by default: half a second), VIGIL_SOUNDNESS_SEED the seed.
TEST(VerifierSoundness, AcceptedRandomProgramsRunWithoutFaults) {
  const char* count_env = std::getenv("VIGIL_SOUNDNESS_PROGRAMS");
  const char* seed_env = std::getenv("VIGIL_SOUNDNESS_SEED");
  const uint64_t programs = count_env ? std::strtoull(count_env, nullptr, 10) : 4000;
  std::mt19937_64 rng(seed_env ? std::strtoull(seed_env, nullptr, 10) : 2024);
  uint64_t accepted = 0;
  for (uint64_t n = 0; n < programs; ++n) {
    const std::vector<Insn> insns = RandomXdpProgram(rng);
    const SoundnessResult r = CheckSoundness(insns, rng, 12);
    ASSERT_TRUE(r.fault.empty()) << "program " << n << ": " << r.fault;
    accepted += r.accepted;
    if (programs >= 1'000'000 && n % 1'000'000 == 999'999)
      fmt::print("{} programs, {} accepted, no fault\n", n + 1, accepted);
  }
  fmt::print("random programs: {} of {} accepted, each run on 12 random frames without a fault\n",
             accepted, programs);
  // Both verdicts must be common, or the generator tests nothing.
  EXPECT_GT(accepted, programs / 10);
  EXPECT_LT(accepted, programs * 9 / 10);
}

// --- Speed. ---

TEST(VerifierSpeed, LargeProgram) {
  const std::vector<Insn> insns = LargeXdpProgram();
  Options o;
  o.maps = LargeXdpProgramMaps();
  double best = 1e9;
  Stats stats;
  for (int i = 0; i < 5; ++i) {
    auto st = Verify(insns, o);
    ASSERT_TRUE(st) << st.error().message;
    stats = *st;
    best = std::min(best, st->milliseconds);
  }
  fmt::print("large program: {} instructions, {} explored, {} states, best of 5: {:.2f} ms\n",
             stats.instructions, stats.explored, stats.states, best);
  EXPECT_GE(stats.instructions, 4000u);
  // The budget is 10 ms on a quiet machine; the assertion leaves room for a loaded one.
  EXPECT_LT(best, 50.0);
}

}  // namespace
}  // namespace vigil::ebpf::verifier

// The verifier against its corpora (tests/ebpf/verifier, corpus.h) and against the Linux kernel.
//
// CorpusVerdicts (no kernel needed): every `pass/` program is accepted, every `fail/` program is
// refused (with the phrase of its `expect:` line), and a program marked `strict:` — refused on
// purpose although root's kernel takes it — is accepted when vigil verifies with the kernel's
// rules for root (Options::untrusted = false).
//
// KernelParity (root or CAP_BPF, skipped otherwise): the kernel loads every program as XDP, C
// objects through libbpf, assembly through BPF_PROG_LOAD with real maps, and its verdict must equal
// vigil's — vigil's own (strict) verdict, except for the `strict:` programs, where it must equal
// the verdict under the kernel's rules instead. The table it prints (verdicts, the kernel's last
// log line for a refusal, vigil's time) is the record of parity.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "ebpf/asm.h"
#include "ebpf/elf_loader.h"
#include "ebpf/jit/differential.h"
#include "ebpf/scratch.h"
#include "ebpf/verifier/corpus.h"
#include "ebpf/verifier/random_program.h"
#include "ebpf/verifier/verifier.h"
#include "ebpf/xdp.h"
#include "fmt/format.h"

namespace vigil::ebpf::verifier {
namespace {

const std::vector<CorpusCase>& Corpus() {
  static const std::vector<CorpusCase> corpus = [] {
    auto c = LoadCorpus(std::string(VIGIL_SOURCE_DIR) + "/tests/ebpf/verifier",
                        std::string(VIGIL_BPF_OBJ_DIR) + "/verifier");
    if (!c) {
      ADD_FAILURE() << c.error().ToString();
      return std::vector<CorpusCase>{};
    }
    return std::move(*c);
  }();
  return corpus;
}

struct VigilVerdict {
  bool accepted = false;
  std::string message;
  double ms = 0;
  uint64_t states = 0;
  size_t insns = 0;
};

VigilVerdict VerifyCase(const CorpusCase& c, bool untrusted) {
  VigilVerdict v;
  if (c.object.empty()) {
    Options o;
    o.maps = c.maps;
    o.untrusted = untrusted;
    auto st = Verify(c.insns, o);
    v.insns = c.insns.size();
    v.accepted = bool(st);
    if (st) {
      v.ms = st->milliseconds;
      v.states = st->states;
    } else {
      v.message = st.error().message;
    }
    return v;
  }
  auto obj = ElfObject::Open(c.object);
  if (!obj) {
    v.message = obj.error().ToString();
    return v;
  }
  if (obj->programs().empty()) {
    v.message = "no program";
    return v;
  }
  const ElfProgram& p = obj->programs().front();
  Options o = obj->VerifierOptions(p);
  o.untrusted = untrusted;
  auto st = Verify(p.insns, o);
  v.insns = p.insns.size();
  v.accepted = bool(st);
  if (st) {
    v.ms = st->milliseconds;
    v.states = st->states;
  } else {
    v.message = st.error().message;
  }
  return v;
}

TEST(VerifierCorpus, CorpusVerdicts) {
  const auto& corpus = Corpus();
  size_t pass = 0, fail = 0;
  for (const CorpusCase& c : corpus) {
    SCOPED_TRACE(c.name);
    const VigilVerdict v = VerifyCase(c, /*untrusted=*/true);
    if (c.must_pass) {
      ++pass;
      EXPECT_TRUE(v.accepted) << v.message;
      continue;
    }
    ++fail;
    EXPECT_FALSE(v.accepted) << c.why;
    if (!c.expect.empty()) {
      EXPECT_NE(v.message.find(c.expect), std::string::npos)
          << "refusal: " << v.message << "\nexpected to contain: " << c.expect;
    }
    // The refusal says when root's kernel would have taken the program, and only then.
    const bool says_strict =
        v.message.find("root's kernel would load this program") != std::string::npos;
    EXPECT_EQ(says_strict, !c.strict.empty()) << v.message;
    if (!c.strict.empty()) {
      const VigilVerdict root = VerifyCase(c, /*untrusted=*/false);
      EXPECT_TRUE(root.accepted) << "marked strict (root's kernel accepts), but the kernel rules "
                                    "refuse it too: "
                                 << root.message;
    }
  }
  fmt::print("verifier corpus: {} programs to accept, {} to refuse\n", pass, fail);
  EXPECT_GE(pass, 30u);
  EXPECT_GE(fail, 100u);
}

// Soundness on real programs: every safe corpus program, and every mutant of one that vigil
// accepts, runs in the checked interpreter on random frames without a fault, and alike on the fast
// interpreter and the JIT (the random programs of verifier_test.cc cover less: no calls, tail
// calls or checksum helpers).
TEST(VerifierCorpus, AcceptedCorpusProgramsAndMutantsRunWithoutFaults) {
  // VIGIL_CORPUS_MUTANTS: mutants per program (40 by default), VIGIL_CORPUS_SEED the seed.
  const char* count_env = std::getenv("VIGIL_CORPUS_MUTANTS");
  const char* seed_env = std::getenv("VIGIL_CORPUS_SEED");
  const int mutants_per_program = count_env ? std::atoi(count_env) : 40;
  std::mt19937_64 rng(seed_env ? std::strtoull(seed_env, nullptr, 10) : 11);
  size_t programs = 0, runs = 0, mutants = 0, accepted_mutants = 0;
  Scratch scratch({.checked = true, .step_limit = 4'000'000});
  Scratch interp_scratch({.jit = false, .clock_ns = 1'000'000}),
      jit_scratch({.clock_ns = 1'000'000});
  size_t jit_runs = 0;
  XdpBuffer buf;
  std::vector<uint8_t> frame;
  auto run = [&](const Program& prog, const std::string& what) {
    for (int k = 0; k < 16; ++k) {
      frame.resize(rng() % 200);
      for (auto& b : frame) b = uint8_t(rng());
      if (frame.size() >= 14 && rng() % 2) {  // often IPv4 or IPv6, to get past the first checks
        frame[12] = rng() % 2 ? 0x08 : 0x86;
        frame[13] = frame[12] == 0x08 ? 0x00 : 0xdd;
        if (frame.size() > 14) frame[14] = 0x45;
      }
      buf.Assign(frame);
      auto v = RunXdp(prog, scratch, buf);
      ++runs;
      if (!v) {
        ADD_FAILURE() << what << " was accepted but faulted: " << v.error().message;
        return false;
      }
      // The same frame through the fast interpreter and the JIT: the same verdict, packet and maps.
      if (const std::string diff = jit::CompareXdp(prog, frame, interp_scratch, jit_scratch);
          !diff.empty()) {
        ADD_FAILURE() << what << ": the JIT and the interpreter differ: " << diff;
        return false;
      }
      ++jit_runs;
    }
    return true;
  };
  for (const CorpusCase& c : Corpus()) {
    if (!c.must_pass) continue;
    auto obj = ElfObject::Open(c.object);
    ASSERT_TRUE(obj) << obj.error().ToString();
    auto loaded = obj->Load(obj->programs().front().section, {.type = ProgramType::kXdp});
    ASSERT_TRUE(loaded) << c.name << ": " << loaded.error().ToString();
    ++programs;
    if (!run(*loaded->program, c.name)) return;
    const std::vector<Insn>& original = obj->programs().front().insns;
    for (int m = 0; m < mutants_per_program; ++m) {
      std::vector<Insn> insns = original;
      Mutate(insns, rng, 5);
      ++mutants;
      auto prog = Program::Load(insns, {.type = ProgramType::kXdp, .maps = loaded->maps});
      if (!prog) continue;
      ++accepted_mutants;
      if (!run(**prog, fmt::format("{} mutant {}", c.name, m))) return;
    }
  }
  fmt::print(
      "corpus programs run: {} programs and {} of {} mutants accepted, {} checked runs "
      "without a fault, {} runs alike on the interpreter and the JIT\n",
      programs, accepted_mutants, mutants, runs, jit_runs);
}

// --- The kernel's verdict. ---

std::string& LibbpfLog() {
  static std::string log;
  return log;
}

int CaptureLibbpf(enum libbpf_print_level, const char* format, va_list args) {
  char buf[4096];
  vsnprintf(buf, sizeof(buf), format, args);
  LibbpfLog() += buf;
  return 0;
}

// The kernel's reason in a verifier log: the last line before its statistics ("processed N
// insns ...") and libbpf's own notes.
std::string LastLine(const std::string& log) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    lines.push_back(log.substr(start, end - start));
    start = end + 1;
  }
  for (size_t k = lines.size(); k-- > 0;) {
    const std::string& l = lines[k];
    if (l.empty() || l.find("libbpf:") != std::string::npos || l.rfind("processed ", 0) == 0 ||
        l.find("verification time") != std::string::npos || l.find("-- END") != std::string::npos ||
        l.find("stack depth") != std::string::npos)
      continue;
    // libbpf may glue the kernel's last line to the statistics.
    const size_t p = l.find("processed ");
    return p == std::string::npos || p == 0 ? l : l.substr(0, p);
  }
  return "";
}

struct KernelVerdict {
  int err = 0;  // 0 accepted, else -errno
  std::string why;
};

KernelVerdict KernelLoadObject(const std::string& path) {
  KernelVerdict v;
  LibbpfLog().clear();
  bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
  if (obj == nullptr) {
    v.err = -errno;
    v.why = "libbpf cannot open the object";
    return v;
  }
  bpf_program* prog;
  bool first = true;
  bpf_object__for_each_program(prog, obj) {
    bpf_program__set_type(prog, BPF_PROG_TYPE_XDP);
    bpf_program__set_autoload(prog, first);
    first = false;
  }
  v.err = bpf_object__load(obj);
  if (v.err) v.why = LastLine(LibbpfLog());
  bpf_object__close(obj);
  return v;
}

KernelVerdict KernelLoadInsns(const CorpusCase& c) {
  KernelVerdict v;
  std::vector<int> fds;
  for (const MapSpec& m : c.maps) {
    LIBBPF_OPTS(bpf_map_create_opts, mo);
    if (m.type == kMapLpmTrie) mo.map_flags = BPF_F_NO_PREALLOC;
    const int fd = bpf_map_create(bpf_map_type(m.type), m.name.c_str(), m.key_size, m.value_size,
                                  m.max_entries, &mo);
    if (fd < 0) {
      v.err = -errno;
      v.why = fmt::format("map creation failed: {}", std::strerror(errno));
      for (int f : fds) close(f);
      return v;
    }
    fds.push_back(fd);
  }
  std::vector<bpf_insn> insns(c.insns.size());
  static_assert(sizeof(bpf_insn) == sizeof(Insn));
  std::memcpy(insns.data(), c.insns.data(), insns.size() * sizeof(Insn));
  for (size_t k = 0; k < insns.size(); ++k) {
    if (insns[k].code == (BPF_LD | BPF_IMM | BPF_DW) &&
        (insns[k].src_reg == BPF_PSEUDO_MAP_FD || insns[k].src_reg == BPF_PSEUDO_MAP_VALUE) &&
        insns[k].imm >= 0 && size_t(insns[k].imm) < fds.size())
      insns[k].imm = fds[insns[k].imm];
    if (insns[k].code == (BPF_LD | BPF_IMM | BPF_DW)) ++k;
  }
  int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "corpus", "GPL", insns.data(), insns.size(), nullptr);
  if (fd >= 0) {
    close(fd);
  } else if (errno == E2BIG) {
    // The complexity limit: a second load to fetch the log would take seconds of kernel time.
    v.err = -E2BIG;
    v.why = "BPF program is too large (the 1M-instruction complexity limit)";
  } else {
    v.err = -errno;
    std::string log(1 << 20, '\0');
    LIBBPF_OPTS(bpf_prog_load_opts, po, .log_level = 1, .log_size = uint32_t(log.size()),
                .log_buf = log.data());
    fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "corpus", "GPL", insns.data(), insns.size(), &po);
    if (fd >= 0) close(fd);
    log.resize(strnlen(log.data(), log.size()));
    v.why = LastLine(log);
  }
  for (int f : fds) close(f);
  return v;
}

TEST(VerifierCorpus, KernelParity) {
  {  // Can this process load XDP programs at all?
    bpf_insn probe[2] = {};
    probe[0].code = BPF_ALU64 | BPF_MOV | BPF_K;  // r0 = XDP_PASS
    probe[0].imm = XDP_PASS;
    probe[1].code = BPF_JMP | BPF_EXIT;
    const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "probe", "GPL", probe, 2, nullptr);
    if (fd < 0)
      GTEST_SKIP() << "the kernel refuses to load BPF programs here (" << std::strerror(errno)
                   << "): run as root or with CAP_BPF to compare verdicts with it";
    close(fd);
  }
  libbpf_set_print(CaptureLibbpf);
  const auto& corpus = Corpus();
  size_t agree = 0, strict = 0, disagree = 0;
  double total_ms = 0;
  std::string table;
  for (const CorpusCase& c : corpus) {
    const auto t0 = std::chrono::steady_clock::now();
    const KernelVerdict k = c.object.empty() ? KernelLoadInsns(c) : KernelLoadObject(c.object);
    const double kernel_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (kernel_ms > 200) fmt::print("  ({}: the kernel took {:.0f} ms)\n", c.name, kernel_ms);
    const VigilVerdict v = VerifyCase(c, /*untrusted=*/true);
    const VigilVerdict root = VerifyCase(c, /*untrusted=*/false);
    const bool kernel_ok = k.err == 0;
    std::string note;
    if (kernel_ok == v.accepted) {
      ++agree;
    } else if (!c.strict.empty() && kernel_ok && !v.accepted && root.accepted) {
      ++strict;
      note = "  [vigil stricter: " + c.strict + "]";
    } else {
      ++disagree;
      ADD_FAILURE() << c.name << ": the kernel " << (kernel_ok ? "accepts" : "refuses")
                    << (kernel_ok ? "" : " (" + k.why + ")") << ", vigil "
                    << (v.accepted ? "accepts" : "refuses: " + v.message);
    }
    total_ms += v.ms;
    table += fmt::format("  {:<36} kernel {:<7} vigil {:<7} {:>5} insns {:>7.3f} ms{}{}\n", c.name,
                         kernel_ok ? "accepts" : "refuses", v.accepted ? "accepts" : "refuses",
                         v.insns, v.ms, kernel_ok ? "" : "  kernel: " + k.why, note);
  }
  libbpf_set_print(nullptr);
  fmt::print("{}", table);
  fmt::print(
      "kernel parity: {} programs, {} same verdict, {} refused only by vigil on purpose, "
      "{} disagreements; vigil total {:.2f} ms\n",
      corpus.size(), agree, strict, disagree, total_ms);
  EXPECT_EQ(disagree, 0u);
}

// Random XDP-shaped programs (random_program.h) through both verifiers, under the kernel's rules
// for root: the verdicts must be the same. This found the places where vigil proved more than
// the kernel (and so accepted programs whose only error was on a path the kernel explores):
// packet pointers compared with 0, division of constants, branches settled by proven ranges.
// The verdicts the comparisons below expect are those of the kernel this was written against
// (6.18): among the newest rules vigil follows, an array lookup with a constant key in range is
// not NULL (6.14). An empty string when this kernel behaves so; otherwise why the comparison
// would measure the kernel's age rather than vigil.
std::string KernelLacksNewerRules() {
  LIBBPF_OPTS(bpf_map_create_opts, mo);
  const int map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "probe", 4, 8, 4, &mo);
  if (map < 0)
    return fmt::format("the kernel refuses to create maps here ({})", std::strerror(errno));
  auto insns = Assemble(
      "stw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, map:0\ncall 1\n"
      "ldxdw %r1, [%r0+0]\nmov %r0, 2\nexit\n");
  std::vector<bpf_insn> k(insns->size());
  std::memcpy(k.data(), insns->data(), k.size() * sizeof(Insn));
  k[3].imm = map;
  const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "probe", "GPL", k.data(), k.size(), nullptr);
  close(map);
  if (fd < 0)
    return "this kernel predates 6.14 (a constant-key array lookup may still be NULL to it): "
           "random and mutated programs would be compared with older rules than vigil follows";
  close(fd);
  return "";
}

TEST(VerifierCorpus, RandomProgramsMatchTheKernel) {
  if (const std::string why = KernelLacksNewerRules(); !why.empty()) GTEST_SKIP() << why;
  std::vector<int> fds;
  const std::vector<MapSpec> specs = RandomProgramMaps();
  for (const MapSpec& m : specs) {
    const int fd = bpf_map_create(bpf_map_type(m.type), m.name.c_str(), m.key_size, m.value_size,
                                  m.max_entries, nullptr);
    if (fd < 0) {
      for (int f : fds) close(f);
      GTEST_SKIP() << "the kernel refuses to create maps here (" << std::strerror(errno)
                   << "): run as root or with CAP_BPF to compare verdicts with it";
    }
    fds.push_back(fd);
  }
  // VIGIL_RANDOM_PROGRAMS: programs to compare (400 by default), VIGIL_RANDOM_SEED the seed.
  const char* count_env = std::getenv("VIGIL_RANDOM_PROGRAMS");
  const char* seed_env = std::getenv("VIGIL_RANDOM_SEED");
  std::mt19937_64 rng(seed_env ? std::strtoull(seed_env, nullptr, 10) : 19);
  size_t same = 0, accepted = 0, differ = 0;
  const size_t kPrograms = count_env ? std::strtoull(count_env, nullptr, 10) : 400;
  for (size_t n = 0; n < kPrograms; ++n) {
    const std::vector<Insn> insns = RandomXdpProgram(rng);
    Options o;
    o.maps = specs;
    o.untrusted = false;
    auto st = Verify(insns, o);
    std::vector<bpf_insn> k(insns.size());
    std::memcpy(k.data(), insns.data(), k.size() * sizeof(Insn));
    for (size_t i = 0; i < k.size(); ++i) {
      if (k[i].code != (BPF_LD | BPF_IMM | BPF_DW)) continue;
      if (k[i].src_reg != 0) k[i].imm = fds[k[i].imm];
      ++i;
    }
    const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "random", "GPL", k.data(), k.size(), nullptr);
    const bool kernel_ok = fd >= 0;
    if (fd >= 0) close(fd);
    if (kernel_ok == bool(st)) {
      ++same;
      accepted += kernel_ok;
      continue;
    }
    if (++differ <= 3) {
      std::string listing;
      for (size_t i = 0; i < insns.size(); ++i)
        listing += fmt::format("  {:3} {}\n", i, Describe(insns[i]));
      ADD_FAILURE() << "program " << n << ": the kernel " << (kernel_ok ? "accepts" : "refuses")
                    << ", vigil " << (st ? "accepts" : "refuses: " + st.error().message) << "\n"
                    << listing;
    }
  }
  for (int f : fds) close(f);
  fmt::print("random programs against the kernel: {} of {} same verdict ({} accepted by both)\n",
             same, kPrograms, accepted);
  EXPECT_EQ(differ, 0u);
}

// The safe corpus programs with one or two instructions mutated, through both verifiers (vigil
// under root's rules). vigil must never accept what the kernel refuses. The other direction is
// counted, not failed: vigil's structural check (check.h) refuses malformed fields everywhere,
// where the kernel only looks at the instructions its paths reach, and without the kernel's
// precision tracking vigil prunes less and can run out of budget first.
TEST(VerifierCorpus, MutatedProgramsNeverAcceptedAgainstTheKernel) {
  if (const std::string why = KernelLacksNewerRules(); !why.empty()) GTEST_SKIP() << why;
  std::mt19937_64 rng(5);
  size_t same = 0, kernel_only = 0, tried = 0;
  std::map<std::string, size_t> kernel_only_why;
  for (const CorpusCase& c : Corpus()) {
    if (!c.must_pass) continue;
    auto obj = ElfObject::Open(c.object);
    ASSERT_TRUE(obj) << obj.error().ToString();
    const ElfProgram& p = obj->programs().front();
    Options o = obj->VerifierOptions(p);
    o.untrusted = false;
    o.lines = nullptr;
    std::vector<int> fds;
    bool skip = false;
    for (const ElfMapDefinition& d : obj->maps()) {
      LIBBPF_OPTS(bpf_map_create_opts, mo);
      mo.map_flags = d.spec.flags | (d.spec.type == kMapLpmTrie ? BPF_F_NO_PREALLOC : 0);
      const int fd = bpf_map_create(bpf_map_type(d.spec.type), "m", d.spec.key_size,
                                    d.spec.value_size, d.spec.max_entries, &mo);
      if (fd < 0) skip = true;
      fds.push_back(fd);
    }
    if (skip) {
      for (int f : fds)
        if (f >= 0) close(f);
      GTEST_SKIP() << "the kernel refuses to create maps here (" << std::strerror(errno)
                   << "): run as root or with CAP_BPF to compare verdicts with it";
    }
    for (int m = 0; m < 6; ++m) {
      std::vector<Insn> insns = p.insns;
      Mutate(insns, rng, 6);
      ++tried;
      auto st = Verify(insns, o);
      std::vector<bpf_insn> k(insns.size());
      std::memcpy(k.data(), insns.data(), k.size() * sizeof(Insn));
      for (size_t i = 0; i < k.size(); ++i) {
        if (k[i].code != (BPF_LD | BPF_IMM | BPF_DW)) continue;
        if (k[i].src_reg == BPF_PSEUDO_MAP_FD || k[i].src_reg == BPF_PSEUDO_MAP_VALUE)
          k[i].imm = fds[k[i].imm];
        ++i;
      }
      const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "mutant", "GPL", k.data(), k.size(), nullptr);
      const bool kernel_ok = fd >= 0;
      if (fd >= 0) close(fd);
      if (kernel_ok == bool(st)) {
        ++same;
      } else if (kernel_ok) {
        ++kernel_only;
        std::string why = st.error().message;
        why = why.substr(why.find(": ") + 2);
        ++kernel_only_why[why.substr(0, why.find_first_of("0123456789("))];
      } else {
        ADD_FAILURE() << c.name << " mutant " << m << ": vigil accepts what the kernel refuses";
      }
    }
    for (int f : fds) close(f);
  }
  fmt::print("mutated corpus programs: {} tried, {} same verdict, {} accepted only by the kernel\n",
             tried, same, kernel_only);
  for (const auto& [why, n] : kernel_only_why) fmt::print("  {:4}  vigil: {}\n", n, why);
}

}  // namespace
}  // namespace vigil::ebpf::verifier

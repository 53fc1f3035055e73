// jit_diff: the long differential run of the JIT against the interpreter over random verified XDP
// programs (verifier::RandomXdpProgram) with maps and packets — the count issue #22 asks for.
//
//   build/src/ebpf/jit_diff --programs 10000000 --seed 1 --inputs 4 --mutants 8
//
// Verification is nearly all the cost of a program, so each generated program the verifier
// accepts is also the base of `--mutants` variants: one to three small edits (an immediate or
// offset nudged, a register or operation changed), each verified again and, when accepted, run
// like the base. Every accepted program (base or variant, duplicates of the base skipped) runs on
// `--inputs` random frames (half of them shaped as Ethernet/IPv4) through both engines: the
// verdict, redirect target, packet, metadata, maps and trace output must be the same
// (jit::CompareXdp). One program in eight is compiled with constant blinding. A difference prints
// the program and the frame and exits 1. Programs with a loop are verified under a lower
// complexity limit first (30,000 instructions explored; the loader's is a million): the few whose
// loop the verifier cannot bound would otherwise take nine tenths of the time. Progress goes to
// stdout every --report seconds; the final line gives the counts: programs generated, programs
// accepted and run, differential runs.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "ebpf/isa.h"
#include "ebpf/jit/differential.h"
#include "ebpf/maps.h"
#include "ebpf/program.h"
#include "ebpf/scratch.h"
#include "ebpf/verifier/random_program.h"
#include "ebpf/verifier/verifier.h"
#include "fmt/format.h"

namespace {

using namespace vigil::ebpf;

// Set by SIGINT or SIGTERM: the run stops after the program in hand and prints its counts.
volatile std::sig_atomic_t stop = 0;

struct Counts {
  uint64_t generated = 0;  // programs given to the verifier (bases and variants)
  uint64_t accepted = 0;   // programs verified, loaded and run through both engines
  uint64_t variants = 0;   // of which variants of an accepted base
  uint64_t runs = 0;       // differential runs (programs x inputs)
};

std::vector<uint8_t> RandomFrame(std::mt19937_64& rng) {
  std::vector<uint8_t> frame(rng() % 160);
  for (auto& b : frame) b = uint8_t(rng());
  if (frame.size() >= 34 && rng() % 2) {  // Ethernet/IPv4, IHL 5, TCP or UDP
    frame[12] = 0x08;
    frame[13] = 0x00;
    frame[14] = 0x45;
    frame[23] = rng() % 2 ? 6 : 17;
  }
  return frame;
}

// One to three small edits of `base` (verifier::ApplyEdits), mostly of immediates and offsets.
std::vector<Insn> Variant(const std::vector<Insn>& base, std::mt19937_64& rng) {
  std::vector<Insn> v = base;
  std::vector<uint8_t> edits;
  for (int k = 0, n = 1 + int(rng() % 3); k < n; ++k) {
    const uint8_t at = uint8_t(rng());
    const uint64_t r = rng() % 100;
    const uint8_t field = r < 45 ? 4 : r < 75 ? 3 : r < 85 ? 1 : r < 92 ? 2 : 0;
    uint8_t value = uint8_t(rng());
    if (field >= 3) value = uint8_t(int8_t(1 + rng() % 8) * (rng() % 2 ? 1 : -1));
    if (field == 0) {  // another operation of the same class and source form
      const Insn& i = base[at % base.size()];
      value = uint8_t((i.opcode & 0x0f) | (rng() % 14) << 4);
    }
    edits.insert(edits.end(), {at, field, value});
  }
  verifier::ApplyEdits(v, edits);
  return v;
}

std::string Dump(const std::vector<Insn>& insns) {
  std::string out;
  for (size_t i = 0; i < insns.size(); ++i)
    out += fmt::format("  {:4} {}\n", i, Describe(insns[i]));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Differential run of the eBPF JIT against the interpreter on random verified XDP "
      "programs"};
  uint64_t programs = 1'000'000, seed = 1;
  int inputs = 4, mutants = 8;
  size_t max_blocks = 12;
  double report = 60;
  app.add_option("--programs", programs, "Accepted programs to run")->capture_default_str();
  app.add_option("--seed", seed, "Seed of the generator")->capture_default_str();
  app.add_option("--inputs", inputs, "Frames per program")->capture_default_str();
  app.add_option("--mutants", mutants, "Variants tried per accepted base program")
      ->capture_default_str();
  app.add_option("--max-blocks", max_blocks, "Largest program (blocks of the generator)")
      ->capture_default_str();
  app.add_option("--report", report, "Seconds between progress lines")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // The verifier allocates and frees its state per program: keep freed memory in the process
  // rather than returning it to the kernel each time (half the run was page faults).
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);

  std::vector<std::shared_ptr<Map>> maps;
  for (const MapSpec& spec : verifier::RandomProgramMaps()) maps.push_back(*Map::Create(spec));
  for (uint32_t k = 0; k < 6; ++k) {
    std::vector<uint8_t> key(4), value(maps[1]->spec().value_size, uint8_t(k));
    std::memcpy(key.data(), &k, 4);
    if (!maps[1]->HostUpdate(key, value)) return 2;
  }
  Scratch interp({.jit = false, .clock_ns = 1}), jit({.clock_ns = 1});
  std::mt19937_64 rng(seed);
  Counts c;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto next_report = start + std::chrono::duration<double>(report);
  auto print = [&](const char* what) {
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    fmt::print(
        "{} {:.0f} s: {} generated, {} accepted ({} variants), {} differential runs, "
        "{:.0f} programs/s, {:.0f} runs/s, no difference\n",
        what, s, c.generated, c.accepted, c.variants, c.runs, double(c.accepted) / s,
        double(c.runs) / s);
    std::fflush(stdout);
  };
  verifier::Options quick;
  for (const auto& m : maps) quick.maps.push_back(m->spec());
  quick.complexity_limit = 30'000;
  // Verifies, loads and runs one program; false when the verifier refused it.
  auto try_program = [&](const std::vector<Insn>& insns) {
    ++c.generated;
    // A loop the verifier cannot bound is refused only after a million instructions explored
    // (a quarter second): programs with a backward jump are verified under a lower limit first.
    const bool loops = std::any_of(insns.begin(), insns.end(), [](const Insn& i) {
      return ((i.opcode & 0x07) == kClsJmp || (i.opcode & 0x07) == kClsJmp32) && i.off < 0;
    });
    if (loops && !verifier::Verify(insns, quick)) return false;
    const bool blind = c.generated % 8 == 7;
    auto p =
        Program::Load(insns, {.type = ProgramType::kXdp, .maps = maps, .blind_constants = blind});
    if (!p) return false;
    ++c.accepted;
    for (int k = 0; k < inputs; ++k) {
      const std::vector<uint8_t> frame = RandomFrame(rng);
      const std::string diff = jit::CompareXdp(**p, frame, interp, jit);
      ++c.runs;
      if (!diff.empty()) {
        fmt::print("DIFFERENCE (seed {}, program {}, blinded {}): {}\nframe ({} bytes):", seed,
                   c.generated, blind, diff, frame.size());
        for (uint8_t b : frame) fmt::print(" {:02x}", b);
        fmt::print("\nprogram:\n{}", Dump(insns));
        std::fflush(stdout);
        std::exit(1);
      }
    }
    return true;
  };
  std::signal(SIGINT, [](int) { stop = 1; });
  std::signal(SIGTERM, [](int) { stop = 1; });
  while (c.accepted < programs && !stop) {
    const std::vector<Insn> base = verifier::RandomXdpProgram(rng, 1 + rng() % max_blocks);
    if (try_program(base)) {
      for (int m = 0; m < mutants && c.accepted < programs; ++m) {
        const std::vector<Insn> v = Variant(base, rng);
        if (std::memcmp(v.data(), base.data(), v.size() * sizeof(Insn)) == 0) continue;
        c.variants += try_program(v);
      }
    }
    if (Clock::now() >= next_report) {
      print("progress");
      next_report += std::chrono::duration<double>(report);
    }
  }
  print(stop ? "stopped" : "done");
  return 0;
}

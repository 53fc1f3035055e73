// jit_fuzz: libFuzzer target for the JIT (ebpf/jit/jit.h) against the interpreter. Every program
// that may run is run by both engines on the same input; any difference in r0, memory, stack,
// maps, redirect or trace output aborts (ebpf/jit/differential.h), and the fuzz build's ASan and
// UBSan watch both.
//
// Input layout: byte 0 selects the mode, its bit 1 constant blinding; bytes 1-8 seed a random
// program and every following 3 bytes (instruction index, field, value) mutate one of its
// instructions, so that libFuzzer's mutations explore around programs that mean something.
//   bit 0 set: a raw program of RandomAluProgram (every instruction's semantics). A mutant may be
//              unsafe, so it runs on both engines only after the checked interpreter ran it to
//              the end without a fault: a run is deterministic, so the fast runs take that path.
//   bit 0 clear: an XDP program of verifier::RandomXdpProgram; a mutant runs only when the
//              verifier accepts it, on a frame made from the seed.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "ebpf/interp/interpreter.h"
#include "ebpf/jit/differential.h"
#include "ebpf/program.h"
#include "ebpf/verifier/random_program.h"

using namespace vigil::ebpf;

namespace {

[[noreturn]] void Differ(const std::string& what) {
  std::fprintf(stderr, "jit_fuzz: the JIT and the interpreter differ: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 9) return 0;
  uint64_t seed;
  std::memcpy(&seed, data + 1, 8);
  std::mt19937_64 rng(seed);
  const bool blind = data[0] & 2;
  if (data[0] & 1) {
    std::vector<Insn> insns = jit::RandomAluProgram(rng);
    verifier::ApplyEdits(insns, {data + 9, size - 9});
    auto prog = Program::Load(insns, {.blind_constants = blind});
    if (!prog) return 0;
    std::vector<uint8_t> mem = jit::RandomMemory(rng);
    std::vector<uint8_t> probe = mem;
    Scratch checked({.checked = true, .step_limit = 100'000, .clock_ns = 1});
    checked.AddRegion(probe.data(), probe.size(), /*writable=*/true);
    if (!Run(**prog, checked, uint64_t(probe.data()), probe.size())) return 0;
    if (const std::string diff = jit::CompareRaw(**prog, mem); !diff.empty()) Differ(diff);
    return 0;
  }
  static const std::vector<std::shared_ptr<Map>> maps = [] {
    std::vector<std::shared_ptr<Map>> m;
    for (const MapSpec& spec : verifier::RandomProgramMaps()) m.push_back(*Map::Create(spec));
    return m;
  }();
  std::vector<Insn> insns = verifier::RandomXdpProgram(rng);
  verifier::ApplyEdits(insns, {data + 9, size - 9});
  auto prog =
      Program::Load(insns, {.type = ProgramType::kXdp, .maps = maps, .blind_constants = blind});
  if (!prog) return 0;
  static Scratch interp({.jit = false, .clock_ns = 1}), jit({.clock_ns = 1});
  std::vector<uint8_t> frame(rng() % 160);
  for (auto& b : frame) b = uint8_t(rng());
  if (const std::string diff = jit::CompareXdp(**prog, frame, interp, jit); !diff.empty())
    Differ(diff);
  return 0;
}

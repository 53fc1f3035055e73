// verifier_fuzz: libFuzzer target for the soundness of the eBPF verifier. Every program the
// verifier accepts is run in the checked interpreter (under the fuzz build's ASan and UBSan) on
// random frames; a fault, a bounds report, an error or a return value that is no XDP action means
// the verifier accepted an unsafe program, and the target aborts.
//
// Input layout: byte 0 selects the mode. Odd: the next 8 bytes seed a random XDP-shaped program
// (ebpf/verifier/random_program.h) and every following 3 bytes (instruction index, field, value)
// mutate one of its instructions — libFuzzer's mutations then explore around realistic programs.
// Even: the rest are raw instruction words (the seeds in fuzz/seeds/verifier_fuzz are the
// verifier corpus, tests/ebpf/verifier). Programs may name maps 0-4 (random_program.h).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "ebpf/isa.h"
#include "ebpf/verifier/random_program.h"

using namespace vigil::ebpf;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::vector<Insn> insns;
  uint64_t seed = 0;
  if (data[0] & 1) {
    if (size < 9) return 0;
    std::memcpy(&seed, data + 1, 8);
    std::mt19937_64 rng(seed);
    insns = verifier::RandomXdpProgram(rng);
    verifier::ApplyEdits(insns, {data + 9, size - 9});
  } else {
    insns = InsnsFromBytes({data + 1, size - 1});
    for (size_t k = 0; k < size && k < 8; ++k) seed = seed << 8 | data[k];
  }
  if (insns.empty()) return 0;
  std::mt19937_64 rng(seed);
  const verifier::SoundnessResult r = verifier::CheckSoundness(insns, rng, 8);
  if (!r.fault.empty()) {
    std::fprintf(stderr, "verifier_fuzz: %s\n", r.fault.c_str());
    std::abort();
  }
  return 0;
}

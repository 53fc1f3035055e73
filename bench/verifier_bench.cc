// verifier_bench: how long the eBPF verifier takes to prove a program safe (issue 19's target:
// at most 10 ms for a 4,096-instruction program).
//
//   build/bench/verifier_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
//
//   BM_VerifyLarge              the 4,096-instruction program of random_program.h
//                               (LargeXdpProgram: 170 bounds checks, loads and map updates).
//   BM_VerifyCorpus/<program>   each program of the verifier's corpora (tests/ebpf/verifier),
//                               accepted or refused, as `vigil bpf verify` would check it: the
//                               figure per corpus program. A program ending `@v3` is the same C
//                               compiled for -mcpu=v3.
// Counters: insns (instructions in the program), explored (instructions interpreted over all
// paths), states (kept for pruning).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "ebpf/elf_loader.h"
#include "ebpf/verifier/corpus.h"
#include "ebpf/verifier/random_program.h"
#include "ebpf/verifier/verifier.h"

namespace vigil::ebpf::verifier {
namespace {

void Run(benchmark::State& state, std::span<const Insn> insns, const Options& options) {
  Stats stats;
  for (auto _ : state) {
    auto st = Verify(insns, options);
    if (st) stats = *st;
    benchmark::DoNotOptimize(st);
  }
  state.counters["insns"] = double(insns.size());
  state.counters["explored"] = double(stats.explored);
  state.counters["states"] = double(stats.states);
}

void BM_VerifyLarge(benchmark::State& state) {
  const std::vector<Insn> insns = LargeXdpProgram();
  Options o;
  o.maps = LargeXdpProgramMaps();
  if (!Verify(insns, o)) {
    state.SkipWithError("the large program is refused");
    return;
  }
  Run(state, insns, o);
}
BENCHMARK(BM_VerifyLarge)->Unit(benchmark::kMillisecond);

// One benchmark per corpus program; the objects outlive the run (Options points into them).
void RegisterCorpus() {
  static std::vector<ElfObject> objects;
  static auto corpus = LoadCorpus(std::string(VIGIL_SOURCE_DIR) + "/tests/ebpf/verifier",
                                  std::string(VIGIL_BPF_OBJ_DIR) + "/verifier");
  if (!corpus) return;
  objects.reserve(corpus->size());
  for (const CorpusCase& c : *corpus) {
    Options o;
    std::span<const Insn> insns;
    if (c.object.empty()) {
      o.maps = c.maps;
      insns = c.insns;
    } else {
      auto obj = ElfObject::Open(c.object);
      if (!obj || obj->programs().empty()) continue;
      objects.push_back(std::move(*obj));
      const ElfProgram& p = objects.back().programs().front();
      o = objects.back().VerifierOptions(p);
      insns = p.insns;
    }
    benchmark::RegisterBenchmark(("BM_VerifyCorpus/" + c.name).c_str(), [insns,
                                                                         o](benchmark::State& s) {
      Run(s, insns, o);
    })->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace
}  // namespace vigil::ebpf::verifier

int main(int argc, char** argv) {
  vigil::ebpf::verifier::RegisterCorpus();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

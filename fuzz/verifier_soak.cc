// verifier_soak: the verifier's soundness check at volume, without libFuzzer. It draws programs
// from four sources in turn —
//
//   random   RandomXdpProgram (random_program.h), XDP-shaped, about half unsafe;
//   edited   a random program with 1-4 raw edits (ApplyEdits, as verifier_fuzz mutates);
//   corpus   a program of the verifier's corpora (tests/ebpf/verifier, safe and unsafe) with one or
//            two instructions changed (Mutate), run with the maps its object defines;
//   vector   a program of the conformance suites' vectors (../shared/testdata, `*.data`), mutated,
//            verified as XDP;
//
// verifies each (untrusted), and runs every accepted one in the checked interpreter on random
// frames (CheckSoundness). Built in the fuzz build (-DVIGIL_FUZZ=ON), so ASan and UBSan watch
// every run: a memory error aborts; a fault the checked interpreter reports is counted, and the
// program is written to `verifier_soak-fault-N.bin` (raw instruction words, the input format of
// verifier_fuzz after its leading mode byte).
//
//   verifier_soak --programs 10000000 --seed 1 --corpus tests/ebpf/verifier \
//       --objects build-fuzz/src/ebpf/bpf/verifier --vectors ../shared/testdata
//
// Prints a progress line every 30 seconds and a final line with the counts and the rate;
// --seconds stops early. Exits 1 when any accepted program faulted.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ebpf/asm.h"
#include "ebpf/elf_loader.h"
#include "ebpf/test_vector.h"
#include "ebpf/verifier/corpus.h"
#include "ebpf/verifier/random_program.h"
#include "fmt/format.h"

using namespace vigil::ebpf;

namespace {

struct Seed {
  std::string name;
  std::vector<Insn> insns;
  std::vector<std::shared_ptr<Map>> maps;
};

// The corpus programs with fresh maps from their definitions (global data initialised), unsafe
// ones included: their mutants may become safe.
std::vector<Seed> CorpusSeeds(const std::string& source_dir, const std::string& object_dir) {
  std::vector<Seed> seeds;
  auto corpus = verifier::LoadCorpus(source_dir, object_dir);
  if (!corpus) {
    fmt::print(stderr, "verifier_soak: {}\n", corpus.error().ToString());
    std::exit(2);
  }
  for (const verifier::CorpusCase& c : *corpus) {
    Seed s{.name = c.name};
    std::vector<MapSpec> specs = c.maps;
    std::vector<std::vector<uint8_t>> initial(specs.size());
    if (!c.object.empty()) {
      auto obj = ElfObject::Open(c.object);
      if (!obj || obj->programs().empty()) continue;
      s.insns = obj->programs().front().insns;
      specs.clear();
      initial.clear();
      for (const ElfMapDefinition& d : obj->maps()) {
        specs.push_back(d.spec);
        initial.push_back(d.initial_value);
      }
    } else {
      s.insns = c.insns;
    }
    bool ok = true;
    for (size_t i = 0; i < specs.size() && ok; ++i) {
      auto m = Map::Create(specs[i]);
      if (!m) {
        ok = false;
        break;
      }
      if (!initial[i].empty()) {
        const uint8_t key[4] = {};
        (void)(*m)->HostUpdate(key, initial[i]);
      }
      s.maps.push_back(std::move(*m));
    }
    if (ok && !s.insns.empty()) seeds.push_back(std::move(s));
  }
  return seeds;
}

// The conformance vectors' programs (assembled or raw), with the random programs' maps.
std::vector<Seed> VectorSeeds(const std::string& dir) {
  std::vector<Seed> seeds;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().extension() != ".data") continue;
    auto v = ParseTestVector(it->path());
    if (!v) continue;
    Seed s{.name = it->path().filename().string()};
    if (v->has_raw) {
      s.insns = v->raw;
    } else if (v->has_asm) {
      auto insns = Assemble(v->asm_text);
      if (!insns) continue;
      s.insns = std::move(*insns);
    }
    if (!s.insns.empty()) seeds.push_back(std::move(s));
  }
  return seeds;
}

void Usage() {
  fmt::print(stderr,
             "usage: verifier_soak [--programs N] [--seconds S] [--seed N] [--packets N]\n"
             "                     [--corpus SRC_DIR --objects OBJ_DIR] [--vectors DIR]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t programs = 1'000'000, seed = 1;
  double seconds = 0;
  int packets = 8;
  std::string corpus_dir, object_dir, vector_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) Usage();
    const char* v = argv[++i];
    if (a == "--programs")
      programs = std::strtoull(v, nullptr, 10);
    else if (a == "--seconds")
      seconds = std::strtod(v, nullptr);
    else if (a == "--seed")
      seed = std::strtoull(v, nullptr, 10);
    else if (a == "--packets")
      packets = std::atoi(v);
    else if (a == "--corpus")
      corpus_dir = v;
    else if (a == "--objects")
      object_dir = v;
    else if (a == "--vectors")
      vector_dir = v;
    else
      Usage();
  }
  std::vector<Seed> corpus, vectors;
  if (!corpus_dir.empty()) corpus = CorpusSeeds(corpus_dir, object_dir);
  if (!vector_dir.empty()) vectors = VectorSeeds(vector_dir);
  fmt::print("verifier_soak: seed {}, {} corpus programs, {} vector programs\n", seed,
             corpus.size(), vectors.size());

  enum Source { kRandom, kEdited, kCorpus, kVector, kSources };
  static constexpr const char* kNames[] = {"random", "edited", "corpus", "vector"};
  uint64_t checked[kSources] = {}, accepted[kSources] = {};
  uint64_t faults = 0;
  std::mt19937_64 rng(seed);
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  auto report = [&](const char* what) {
    uint64_t n = 0, acc = 0;
    std::string parts;
    for (int k = 0; k < kSources; ++k) {
      n += checked[k];
      acc += accepted[k];
      parts += fmt::format(" {} {}/{}", kNames[k], accepted[k], checked[k]);
    }
    const double t = elapsed();
    fmt::print(
        "{}: {} programs checked, {} accepted, {} faults, {:.0f} s, {:.0f} programs/s "
        "(accepted/checked:{})\n",
        what, n, acc, faults, t, t > 0 ? double(n) / t : 0.0, parts);
    std::fflush(stdout);
  };
  double next_report = 30;
  for (uint64_t n = 0; n < programs; ++n) {
    Source src = Source(n % kSources);
    if (src == kCorpus && corpus.empty()) src = kRandom;
    if (src == kVector && vectors.empty()) src = kEdited;
    std::vector<Insn> insns;
    const std::vector<std::shared_ptr<Map>>* maps = nullptr;
    switch (src) {
      case kRandom:
        insns = verifier::RandomXdpProgram(rng);
        break;
      case kEdited: {
        insns = verifier::RandomXdpProgram(rng);
        std::vector<uint8_t> edits(3 * (1 + rng() % 4));
        for (auto& b : edits) b = uint8_t(rng());
        verifier::ApplyEdits(insns, edits);
        break;
      }
      case kCorpus: {
        const Seed& s = corpus[rng() % corpus.size()];
        insns = s.insns;
        maps = &s.maps;
        verifier::Mutate(insns, rng, 6);
        break;
      }
      default:
        insns = vectors[rng() % vectors.size()].insns;
        verifier::Mutate(insns, rng, 6);
        break;
    }
    ++checked[src];
    const verifier::SoundnessResult r = maps ? verifier::CheckSoundness(insns, *maps, rng, packets)
                                             : verifier::CheckSoundness(insns, rng, packets);
    if (r.accepted) ++accepted[src];
    if (!r.fault.empty()) {
      const std::string file = fmt::format("verifier_soak-fault-{}.bin", faults++);
      fmt::print("FAULT ({} program {}): {} -> {}\n", kNames[src], n, r.fault, file);
      if (FILE* f = std::fopen(file.c_str(), "wb")) {
        std::fwrite(insns.data(), sizeof(Insn), insns.size(), f);
        std::fclose(f);
      }
    }
    if ((n & 255) == 0) {
      const double t = elapsed();
      if (seconds > 0 && t >= seconds) break;
      if (t >= next_report) {
        report("progress");
        next_report += 30;
      }
    }
  }
  report("done");
  return faults ? 1 : 0;
}

// ebpf_bench: the cost of one XDP run on each eBPF engine beside the same C source compiled as
// native code, and beside the kernel's own JIT.
//
//   cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIGIL_BENCH=ON
//   cmake --build build-rel --target ebpf_bench
//   build-rel/bench/ebpf_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
//
// Each program is one C source in bench/xdp, compiled by the same clang at -O2 twice (see
// bench/CMakeLists.txt): for the BPF target, the object vigil loads (ElfObject, the verifier, the
// JIT) and the kernel loads, and for the host, linked into this binary; natively its map lookups
// reach the same vigil maps through an out-of-line call (xdp_bench.h). Programs:
//   Pass          `return XDP_PASS`: the fixed cost of a run.
//   ParseLookup   Ethernet/IPv4/TCP parse with bounds checks, the TCP destination port looked up
//                 in a hash map (drop when present), the verdict counted in an array map.
//   Checksum      ones'-complement sum of the first 64 bytes as 32 16-bit words, unrolled.
// All run on one 128-byte TCP frame to port 445 (in the hash map: dropped). For each:
//   BM_Native<P>   the native function called on the context.
//   BM_NativeScalar<P>  the same, compiled with -fno-vectorize -fno-slp-vectorize: clang turns the
//                  checksum's loop into SIMD code natively, which no eBPF engine can.
//   BM_Jit<P>      RunXdp, the data plane's entry point (context set-up, per-run state, verdict),
//                  running the JIT's machine code.
//   BM_JitCode<P>  the machine code's entry called directly (without RunXdp's fixed cost).
//   BM_Interp<P>   RunXdp with the fast interpreter.
//   BM_Kernel<P>   the kernel's JIT through BPF_PROG_TEST_RUN (its ~26 ns harness per run
//                  included; manual time = the kernel's own mean per run); skipped without CAP_BPF.
// Counters: insns = instructions one run executes (counted by a checked run), ns_per_insn.
#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "ebpf/elf_loader.h"
#include "ebpf/interp/interpreter.h"
#include "ebpf/jit/jit.h"
#include "ebpf/kernel_test_run.h"
#include "ebpf/maps.h"
#include "ebpf/program.h"
#include "ebpf/scratch.h"
#include "ebpf/xdp.h"

// The native builds of bench/xdp/*.c. A map variable's address is all this file needs of it.
extern "C" {
int pass(void* ctx);
int parse_lookup(void* ctx);
int checksum(void* ctx);
int pass_scalar(void* ctx);
int parse_lookup_scalar(void* ctx);
int checksum_scalar(void* ctx);
extern char blocked_ports[];
extern char verdicts[];

// The native programs' bpf_map_lookup_elem (xdp_bench.h): `map` is the Map a variable was bound to.
void* vigil_map_lookup(void* map, const void* key) {
  return static_cast<vigil::ebpf::Map*>(map)->Lookup(key, 0);
}
}

namespace {

using namespace vigil::ebpf;

std::vector<uint8_t> TcpFrame(uint16_t dport) {
  std::vector<uint8_t> f(128, 0);
  f[12] = 0x08;  // IPv4
  f[14] = 0x45;
  f[23] = 6;  // TCP
  f[36] = uint8_t(dport >> 8);
  f[37] = uint8_t(dport);
  for (size_t i = 54; i < f.size(); ++i) f[i] = uint8_t(i * 7);
  return f;
}

// parse_lookup's blocked_ports, in every engine's map and the kernel's.
constexpr uint32_t kBlockedPorts[] = {22, 23, 445, 3389};

const std::vector<uint8_t>& Frame() {
  static const std::vector<uint8_t> frame = TcpFrame(445);
  return frame;
}

std::string ObjectPath(const char* name) {
  return std::string(VIGIL_XDP_BENCH_DIR) + "/" + name + ".bpf.o";
}

// One program loaded from its BPF object (verified, JIT-compiled), its maps filled and bound to
// the native build's map variables.
struct Fixture {
  std::string path;
  std::string function;
  ElfObject::Loaded loaded;
  uint64_t insns = 0;
  std::string error;
};

Fixture& Get(const char* name) {
  static std::map<std::string, Fixture> fixtures;
  auto [it, fresh] = fixtures.try_emplace(name);
  Fixture& fx = it->second;
  if (!fresh) return fx;
  fx.path = ObjectPath(name);
  fx.function = name;
  auto object = ElfObject::Open(fx.path);
  if (!object) {
    fx.error = object.error().ToString();
    return fx;
  }
  auto loaded = object->Load("xdp", {.type = ProgramType::kXdp});
  if (!loaded) {
    fx.error = loaded.error().ToString();
    return fx;
  }
  fx.loaded = std::move(*loaded);
  if (int i = fx.loaded.MapIndex("blocked_ports"); i >= 0) {
    Map* ports = fx.loaded.maps[i].get();
    for (uint32_t port : kBlockedPorts) {
      const uint32_t one = 1;
      ports->Update(&port, &one, kUpdateAny, 0);
    }
    std::memcpy(blocked_ports, &ports, sizeof(ports));
  }
  if (int i = fx.loaded.MapIndex("verdicts"); i >= 0) {
    Map* counts = fx.loaded.maps[i].get();
    std::memcpy(verdicts, &counts, sizeof(counts));
  }
  XdpBuffer buf;
  buf.Assign(Frame());
  Scratch checked({.checked = true});
  auto v = RunXdp(*fx.loaded.program, checked, buf);
  if (!v) fx.error = v.error().message;
  fx.insns = checked.steps;
  return fx;
}

// The fixture of `name` (its maps bound), or null when it failed: the benchmark is skipped.
Fixture* Ready(benchmark::State& state, const char* name) {
  Fixture& fx = Get(name);
  if (fx.error.empty()) return &fx;
  state.SkipWithError(fx.error.c_str());
  return nullptr;
}

void RunNative(benchmark::State& state, const char* name, int (*native)(void*)) {
  if (Ready(state, name) == nullptr) return;
  XdpBuffer buf;
  buf.Assign(Frame());
  for (auto _ : state) benchmark::DoNotOptimize(native(&buf.context()));
}

void RunEngine(benchmark::State& state, const char* name, Engine engine) {
  Fixture* fx = Ready(state, name);
  if (fx == nullptr) return;
  XdpBuffer buf;
  buf.Assign(Frame());
  Scratch scratch(EngineConfig(engine));
  for (auto _ : state) {
    // What the data plane reads of a verdict, as the native function's int is what it returns.
    auto v = RunXdp(*fx->loaded.program, scratch, buf);
    benchmark::DoNotOptimize(v ? v->action : kXdpAborted);
  }
  state.counters["insns"] = double(fx->insns);
  state.counters["ns_per_insn"] =
      benchmark::Counter(double(fx->insns) * double(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void RunCode(benchmark::State& state, const char* name) {
  Fixture* fx = Ready(state, name);
  if (fx == nullptr) return;
  XdpBuffer buf;
  buf.Assign(Frame());
  Scratch scratch;
  scratch.xdp = &buf.context();
  scratch.BeginRun(*fx->loaded.program);
  const jit::Code::Entry entry = fx->loaded.program->jit()->entry();
  for (auto _ : state) {
    benchmark::DoNotOptimize(entry(&scratch, uint64_t(&buf.context()), 0, scratch.stack_top()));
  }
}

// The kernel measures its runs itself: each iteration is one BPF_PROG_TEST_RUN of many repeats,
// timed as the kernel's mean per run.
void RunKernel(benchmark::State& state, const char* name) {
  const std::vector<std::vector<uint8_t>> frames = {Frame()};
  std::vector<KernelMapEntry> entries;
  if (std::string(name) == "parse_lookup") {
    for (uint32_t port : kBlockedPorts) {
      KernelMapEntry e{.map = "blocked_ports", .key = {0, 0, 0, 0}, .value = {1, 0, 0, 0}};
      std::memcpy(e.key.data(), &port, 4);
      entries.push_back(e);
    }
  }
  for (auto _ : state) {
    auto t = KernelNsPerRun(ObjectPath(name), name, frames, 200'000, entries);
    if (!t) {
      state.SkipWithError(t.error().message.c_str());
      return;
    }
    state.SetIterationTime(t->ns_per_run * 1e-9);
  }
}

#define VIGIL_EBPF_BENCH(P, name)                                                       \
  void BM_Native##P(benchmark::State& s) { RunNative(s, #name, name); }                 \
  void BM_NativeScalar##P(benchmark::State& s) { RunNative(s, #name, name##_scalar); }  \
  void BM_Jit##P(benchmark::State& s) { RunEngine(s, #name, Engine::kJit); }            \
  void BM_JitCode##P(benchmark::State& s) { RunCode(s, #name); }                        \
  void BM_Interp##P(benchmark::State& s) { RunEngine(s, #name, Engine::kInterpreter); } \
  void BM_Kernel##P(benchmark::State& s) { RunKernel(s, #name); }                       \
  BENCHMARK(BM_Native##P);                                                              \
  BENCHMARK(BM_NativeScalar##P);                                                        \
  BENCHMARK(BM_Jit##P);                                                                 \
  BENCHMARK(BM_JitCode##P);                                                             \
  BENCHMARK(BM_Interp##P);                                                              \
  BENCHMARK(BM_Kernel##P)->UseManualTime()->Iterations(10);

VIGIL_EBPF_BENCH(Pass, pass)
VIGIL_EBPF_BENCH(ParseLookup, parse_lookup)
VIGIL_EBPF_BENCH(Checksum, checksum)

}  // namespace

// The programs are loaded (their code mapped, their maps created) in one order before any
// benchmark runs, whatever order --benchmark_enable_random_interleaving picks.
int main(int argc, char** argv) {
  for (const char* name : {"pass", "parse_lookup", "checksum"}) Get(name);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

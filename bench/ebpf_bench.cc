// ebpf_bench: the cost per run and per instruction of the eBPF JIT and interpreter, each program
// beside the same logic compiled as native C++ (the build's flags, -O2 or better) for the ratio.
//
//   cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIGIL_BENCH=ON
//   cmake --build build-rel --target ebpf_bench
//   build-rel/bench/ebpf_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
//
// Programs (XDP, fast mode — what runs after a verifier has accepted the program), each as
// BM_Jit<name>, BM_Interp<name> and BM_Native<name>:
//   Pass      `return XDP_PASS`: the fixed cost of a run.
//   Parser    Ethernet/IPv4/TCP parse with bounds checks, then a hash-map lookup of the TCP
//             destination port: drop when present.
//   Checksum  ones'-complement sum of the first 64 bytes as 32 16-bit words, unrolled (~80
//             instructions); drop when it is 0xffff (a filter's verdict: the verifier wants one).
// BM_JitCode<name> calls the machine code's entry directly, as BM_Native<name> calls the native
// function: the code alone, without RunXdp's fixed cost (context setup, per-run state, verdict).
// Counters: insns = instructions one run executes (counted by a checked run), ns_per_insn.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "ebpf/asm.h"
#include "ebpf/interp/interpreter.h"
#include "ebpf/jit/jit.h"
#include "ebpf/maps.h"
#include "ebpf/program.h"
#include "ebpf/scratch.h"
#include "ebpf/xdp.h"
#include "fmt/format.h"

namespace {

using namespace vigil::ebpf;

constexpr const char* kPass = "mov %r0, 2\nexit";

constexpr const char* kParser =
    "mov %r6, %r1\n"
    "ldxw %r2, [%r6+0]\n"
    "ldxw %r3, [%r6+4]\n"
    "mov %r4, %r2\n"
    "add %r4, 54\n"  // Ethernet 14 + IPv4 20 + TCP 20
    "jgt %r4, %r3, pass\n"
    "ldxh %r5, [%r2+12]\n"
    "jne %r5, 0x0008, pass\n"  // ETH_P_IP, network order
    "ldxb %r5, [%r2+14]\n"
    "and %r5, 0x0f\n"
    "lsh %r5, 2\n"  // IPv4 header length
    "jlt %r5, 20, pass\n"
    "ldxb %r7, [%r2+23]\n"
    "jne %r7, 6, pass\n"  // TCP
    "mov %r8, %r2\n"
    "add %r8, 14\n"
    "add %r8, %r5\n"  // TCP header
    "mov %r4, %r8\n"
    "add %r4, 20\n"
    "jgt %r4, %r3, pass\n"
    "ldxh %r5, [%r8+2]\n"  // destination port, network order
    "be16 %r5\n"
    "stxw [%r10-4], %r5\n"
    "lddw %r1, map:0\n"
    "mov %r2, %r10\n"
    "add %r2, -4\n"
    "call 1\n"
    "jeq %r0, 0, pass\n"
    "mov %r0, 1\n"
    "exit\n"
    "pass:\n"
    "mov %r0, 2\n"
    "exit\n";

// 32 16-bit words (64 bytes) summed by straight-line code, as clang unrolls the loop of
// NativeChecksum for BPF: the verifier proves each load against the one bounds check.
const std::string kChecksumSource = [] {
  std::string src =
      "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 64\njgt %r4, %r3, out\n"
      "mov %r0, 0\n";
  for (int off = 0; off < 64; off += 2)
    src += fmt::format("ldxh %r5, [%r2+{}]\nadd %r0, %r5\n", off);
  src +=
      "mov %r1, %r0\nrsh %r1, 16\nand %r0, 0xffff\nadd %r0, %r1\n"
      "mov %r1, %r0\nrsh %r1, 16\nadd %r0, %r1\nand %r0, 0xffff\n"
      // A valid sum: drop, as a filter would (the verifier wants an XDP action either way).
      "jne %r0, 0xffff, out\nmov %r0, 1\nexit\nout:\nmov %r0, 2\nexit\n";
  return src;
}();
const char* const kChecksum = kChecksumSource.c_str();

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

struct Fixture {
  std::shared_ptr<Map> ports;
  std::shared_ptr<const Program> prog;
  uint64_t insns = 0;
};

Fixture Build(const char* source) {
  Fixture fx;
  auto m = Map::Create({.type = kMapHash, .key_size = 4, .value_size = 4, .max_entries = 1024});
  fx.ports = *m;
  for (uint32_t port : {22u, 23u, 445u, 3389u}) {
    uint32_t one = 1;
    fx.ports->Update(&port, &one, kUpdateAny, 0);
  }
  auto insns = Assemble(source);
  if (!insns) std::abort();
  auto prog = Program::Load(*insns, {.type = ProgramType::kXdp, .maps = {fx.ports}});
  if (!prog) std::abort();
  fx.prog = *prog;
  return fx;
}

void RunProgram(benchmark::State& state, const char* source, uint16_t dport, Engine engine) {
  Fixture fx = Build(source);
  XdpBuffer buf;
  buf.Assign(TcpFrame(dport));
  {
    Scratch checked({.checked = true});
    auto v = RunXdp(*fx.prog, checked, buf);
    if (!v) state.SkipWithError(v.error().message.c_str());
    fx.insns = checked.steps;
  }
  Scratch scratch(EngineConfig(engine));
  for (auto _ : state) {
    auto v = RunXdp(*fx.prog, scratch, buf);
    benchmark::DoNotOptimize(v);
  }
  state.counters["insns"] = double(fx.insns);
  state.counters["ns_per_insn"] =
      benchmark::Counter(double(fx.insns) * double(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void RunCode(benchmark::State& state, const char* source, uint16_t dport) {
  Fixture fx = Build(source);
  XdpBuffer buf;
  buf.Assign(TcpFrame(dport));
  Scratch scratch;
  scratch.xdp = &buf.context();
  scratch.BeginRun(*fx.prog);
  const jit::Code::Entry entry = fx.prog->jit()->entry();
  for (auto _ : state) {
    benchmark::DoNotOptimize(entry(&scratch, uint64_t(&buf.context()), 0, scratch.stack_top()));
  }
}

void BM_JitCodePass(benchmark::State& state) { RunCode(state, kPass, 80); }
void BM_JitCodeParser(benchmark::State& state) { RunCode(state, kParser, 445); }
void BM_JitCodeChecksum(benchmark::State& state) { RunCode(state, kChecksum, 80); }

void BM_InterpPass(benchmark::State& state) { RunProgram(state, kPass, 80, Engine::kInterpreter); }
void BM_InterpParser(benchmark::State& state) {
  RunProgram(state, kParser, 445, Engine::kInterpreter);
}
void BM_InterpChecksum(benchmark::State& state) {
  RunProgram(state, kChecksum, 80, Engine::kInterpreter);
}
void BM_JitPass(benchmark::State& state) { RunProgram(state, kPass, 80, Engine::kJit); }
void BM_JitParser(benchmark::State& state) { RunProgram(state, kParser, 445, Engine::kJit); }
void BM_JitChecksum(benchmark::State& state) { RunProgram(state, kChecksum, 80, Engine::kJit); }

// --- The same logic as native code. ---

[[gnu::noinline]] uint32_t NativePass(XdpContext*) { return kXdpPass; }

[[gnu::noinline]] uint32_t NativeParser(XdpContext* ctx, Map* ports) {
  const uint8_t* data = reinterpret_cast<const uint8_t*>(ctx->data);
  const uint8_t* end = reinterpret_cast<const uint8_t*>(ctx->data_end);
  if (data + 54 > end) return kXdpPass;
  if (data[12] != 0x08 || data[13] != 0) return kXdpPass;
  const uint32_t ihl = (data[14] & 0x0f) * 4u;
  if (ihl < 20 || data[23] != 6) return kXdpPass;
  const uint8_t* tcp = data + 14 + ihl;
  if (tcp + 20 > end) return kXdpPass;
  const uint32_t port = uint32_t(tcp[2]) << 8 | tcp[3];
  return ports->Lookup(&port, 0) ? kXdpDrop : kXdpPass;
}

[[gnu::noinline]] uint32_t NativeChecksum(XdpContext* ctx) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(ctx->data);
  const uint8_t* end = p + 64;
  if (end > reinterpret_cast<const uint8_t*>(ctx->data_end)) return kXdpPass;
  uint64_t sum = 0;
  for (; p < end; p += 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    sum += w;
  }
  sum = (sum & 0xffff) + (sum >> 16);
  sum += sum >> 16;
  return (sum & 0xffff) == 0xffff ? kXdpDrop : kXdpPass;
}

void BM_NativePass(benchmark::State& state) {
  XdpBuffer buf;
  buf.Assign(TcpFrame(80));
  for (auto _ : state) benchmark::DoNotOptimize(NativePass(&buf.context()));
}
void BM_NativeParser(benchmark::State& state) {
  Fixture fx = Build(kPass);
  XdpBuffer buf;
  buf.Assign(TcpFrame(445));
  for (auto _ : state) benchmark::DoNotOptimize(NativeParser(&buf.context(), fx.ports.get()));
}
void BM_NativeChecksum(benchmark::State& state) {
  XdpBuffer buf;
  buf.Assign(TcpFrame(80));
  for (auto _ : state) benchmark::DoNotOptimize(NativeChecksum(&buf.context()));
}

BENCHMARK(BM_JitCodePass);
BENCHMARK(BM_JitPass);
BENCHMARK(BM_InterpPass);
BENCHMARK(BM_NativePass);
BENCHMARK(BM_JitCodeParser);
BENCHMARK(BM_JitParser);
BENCHMARK(BM_InterpParser);
BENCHMARK(BM_NativeParser);
BENCHMARK(BM_JitCodeChecksum);
BENCHMARK(BM_JitChecksum);
BENCHMARK(BM_InterpChecksum);
BENCHMARK(BM_NativeChecksum);

}  // namespace

BENCHMARK_MAIN();

// offload_bench: the offloads vigil ships (offloads/*.bpf.c, issue 21), from memory, one core:
//   BM_SynCookie/<engine>  a SYN to the protected port -> the cookie SYN-ACK (XDP_TX): option
//                          parse, Linux's cookie (SipHash), the SYN-ACK with MSS, SACK-permitted,
//                          timestamps and window scale, both checksums.
//   BM_DnsLimited/<engine> a query from a flooding /24 -> its verdict (XDP_DROP): headers, the
//                          query name's bounded loop and hash, the allow-list lookup, the source
//                          bucket (over its limit).
//   BM_DnsPass/<engine>    a query within the limits -> XDP_PASS (both buckets charged).
// on vigil's interpreter, vigil's JIT, and the kernel as the anchor: the same object loaded by
// libbpf and run by BPF_PROG_TEST_RUN one frame at a time (a fresh copy each, since a SYN-ACK
// would be the next run's input otherwise); its time is the kernel's own measure, which includes
// its harness around each run (~26 ns here). items_per_second = packets per second per core.
// BM_Dns*/kernel_repeat: the same with `repeat` in one test run (a DNS verdict leaves the frame
// as it was), the kernel's per-call overhead spread out. Skipped without root for the kernel.
//
//   build/bench/offload_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

#include "craft/frame.h"
#include "offloads/offload_harness.h"

namespace {

using namespace vigil;
using offloads::Bytes;
using offloads::EngineKind;
using offloads::Le;
using offloads::OffloadEngine;

constexpr int kBatch = 2000;

Bytes SynFrame() {
  craft::FrameSpec spec;
  spec.ip.src = craft::Addr("10.0.0.1");
  spec.ip.dst = craft::Addr("10.0.0.2");
  // Linux's SYN options: MSS, SACK-permitted, timestamps, NOP, window scale.
  spec.transport = craft::TcpHeader{
      .src_port = 40000,
      .dst_port = 80,
      .seq = 12345,
      .flags = packet::kTcpSyn,
      .window = 64240,
      .options = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0x13, 0x88, 0, 0, 0, 0, 1, 3, 3, 7}};
  return craft::BuildFrame(spec);
}

Bytes DnsFrame(const char* src) {
  const Bytes dns = {0x12, 0x34, 1,   0,   0,   1,   0,   0, 0,   0,   0,   0, 3, 'w', 'w', 'w', 7,
                     'e',  'x',  'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1,   0,   1};
  return craft::UdpFrame({craft::Addr(src), 5353}, {craft::Addr("10.0.0.53"), 53}, dns);
}

std::unique_ptr<OffloadEngine> Open(benchmark::State& state, EngineKind kind, const char* name) {
  auto e = OffloadEngine::Open(kind, std::string(VIGIL_OFFLOAD_DIR) + "/" + name + ".bpf.o", name);
  if (!e) {
    state.SkipWithError(e.error().message.c_str());
    return nullptr;
  }
  return std::move(*e);
}

// Runs `frame` in batches, timed by the engine (Time), `expect` the verdict of every run.
void Measure(benchmark::State& state, OffloadEngine& e, const Bytes& frame, uint32_t expect,
             bool idempotent = false) {
  auto r = e.Run(frame);
  if (!r || r->action != expect) {
    state.SkipWithError("unexpected verdict");
    return;
  }
  for (auto _ : state) {
    auto ns = e.Time(frame, kBatch, idempotent);
    if (!ns) {
      state.SkipWithError(ns.error().message.c_str());
      return;
    }
    state.SetIterationTime(*ns * kBatch / 1e9);
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * kBatch);
}

void BM_SynCookie(benchmark::State& state, EngineKind kind) {
  auto e = Open(state, kind, "synproxy");
  if (!e) return;
  Bytes cfg(28, 0);
  cfg[0] = 10, cfg[3] = 2;
  (void)e->Update("config", Le(0, 4), cfg);
  (void)e->Update("ports", Le(80, 4), Bytes{1});
  Measure(state, *e, SynFrame(), 3);
}

Bytes DnsConfig(uint32_t src_rate, uint32_t name_rate) {
  Bytes c(56, 0);
  std::memcpy(c.data(), &src_rate, 4);
  std::memcpy(c.data() + 8, &name_rate, 4);
  return c;
}

void BM_DnsLimited(benchmark::State& state, EngineKind kind) {
  auto e = Open(state, kind, "dns_ratelimit");
  if (!e) return;
  (void)e->Update("config", Le(0, 4), DnsConfig(10, 0));
  const Bytes q = DnsFrame("10.7.7.7");
  for (int i = 0; i < 20; ++i) (void)e->Run(q);  // past the burst
  Measure(state, *e, q, 1, state.range(0) != 0);
}

void BM_DnsPass(benchmark::State& state, EngineKind kind) {
  auto e = Open(state, kind, "dns_ratelimit");
  if (!e) return;
  (void)e->Update("config", Le(0, 4), DnsConfig(1'000'000'000, 1'000'000'000));
  Measure(state, *e, DnsFrame("10.7.7.7"), 2, state.range(0) != 0);
}

#define ENGINES(bm)                                                                      \
  BENCHMARK_CAPTURE(bm, interpreter, EngineKind::kInterpreter)->Arg(0)->UseManualTime(); \
  BENCHMARK_CAPTURE(bm, jit, EngineKind::kJit)->Arg(0)->UseManualTime();                 \
  BENCHMARK_CAPTURE(bm, kernel, EngineKind::kKernel)->Arg(0)->UseManualTime()

ENGINES(BM_SynCookie);
ENGINES(BM_DnsLimited);
ENGINES(BM_DnsPass);
// The DNS verdicts leave the frame as it was: the kernel may repeat it within one test run.
BENCHMARK_CAPTURE(BM_DnsLimited, kernel_repeat, EngineKind::kKernel)->Arg(1)->UseManualTime();
BENCHMARK_CAPTURE(BM_DnsPass, kernel_repeat, EngineKind::kKernel)->Arg(1)->UseManualTime();

}  // namespace

BENCHMARK_MAIN();

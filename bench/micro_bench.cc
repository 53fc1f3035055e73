// Microbenchmarks over real traffic: ../shared/pcaps/mixed-traffic.pcap is read into memory
// first, then each stage runs over all of it. Figures are per packet and per byte of capture.
//
//   make bench                       # all of them, JSON and a Markdown table in build-bench/
//   build-bench/bench/micro_bench --benchmark_filter=Decode
#include <benchmark/benchmark.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "decode/decoder.h"
#include "detect/detector.h"
#include "detect/support.h"
#include "engine/decoded_capture.h"
#include "rules/classification.h"
#include "rules/rule_file.h"
#include "rules/variables.h"

namespace vigil::bench {
namespace {

constexpr const char* kCapture = "../shared/pcaps/mixed-traffic.pcap";

// Every frame of the capture, owned here, with the packets decoded once up front.
// The capture, or the reason it could not be read.
struct Traffic {
  engine::DecodedCapture capture;
  std::string error;
};

const Traffic& LoadTraffic() {
  static Traffic t = [] {
    Traffic t;
    auto c = engine::DecodedCapture::Load(kCapture);
    if (c) {
      t.capture = std::move(*c);
    } else {
      t.error = c.error().ToString();
    }
    return t;
  }();
  return t;
}

void BM_Decode(benchmark::State& state) {
  const Traffic& t = LoadTraffic();
  if (!t.error.empty()) {
    state.SkipWithError(t.error.c_str());
    return;
  }
  decode::Decoder decoder;
  std::vector<packet::Packet> packets = t.capture.packets;
  for (auto _ : state) {
    for (packet::Packet& p : packets) {
      p.ResetDecoded();
      decoder.Decode(p);
    }
    benchmark::DoNotOptimize(packets.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations() * packets.size()));
  state.SetBytesProcessed(int64_t(state.iterations() * t.capture.bytes));
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);

// A ruleset loaded and compiled once per process: Google Benchmark calls a benchmark function
// again for every repetition, and building the ET Open plan alone takes about a minute.
struct CompiledRules {
  std::unique_ptr<const detect::DetectionPlan> plan;
  size_t enabled = 0;
  std::string error;
};

const CompiledRules& Compile(const std::string& rules_dir) {
  static std::map<std::string, CompiledRules> cache;
  auto [it, fresh] = cache.try_emplace(rules_dir);
  if (!fresh) return it->second;
  CompiledRules& c = it->second;
  rules::Variables vars;
  rules::LoadReport report;
  report.support_check = detect::UnsupportedReason;  // every rule the detector evaluates
  auto files = rules::RuleFilesIn(rules_dir);
  if (!files) {
    c.error = files.error().message;
    return c;
  }
  for (const auto& f : *files) rules::LoadRuleFile(f, vars, report);
  c.enabled = report.enabled();
  auto plan =
      detect::DetectionPlan::Build(std::move(report.rules), rules::ClassificationTable::Default());
  if (plan) {
    c.plan = std::move(*plan);
  } else {
    c.error = plan.error().ToString();
  }
  return c;
}

void BM_Detect(benchmark::State& state, const char* rules_dir) {
  const Traffic& t = LoadTraffic();
  if (!t.error.empty()) {
    state.SkipWithError(t.error.c_str());
    return;
  }
  const CompiledRules& compiled = Compile(rules_dir);
  if (!compiled.error.empty()) {
    state.SkipWithError(compiled.error.c_str());
    return;
  }
  size_t enabled = compiled.enabled;
  auto detector = detect::Detector::Create(*compiled.plan);
  std::vector<detect::Alert> alerts;
  for (auto _ : state) {
    for (const packet::Packet& p : t.capture.packets) {
      alerts.clear();
      (*detector)->Inspect(p, alerts);
    }
  }
  state.SetItemsProcessed(int64_t(state.iterations() * t.capture.packets.size()));
  state.SetBytesProcessed(int64_t(state.iterations() * t.capture.bytes));
  state.counters["rules_enabled"] = double(enabled);
  const detect::DetectStats& s = (*detector)->stats();
  state.counters["full_match_fraction"] =
      s.packets ? double(s.packets_full_match) / double(s.packets) : 0;
}
BENCHMARK_CAPTURE(BM_Detect, snort3_community, "../shared/rules/snort3-community")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Detect, et_open_suricata_2024, "../shared/rules/et-open-suricata-2024")
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vigil::bench

BENCHMARK_MAIN();

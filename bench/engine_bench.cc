// End-to-end engine benchmark: the whole pipeline after capture — defragmentation, flows, TCP
// tracking, reassembly and detection (engine::Worker) — over a capture read into memory first,
// on one core and on several (engine::RunInMemory: packets spread by address pair, one worker
// per thread).
//
//   build-bench/bench/engine_bench --capture ../shared/pcaps/mixed-traffic.pcap \
//       --rules ../shared/rules/snort3-community --threads 1 --repetitions 5
//
// Prints one JSON object: the medians over the repetitions of wall time, Gbit/s and packets/s,
// plus cycles per packet, the fraction of packets that reached the full matcher, alerts, and the
// process's peak RSS (resident set size). Run one configuration per process (bench/run.sh does)
// so that the peak RSS is that configuration's.
//
// Cycles per packet are CPU time of the worker threads times the time-stamp counter's rate
// (measured against the steady clock at start), divided by packets: the cycles a core spends per
// packet at its nominal clock, whatever the thread count.
#include <fmt/format.h>
#include <sys/resource.h>
#include <x86intrin.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "detect/support.h"
#include "engine/decoded_capture.h"
#include "engine/parallel.h"
#include "rules/classification.h"
#include "rules/rule_file.h"
#include "rules/variables.h"

namespace vigil::bench {
namespace {

double TscHz() {
  auto t0 = std::chrono::steady_clock::now();
  uint64_t c0 = __rdtsc();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  uint64_t c1 = __rdtsc();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return double(c1 - c0) / s;
}

double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int Main(int argc, char** argv) {
  std::string capture_path, rules_dir, name;
  uint32_t threads = 1;
  int repetitions = 5;
  CLI::App app{"vigil end-to-end engine benchmark"};
  app.add_option("--capture", capture_path, "pcap read into memory before timing")->required();
  app.add_option("--rules", rules_dir, "folder of .rules files (all are loaded)")->required();
  app.add_option("--threads", threads, "worker threads (0: every core)")->capture_default_str();
  app.add_option("--repetitions", repetitions, "runs; medians are reported")->capture_default_str();
  app.add_option("--name", name, "label for the result");
  CLI11_PARSE(app, argc, argv);
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());

  auto capture = engine::DecodedCapture::Load(capture_path);
  if (!capture) {
    fmt::print(stderr, "engine_bench: {}\n", capture.error().ToString());
    return 1;
  }
  rules::Variables vars;
  rules::LoadReport report;
  report.support_check = detect::UnsupportedReason;  // every rule the detector evaluates
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(rules_dir)) {
    if (e.path().extension() == ".rules") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) rules::LoadRuleFile(f, vars, report);
  size_t loaded = report.loaded();
  auto plan =
      detect::DetectionPlan::Build(std::move(report.rules), rules::ClassificationTable::Default());
  if (!plan) {
    fmt::print(stderr, "engine_bench: {}\n", plan.error().ToString());
    return 1;
  }

  for (const base::Error& w : (*plan)->warnings()) {
    fmt::print(stderr, "engine_bench: warning: {}\n", w.ToString());
  }
  double tsc_hz = TscHz();
  std::vector<double> seconds, cycles;
  engine::InMemoryRun last;
  for (int r = 0; r < repetitions; ++r) {
    auto run = engine::RunInMemory(**plan, capture->packets, threads, {});
    if (!run) {
      fmt::print(stderr, "engine_bench: {}\n", run.error().ToString());
      return 1;
    }
    seconds.push_back(run->seconds);
    cycles.push_back(run->cpu_seconds * tsc_hz / double(run->packets));
    last = std::move(*run);
  }
  double s = Median(seconds);
  uint64_t inspected = last.counters.Get("detect.packets");
  double full_match =
      inspected ? double(last.counters.Get("detect.packets_full_match")) / double(inspected) : 0;
  fmt::print(
      "{{\"name\":\"{}\",\"capture\":\"{}\",\"rules\":\"{}\",\"rules_loaded\":{},"
      "\"rules_enabled\":{},\"threads\":{},\"packets\":{},\"bytes\":{},\"repetitions\":{},"
      "\"seconds\":{:.6f},\"gbit_per_s\":{:.4f},\"mpps\":{:.4f},\"cycles_per_packet\":{:.1f},"
      "\"full_match_fraction\":{:.5f},\"alerts\":{},\"flows\":{},\"peak_rss_mb\":{:.1f}}}\n",
      name, std::filesystem::path(capture_path).filename().string(),
      std::filesystem::path(rules_dir).filename().string(), loaded, (*plan)->rule_count(), threads,
      last.packets, last.bytes, repetitions, s, double(last.bytes) * 8 / s / 1e9,
      double(last.packets) / s / 1e6, Median(cycles), full_match, last.alerts,
      last.counters.Get("flow.created"), PeakRssMb());
  return 0;
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) { return vigil::bench::Main(argc, argv); }

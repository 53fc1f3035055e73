// End-to-end engine benchmark: the whole pipeline after capture — defragmentation, flows, TCP
// tracking, reassembly and detection (engine::Worker) — over a capture read into memory first,
// on one core and on several (engine::RunInMemory: packets spread by address pair, one worker
// per thread).
//
//   build-bench/bench/engine_bench --rules ../shared/rules/snort3-community
//       --capture ../shared/pcaps/mixed-traffic.pcap --capture other.pcap --threads 1 --threads 0
//   (one command line)
//
// The ruleset is loaded and compiled once; then every capture runs with every thread count.
// Prints one JSON object per configuration: the medians over the repetitions of wall time,
// Gbit/s and packets/s, plus cycles per packet, the fraction of packets that reached the full
// matcher (detect.packets_full_match: some rule's whole walk, pcre included, ran) and the fraction
// on which some rule's walk ran at all (walked_fraction, detect.packets_walked), alerts, and the
// peak RSS (resident set size) of that configuration: the kernel's high-water mark is reset before
// it (/proc/self/clear_refs), so the figure is the plan, the capture in memory and what the run
// itself added.
//
// --full-match-report N adds, per capture, one more single-threaded pass whose detector tallies
// the full matcher's work per rule (Detector::FullMatchTally) and prints, as '#' lines, the N
// rules that sent most packets there: packets, packets no other rule sent, evaluations on the
// packet / a stream chunk / a transaction, matches, and what the pre-filter had of the rule; then
// the N rules whose option walk began on most packets (walked_fraction's reading): packets, packets
// on which no other rule's did, and packets on which it reached the full matcher.
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
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "detect/detector.h"
#include "detect/support.h"
#include "engine/decoded_capture.h"
#include "engine/parallel.h"
#include "engine/worker.h"
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

// Sets the process's resident-set high-water mark to its current size (Linux 4.0 and later).
void ResetPeakRss() {
  if (FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
}

// VmHWM of /proc/self/status in MB; getrusage's figure, which no reset reaches, where that fails.
double PeakRssMb() {
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    long kb = -1;
    while (std::fgets(line, sizeof line, f)) {
      if (std::sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
    }
    std::fclose(f);
    if (kb >= 0) return double(kb) / 1024.0;
  }
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

// What a rule gives the pre-filter to work with, in a few words: where its candidates come from
// (a fast pattern in the payload or a transaction buffer, or none) and what the literal filter
// and the full matcher then check.
std::string PrefilterShape(const detect::CompiledRule& cr) {
  std::string shape;
  if (cr.tx_stage >= 0) {
    shape = fmt::format("tx stage {}, ", cr.tx_stage);
    shape += cr.fast_pattern ? "fast pattern" : "no literal (every transaction)";
  } else if (!cr.fast_pattern) {
    shape = "no literal (address / port / always)";
  } else {
    int others = 0;
    for (const rules::ContentOption* c : cr.contents) {
      others += c != cr.fast_pattern && !c->negated && c->buffer.empty();
    }
    shape = others ? fmt::format("fast pattern + {} literal(s)", others) : "fast pattern alone";
  }
  int pcre = 0, bytes = 0, isset = 0;
  for (const rules::Option& o : cr.rule.options) {
    pcre += std::holds_alternative<rules::PcreOption>(o);
    bytes += std::holds_alternative<rules::ByteTestOption>(o) ||
             std::holds_alternative<rules::ByteJumpOption>(o) ||
             std::holds_alternative<rules::ByteExtractOption>(o) ||
             std::holds_alternative<rules::ByteMathOption>(o);
    if (const auto* f = std::get_if<rules::FlowbitsOption>(&o)) {
      isset += f->command == rules::FlowbitsOption::Command::kIsset;
    }
  }
  if (pcre) shape += fmt::format(", pcre {}", pcre);
  if (bytes) shape += fmt::format(", byte_* {}", bytes);
  if (isset) shape += ", flowbits isset";
  if (cr.stream == rules::FlowOption::Stream::kOnlyStream) shape += ", only_stream";
  return shape;
}

// One pass over `packets` through a worker whose detector tallies the full matcher's work per
// rule; prints the `top` rules by packets that reached the full matcher with them.
int FullMatchReport(const detect::DetectionPlan& plan, std::span<const packet::Packet> packets,
                    size_t top) {
  auto worker = engine::Worker::Create(plan, {});
  auto detector = detect::Detector::Create(plan);
  if (!worker || !detector) {
    fmt::print(stderr, "engine_bench: cannot create the report's worker\n");
    return 1;
  }
  detect::Detector::FullMatchTally tally;
  (*detector)->SetFullMatchTally(&tally);
  detect::Detector& d = **detector;
  (*worker)->SetInspect(
      [&d](const packet::Packet& p, const detect::FlowContext& flow,
           std::span<const detect::StreamChunk> chunks,
           std::vector<detect::Alert>& alerts) { return d.Inspect(p, flow, chunks, alerts); });
  engine::Worker::Sink sink = [](const engine::PacketResult&) {};
  for (size_t at = 0; at < packets.size(); at += packet::Batch::kMaxPackets) {
    (*worker)->Process(
        packets.subspan(at, std::min(packet::Batch::kMaxPackets, packets.size() - at)), sink);
  }
  const detect::DetectStats& st = d.stats();
  fmt::print(
      "# full-match report: {} packets inspected, {} reached the full matcher ({:.2f}%), "
      "{} full-matcher evaluations\n",
      st.packets, st.packets_full_match,
      st.packets ? 100.0 * double(st.packets_full_match) / double(st.packets) : 0, st.candidates);
  std::vector<uint32_t> order(plan.rule_count());
  for (uint32_t r = 0; r < order.size(); ++r) order[r] = r;
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return tally.packets[a] > tally.packets[b]; });
  fmt::print("# {:>9} {:>8} {:>8} {:>8} {:>8} {:>7}  {:<8} {}\n", "sid", "packets", "sole",
             "pkt_eval", "chunk_ev", "tx_eval", "matches", "shape");
  for (size_t i = 0; i < std::min(top, order.size()) && tally.packets[order[i]] > 0; ++i) {
    const uint32_t r = order[i];
    const detect::CompiledRule& cr = plan.rule(r);
    fmt::print("# {:>9} {:>8} {:>8} {:>8} {:>8} {:>7}  {:<8} {}\n", cr.rule.sid, tally.packets[r],
               tally.sole[r], tally.evaluations[0][r], tally.evaluations[1][r],
               tally.evaluations[2][r], tally.matches[r], PrefilterShape(cr));
  }
  // The walked reading: packets on which each rule's option walk began at all (the steps before
  // its first pcre included), and those on which no other rule's did.
  fmt::print("# walk report: {} packets on which some rule's walk began ({:.2f}%)\n",
             st.packets_walked,
             st.packets ? 100.0 * double(st.packets_walked) / double(st.packets) : 0);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return tally.walk_packets[a] > tally.walk_packets[b]; });
  fmt::print("# {:>9} {:>8} {:>8} {:>8}  {}\n", "sid", "walked", "sole", "full", "shape");
  for (size_t i = 0; i < std::min(top, order.size()) && tally.walk_packets[order[i]] > 0; ++i) {
    const uint32_t r = order[i];
    const detect::CompiledRule& cr = plan.rule(r);
    fmt::print("# {:>9} {:>8} {:>8} {:>8}  {}\n", cr.rule.sid, tally.walk_packets[r],
               tally.walk_sole[r], tally.packets[r], PrefilterShape(cr));
  }
  return 0;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int Main(int argc, char** argv) {
  std::vector<std::string> capture_paths;
  std::string rules_dir, name;
  std::vector<uint32_t> thread_counts;
  int repetitions = 5;
  detect::PlanOptions plan_options;
  CLI::App app{"vigil end-to-end engine benchmark"};
  app.add_option("--capture", capture_paths, "pcap read into memory before timing (repeatable)")
      ->required();
  app.add_option("--rules", rules_dir, "folder of .rules files (all are loaded)")->required();
  app.add_option("--threads", thread_counts, "worker threads, 0 for every core (repeatable)");
  app.add_option("--repetitions", repetitions, "runs; medians are reported")->capture_default_str();
  app.add_option("--name", name, "label for the results");
  app.add_option("--any-port-copy-budget", plan_options.any_port_copy_budget,
                 "any-port rules that may be copied into port sets (fewer scans, longer compile)")
      ->capture_default_str();
  app.add_option("--hot-ports", plan_options.hot_ports,
                 "ports whose sets carry the any-port rules whatever the budget");
  size_t report_top = 0;
  app.add_option("--full-match-report", report_top,
                 "after the runs, one more pass that lists the N rules sending most packets to the "
                 "full matcher (per rule: packets, packets it alone sent, evaluations, matches)");
  CLI11_PARSE(app, argc, argv);
  if (thread_counts.empty()) thread_counts.push_back(1);
  for (uint32_t& t : thread_counts) {
    if (t == 0) t = std::max(1u, std::thread::hardware_concurrency());
  }
  thread_counts.erase(std::unique(thread_counts.begin(), thread_counts.end()), thread_counts.end());

  rules::Variables vars;
  rules::LoadReport report;
  report.support_check = detect::UnsupportedReason;  // every rule the detector evaluates
  auto files = rules::RuleFilesIn(rules_dir);
  if (!files) {
    fmt::print(stderr, "engine_bench: {}\n", files.error().ToString());
    return 1;
  }
  rules::LoadRuleFiles(*files, vars, report);
  size_t loaded = report.loaded();
  const auto compile_start = std::chrono::steady_clock::now();
  auto plan = detect::DetectionPlan::Build(std::move(report.rules),
                                           rules::ClassificationTable::Default(), plan_options);
  if (!plan) {
    fmt::print(stderr, "engine_bench: {}\n", plan.error().ToString());
    return 1;
  }
  for (const base::Error& w : (*plan)->warnings()) {
    fmt::print(stderr, "engine_bench: warning: {}\n", w.ToString());
  }
  const double compile_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - compile_start).count();
  double tsc_hz = TscHz();

  int status = 0;
  for (const std::string& capture_path : capture_paths) {
    auto capture = engine::DecodedCapture::Load(capture_path);
    if (!capture) {
      fmt::print(stderr, "engine_bench: {}\n", capture.error().ToString());
      status = 1;
      continue;
    }
    for (uint32_t threads : thread_counts) {
      ResetPeakRss();
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
          inspected ? double(last.counters.Get("detect.packets_full_match")) / double(inspected)
                    : 0;
      double walked =
          inspected ? double(last.counters.Get("detect.packets_walked")) / double(inspected) : 0;
      fmt::print(
          "{{\"name\":\"{}\",\"capture\":\"{}\",\"rules\":\"{}\",\"rules_loaded\":{},"
          "\"rules_enabled\":{},\"threads\":{},\"packets\":{},\"bytes\":{},\"repetitions\":{},"
          "\"seconds\":{:.6f},\"gbit_per_s\":{:.4f},\"mpps\":{:.4f},\"cycles_per_packet\":{:.1f},"
          "\"full_match_fraction\":{:.5f},\"walked_fraction\":{:.5f},\"scans_per_packet\":{:.3f},"
          "\"alerts\":{},\"flows\":{},"
          "\"peak_rss_mb\":{:.1f},\"compile_s\":{:.3f}}}\n",
          name, std::filesystem::path(capture_path).filename().string(),
          std::filesystem::path(rules_dir).filename().string(), loaded, (*plan)->rule_count(),
          threads, last.packets, last.bytes, repetitions, s, double(last.bytes) * 8 / s / 1e9,
          double(last.packets) / s / 1e6, Median(cycles), full_match, walked,
          inspected ? double(last.counters.Get("detect.scans")) / double(inspected) : 0,
          last.alerts, last.counters.Get("flow.created"), PeakRssMb(), compile_s);
      std::fflush(stdout);
    }
    if (report_top > 0 && FullMatchReport(**plan, capture->packets, report_top) != 0) status = 1;
  }
  return status;
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) { return vigil::bench::Main(argc, argv); }

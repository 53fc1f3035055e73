// The tenant stage's cost on the IPS benchmark (issue 20: "accounting and scheduling overhead
// <= 2% of throughput, accounting on vs. off, side by side in one run"): a capture through one
// worker as the live worker runs it, in three arms run in turn.
//
//   build-bench/bench/tenant_bench --rules ../shared/rules/snort3-community
//       --capture ../shared/pcaps/mixed-traffic.pcap [--pairs 15] [--tenant 192.168.0.0/16 ...]
//   (one command line)
//
// One pass is the whole capture in batches of 32 frames through a fresh engine::Worker (flows,
// streams and detection state empty, so every pass does the same work):
//   none:   decode every frame, Worker::Process: no tenants at all;
//   demux:  each frame's tenant from its headers (TenantTable::ClassifyFrame, as the stage does
//           before decoding), then as none, and each tenant's packets counted: what a host with
//           tenants does whether or not it accounts for them (it picks each packet's programs
//           and rules by tenant);
//   stage:  TenantStage as live_run.cc uses it — BeginBatch, Classify from the frames' headers,
//           decode, Admit, Process with OnResult per result, EndBatch with each packet's charge
//           and the scheduler's hand-out — over a table of --tenant prefixes (each its own
//           tenant, then the default tenant). Without admission: a pass offers the CPU more than
//           it can serve (the capture as fast as it goes), so with it the stage would refuse part
//           of the capture and the arms would not do the same work; what that leaves out is one
//           comparison per packet (TokenScheduler::Admit; scheduler_test's AdmitChargeCost).
// Two comparisons: stage vs demux is accounting and scheduling on vs off (the figure:
// timing, charging, the token hand-outs); stage vs none is the whole tenant stage, demux included.
// The sink is the same std::function in every arm; each pass's cost is the thread's CPU time, so
// a preemption by another process counts against none. Each round runs the three arms in an
// order rotated from the last round's. Prints each arm's median, and per comparison the median
// and quartiles of the rounds' paired losses ((x - base) / base), nanoseconds per packet, the
// same from each arm's fastest pass, and each tenant's share of the cycles charged; one JSON
// line per comparison at the end. --noise-floor runs every arm as none: the spread of the pairing
// itself (about ±0.5% on the 2-vCPU VM). --profile ARM runs one arm alone, --pairs passes, for a
// profiler (perf record on two arms, symbol by symbol: where the stage's cost lands).
#include <fmt/format.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <filesystem>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "decode/decoder.h"
#include "detect/support.h"
#include "engine/decoded_capture.h"
#include "engine/tenant_stage.h"
#include "engine/worker.h"
#include "rules/classification.h"
#include "rules/rule_file.h"
#include "rules/variables.h"
#include "tenant/accounting.h"
#include "tenant/cycle_clock.h"
#include "tenant/tenant_table.h"

namespace vigil::bench {
namespace {

constexpr size_t kBatch = 32;

uint64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[size_t(q * double(v.size() - 1) + 0.5)];
}

struct Frame {
  const uint8_t* data;
  uint32_t len;
};

enum class Arm { kNone, kDemux, kStage };
constexpr const char* kArmNames[] = {"none", "demux", "stage"};

// One pass of the capture through a fresh worker; returns the thread CPU seconds, and adds each
// tenant's charged cycles to `charged` (stage) and the inspected packets to `inspected`.
base::Result<double> Pass(const detect::DetectionPlan& plan, const std::vector<Frame>& frames,
                          Arm arm, tenant::TenantAccounting& acct, std::vector<uint64_t>& charged,
                          uint64_t& inspected) {
  auto worker = engine::Worker::Create(plan, {});
  if (!worker) return worker.error();
  std::optional<engine::TenantStage> stage;
  if (arm == Arm::kStage) stage.emplace(acct);
  const tenant::TenantTable& table = acct.table();
  std::array<uint32_t, kBatch> tenant_of{};
  std::vector<uint64_t> demuxed(table.size());
  decode::Decoder decoder;
  std::array<packet::Packet, kBatch> packets;
  static constexpr std::array<bool, kBatch> kNone{};
  uint64_t results = 0;
  const engine::Worker::Sink off_sink = [&](const engine::PacketResult&) { ++results; };
  const engine::Worker::Sink on_sink = [&](const engine::PacketResult& r) {
    stage->OnResult(r);
    ++results;
  };
  const uint64_t start = ThreadCpuNs();
  for (size_t at = 0; at < frames.size(); at += kBatch) {
    const size_t n = std::min(kBatch, frames.size() - at);
    const Frame* batch = &frames[at];
    if (stage) {
      stage->BeginBatch();
      stage->Classify(n, 0, /*admission=*/false, [&](size_t i) {
        return std::span<const uint8_t>(batch[i].data, batch[i].len);
      });
    } else if (arm == Arm::kDemux) {
      for (size_t i = 0; i < n; ++i)
        tenant_of[i] = table.ClassifyFrame({batch[i].data, batch[i].len}, 0);
    }
    for (size_t i = 0; i < n; ++i) {
      packet::Packet& p = packets[i];
      p = packet::Packet{};
      p.data = batch[i].data;
      p.caplen = p.wirelen = batch[i].len;
      p.number = at + i + 1;
      if (!stage || stage->admitted(i)) decoder.Decode(p);
    }
    if (!stage) {
      (*worker)->Process({packets.data(), n}, off_sink);
      inspected += n;
      if (arm == Arm::kDemux) {
        for (size_t i = 0; i < n; ++i) ++demuxed[tenant_of[i]];
      }
      continue;
    }
    const auto inspect = stage->Admit({packets.data(), n}, 0, /*admission=*/false);
    (*worker)->Process(inspect, on_sink);
    inspected += inspect.size();
    stage->EndBatch(kNone, kNone);
  }
  const double seconds = double(ThreadCpuNs() - start) / 1e9;
  if (arm == Arm::kDemux &&
      std::accumulate(demuxed.begin(), demuxed.end(), uint64_t{0}) != inspected) {
    return base::MakeError("demux counted other packets than were inspected");
  }
  if (stage) {
    acct.ForEachStat([&, t = size_t(0)](std::string_view name, uint64_t v) mutable {
      if (name.ends_with(".cycles")) charged[t++] = v;
    });
  }
  return seconds;
}

int Main(int argc, char** argv) {
  std::string capture_path, rules_dir;
  std::vector<std::string> prefixes = {"192.168.0.0/16", "10.0.0.0/8", "172.16.0.0/12"};
  int pairs = 15;
  CLI::App app{"vigil tenant stage overhead on the IPS benchmark"};
  app.add_option("--capture", capture_path, "pcap read into memory before timing")->required();
  app.add_option("--rules", rules_dir, "folder of .rules files (all are loaded)")->required();
  app.add_option("--pairs", pairs, "rounds of the three arms; medians are reported")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--tenant", prefixes, "a tenant's destination prefix (repeatable)");
  bool noise_floor = false;
  app.add_flag("--noise-floor", noise_floor,
               "both arms without the stage: what the pairing shows when nothing differs");
  std::string profile_arm;
  app.add_option("--profile", profile_arm,
                 "run only this arm (none, demux or stage), --pairs passes: for a profiler")
      ->check(CLI::IsMember({"none", "demux", "stage"}));
  CLI11_PARSE(app, argc, argv);

  rules::Variables vars;
  rules::LoadReport report;
  report.support_check = detect::UnsupportedReason;
  auto files = rules::RuleFilesIn(rules_dir);
  if (!files) {
    fmt::print(stderr, "tenant_bench: {}\n", files.error().ToString());
    return 1;
  }
  rules::LoadRuleFiles(*files, vars, report);
  auto plan = detect::DetectionPlan::Build(std::move(report.rules),
                                           rules::ClassificationTable::Default(), {});
  if (!plan) {
    fmt::print(stderr, "tenant_bench: {}\n", plan.error().ToString());
    return 1;
  }
  auto capture = engine::DecodedCapture::Load(capture_path);
  if (!capture) {
    fmt::print(stderr, "tenant_bench: {}\n", capture.error().ToString());
    return 1;
  }
  std::vector<Frame> frames;
  for (const packet::Packet& p : capture->packets) {
    if (p.linktype == packet::LinkType::kEthernet) frames.push_back({p.data, p.caplen});
  }
  std::vector<tenant::TenantSpec> specs;
  for (size_t i = 0; i < prefixes.size(); ++i) {
    specs.push_back({.name = fmt::format("t{}", i), .prefixes = {prefixes[i]}});
  }
  auto table = tenant::TenantTable::Build(specs, {"bench0"});
  auto clock = tenant::CycleClock::Calibrate();
  if (!table || !clock) {
    fmt::print(stderr, "tenant_bench: {}\n", (!table ? table.error() : clock.error()).ToString());
    return 1;
  }

  std::vector<uint64_t> charged(table->size());
  if (!profile_arm.empty()) {
    const auto arm = Arm(std::find(std::begin(kArmNames), std::end(kArmNames), profile_arm) -
                         std::begin(kArmNames));
    std::vector<double> passes;
    for (int k = 0; k < pairs; ++k) {
      auto acct = tenant::TenantAccounting::Create(*table, *clock);
      uint64_t n = 0;
      auto s = acct ? Pass(**plan, frames, arm, *acct, charged, n) : acct.error();
      if (!s) {
        fmt::print(stderr, "tenant_bench: {}\n", s.error().ToString());
        return 1;
      }
      passes.push_back(*s);
    }
    fmt::print("tenant_bench: {} alone, {} passes: {:.4f} s median\n", profile_arm, pairs,
               Quantile(passes, 0.5));
    return 0;
  }
  std::array<std::vector<double>, 3> seconds;  // per arm, per round
  std::array<uint64_t, 3> inspected{};
  for (int k = -1; k < pairs; ++k) {  // k = -1: a warm-up round, not counted
    std::array<double, 3> round{};
    for (int j = 0; j < 3; ++j) {
      const int slot = (k + 3 + j) % 3;  // the arm's column (rotated each round)
      const Arm arm = noise_floor ? Arm::kNone : Arm(slot);
      auto acct = tenant::TenantAccounting::Create(*table, *clock);
      if (!acct) {
        fmt::print(stderr, "tenant_bench: {}\n", acct.error().ToString());
        return 1;
      }
      uint64_t n = 0;
      auto s = Pass(**plan, frames, arm, *acct, charged, n);
      if (!s) {
        fmt::print(stderr, "tenant_bench: {}\n", s.error().ToString());
        return 1;
      }
      round[slot] = *s;
      inspected[slot] = n;
    }
    if (k < 0) continue;
    for (int a = 0; a < 3; ++a) seconds[a].push_back(round[a]);
  }
  const double packets = double(frames.size());
  fmt::print("tenant_bench: {} frames, {} rules, {} tenants, {} rounds{}\n", frames.size(),
             (*plan)->rule_count(), table->size(), pairs,
             noise_floor ? " (noise floor: every arm without tenants)" : "");
  for (int a = 0; a < 3; ++a) {
    const double m = Quantile(seconds[a], 0.5);
    fmt::print("  {:5}: {:.4f} s median ({:.0f} ns/packet), {} inspected\n", kArmNames[a], m,
               m / packets * 1e9, inspected[a]);
  }
  // One comparison: arm x against arm base, paired by round.
  auto compare = [&](const char* name, const char* what, int x, int base) {
    std::vector<double> loss;
    for (size_t r = 0; r < seconds[x].size(); ++r) {
      loss.push_back((seconds[x][r] - seconds[base][r]) / seconds[base][r] * 100);
    }
    const double xs = Quantile(seconds[x], 0.5), bs = Quantile(seconds[base], 0.5);
    // Interference only ever adds time: the fastest pass of each arm is the least disturbed.
    const double x_min = Quantile(seconds[x], 0), b_min = Quantile(seconds[base], 0);
    fmt::print(
        "  {} ({} vs {}): loss median {:.2f}% (quartiles {:.2f}% .. {:.2f}%), {:.1f} "
        "ns/packet; fastest passes {:.2f}%\n",
        what, kArmNames[x], kArmNames[base], Quantile(loss, 0.5), Quantile(loss, 0.25),
        Quantile(loss, 0.75), (xs - bs) / packets * 1e9, (x_min - b_min) / b_min * 100);
    return fmt::format(
        "{{\"bench\":\"tenant_stage\",\"comparison\":\"{}\",\"noise_floor\":{},"
        "\"capture\":\"{}\",\"rules\":\"{}\",\"pairs\":{},\"off_s\":{:.6f},\"on_s\":{:.6f},"
        "\"loss_pct\":{:.3f},\"loss_q1\":{:.3f},\"loss_q3\":{:.3f},\"ns_per_packet\":{:.2f},"
        "\"fastest_loss_pct\":{:.3f}}}\n",
        name, noise_floor, std::filesystem::path(capture_path).filename().string(),
        std::filesystem::path(rules_dir).filename().string(), pairs, bs, xs, Quantile(loss, 0.5),
        Quantile(loss, 0.25), Quantile(loss, 0.75), (xs - bs) / packets * 1e9,
        (x_min - b_min) / b_min * 100);
  };
  const std::string accounting =
      compare("accounting", "accounting and scheduling", int(Arm::kStage), int(Arm::kDemux));
  const std::string whole =
      compare("stage", "tenant stage, demux included", int(Arm::kStage), int(Arm::kNone));
  uint64_t total = 0;
  for (uint64_t c : charged) total += c;
  for (uint32_t t = 0; t < table->size(); ++t) {
    fmt::print("  {}: {:.1f}% of the cycles charged (last pass)\n", table->spec(t).name,
               total ? 100.0 * double(charged[t]) / double(total) : 0);
  }
  fmt::print("{}{}", accounting, whole);
  return 0;
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) { return vigil::bench::Main(argc, argv); }

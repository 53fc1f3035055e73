// fairness: the experiment of issue 20 (after Chaignon et al., SecSoN'18), in process, no network.
// Three tenants share ONE worker core: two victims with ordinary traffic (trafgen HTTP and DNS
// flows to their own server prefixes) and an adversary whose UDP packets are cheap to send but
// make every one of dozens of rules (--bait-rules) a candidate for the full matcher (each rule's
// fast pattern is in the payload and its pcre then fails), so that each costs tens of times a
// victim's packet. Packets arrive in a bounded drop-tail receive queue (a NIC ring) from a
// producer thread that paces each tenant's offered load by wall clock; the worker thread, pinned
// to its own core, takes batches of up to 32 and runs them through a real engine::Worker and
// DetectionPlan. Three policies:
//   fifo    no fairness: every packet that got into the queue is inspected, in order;
//   tokens  vigil's tenant stage (engine::TenantStage over tenant::TenantAccounting: demux, token
//           admission, per-packet cycles charged), the object live_run.cc and offline_run.cc use;
//   cfs     a preemptive baseline: one thread per tenant, each with its own queue and its own
//           engine::Worker, all pinned to the worker's core and scheduled by Linux (CFS, equal
//           nice values, so equal weights).
// Schedule of each run: all three backlogged (victims offered more than their fair share, the
// adversary a flood of several CPUs' worth); from 1/3 to 2/3 of the run the second victim sends
// nothing (its share must go to the others); then all three again.
//
// The worker thread(s) and the producer run at nice -10 (--worker-nice), and the process's
// autogroup too: the token scheduler hands out wall-clock cycles of a worker that owns its core,
// and on a shared machine another session's busy thread would otherwise take half of it (see
// AutogroupNice); the producer stands for a NIC, which no other process slows down. The tokens
// worker tells the stage how many frames wait in the queue behind each batch (the waiting mark,
// tenant/scheduler.h), and counts the time it polls an empty queue (idle_s in the CSV).
//
// Measured per interval (100 ms) per tenant: throughput (packets inspected per second) and CPU
// share, from an independent measure. Each tenant's work is its packets served × its per-packet
// cost measured ALONE beforehand (thread CPU time of a fresh worker serving only that tenant's
// frames, at the fraction of them that got through in the interval: see CostCurve); the worker
// thread(s)' busy CPU time in the interval (CPU time less the harness's own timing of empty
// polls) is split in proportion to that work (Sample::Share). The costs alone are the evidence
// for the proportions; for the amount, the busy time: on this machine costs measured alone read
// a single worker's blend of tenants a few % low (one tenant's packets evict another's cache
// lines), so their sum over the busy time, `work alone / busy` in the table, is reported too.
// The tenant stage's own cycle counts are written beside it (acct_share) for the tokens policy.
// The overhead of the tenant stage is measured separately: the victims' traffic through one
// worker, flat out, with the stage on and off in alternate 100 ms slices of one run (the same
// worker, the same traffic), packets inspected per second of thread CPU time side by side, the
// median of the pairs' differences.
//
// Rules: a few ordinary content rules for the victims' HTTP and DNS, the adversary's bait rules
// (--bait-rules, each with the bait literal as its fast pattern and a pcre that fails), and any
// ruleset given with --rules (make fairness passes the Snort 3 community rules when present).
//
// Output (in --out): fairness.csv (every interval of every run), fairness.md (the table),
// fairness_cpu_share.png and fairness_throughput.png (one panel per policy, from the median run,
// drawn by plot.gp with gnuplot), and as the last line on stdout
//   fairness: victim share N% of fair (min), jain J, cpu used U%, overhead O%
// — the worst backlogged victim's share as a % of its weighted fair share under tokens, Jain's
// index of the three backlogged tenants' share/fair under tokens, the fraction of the worker's
// CPU spent inspecting tenants' packets while one victim is idle (neither polling an empty queue
// nor refusing), and the throughput lost to the tenant stage (medians over --runs).
#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "craft/frame.h"
#include "decode/decoder.h"
#include "detect/support.h"
#include "engine/tenant_stage.h"
#include "engine/worker.h"
#include "fairness/fairness.h"
#include "rules/classification.h"
#include "rules/rule_file.h"
#include "rules/variables.h"
#include "tenant/accounting.h"
#include "tenant/cycle_clock.h"
#include "tenant/tenant_table.h"
#include "trafgen/trafgen.h"

namespace vigil::fairness {
namespace {

constexpr int kTenants = 3;  // victim-a, victim-b, adversary (the table adds an idle default)
constexpr int kIdleVictim = 1;
constexpr int kAdversary = 2;
constexpr size_t kBatch = 32;
constexpr const char* kTenantNames[kTenants] = {"victim-a", "victim-b", "adversary"};
constexpr const char* kServerPrefixes[kTenants] = {"172.16.1.0/24", "172.16.2.0/24",
                                                   "172.16.3.0/24"};
enum class Policy { kFifo, kTokens, kCfs };
constexpr const char* kPolicyNames[] = {"fifo", "tokens", "cfs"};

struct Options {
  int runs = 3;
  double run_seconds = 6.0;
  double interval_ms = 100;
  double settle_ms = 300;       // each phase's first intervals are left out of the summaries
  double victim_load = 0.6;     // each victim offers this fraction of a CPU (its fair share: 1/3)
  double adversary_load = 3.0;  // the adversary offers this many CPUs' worth
  uint32_t bait_rules = 64;     // rules each adversary packet makes candidates
  uint32_t bait_bytes = 512;    // adversary payload size
  std::string victim_mix = "http=60,dns=40";  // trafgen's flow kinds for the victims
  std::string rules_dir;                      // a ruleset the traffic is inspected against, too
  uint32_t queue_size = 4096;                 // receive queue, packets (per tenant under cfs)
  std::vector<uint32_t> weights = {1, 1, 1};
  int worker_cpu = -1;  // -1: the last CPU
  int producer_cpu = 0;
  int worker_nice = -10;
  double overhead_seconds = 4.0;
  std::string out = "fairness-out";
  std::string plot_script = "tools/fairness/plot.gp";
};

// A frame in a tenant's pool, as the producer queues it. `tenant` is the ground truth the
// producer knows; the worker classifies the frame itself (TenantTable) and the two are compared.
struct Entry {
  const uint8_t* data = nullptr;
  uint32_t len = 0;
  uint32_t tenant = 0;
};

// A single-producer single-consumer ring that drops at the tail when full, like a NIC ring.
class Ring {
 public:
  explicit Ring(uint32_t size) : slots_(std::bit_ceil(size)), mask_(slots_.size() - 1) {}
  bool Push(const Entry& e) {
    uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) >= slots_.size()) return false;
    slots_[tail & mask_] = e;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }
  size_t Pop(Entry* out, size_t max) {
    uint64_t head = head_.load(std::memory_order_relaxed);
    size_t n = std::min<uint64_t>(max, tail_.load(std::memory_order_acquire) - head);
    for (size_t i = 0; i < n; ++i) out[i] = slots_[(head + i) & mask_];
    head_.store(head + n, std::memory_order_release);
    return n;
  }
  // Frames queued now (the consumer's view).
  [[nodiscard]] size_t size() const {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_relaxed);
  }

 private:
  std::vector<Entry> slots_;
  size_t mask_;
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
};

// What the worker(s) and the producer publish for the sampler, per tenant.
struct alignas(64) TenantCounters {
  std::atomic<uint64_t> offered{0};  // the producer's: packets it tried to queue
  std::atomic<uint64_t> dropped{0};  // the producer's: the queue was full
  std::atomic<uint64_t> served{0};   // inspected (admitted under tokens)
  std::atomic<uint64_t> refused{0};  // tokens: refused on arrival
  std::atomic<uint64_t> charged{0};  // tokens: cycles the tenant stage charged
};
using Counters = std::array<TenantCounters, kTenants>;

void Pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
    fmt::print(stderr, "fairness: cannot pin to CPU {}\n", cpu);
  }
}

uint64_t ThreadCpuNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

uint64_t OwnCpuNs() { return ThreadCpuNs(CLOCK_THREAD_CPUTIME_ID); }

// One worker's pipeline for batches of queued frames: decoding, the tenant stage when `table` is
// set — engine::TenantStage itself, as live_run.cc and offline_run.cc use it (demux and
// admission per packet on arrival, each packet's cost charged when the batch is done, Refill
// between batches) — and inspection by a real engine::Worker.
class Lane {
 public:
  static base::Result<std::unique_ptr<Lane>> Create(const detect::DetectionPlan& plan,
                                                    const tenant::TenantTable* table,
                                                    const tenant::CycleClock& clock,
                                                    Counters* counters) {
    auto worker = engine::Worker::Create(plan, {});
    if (!worker) return worker.error();
    auto lane = std::unique_ptr<Lane>(new Lane(std::move(*worker), counters));
    if (table != nullptr) {
      auto acct = tenant::TenantAccounting::Create(*table, clock);
      if (!acct) return acct.error();
      lane->acct_.emplace(std::move(*acct));
      lane->stage_.emplace(*lane->acct_);
    }
    return lane;
  }

  // Takes a batch from `ring` and serves it; the receive call is the batch's arrival work, so
  // the tenant stage's batch starts before it. Returns the frames taken (0: the ring was empty).
  size_t Receive(Ring& ring) {
    if (stage_) stage_->BeginBatch();
    std::array<Entry, kBatch> batch;
    const size_t n = ring.Pop(batch.data(), kBatch);
    if (n > 0) Serve(batch.data(), n, true, /*begun=*/true, ring.size());
    return n;
  }

  // Serves `n` <= kBatch frames; `use_tenants` false skips the tenant stage (overhead runs,
  // warm-up); `begun`: BeginBatch was called before the frames were received; `waiting`: the
  // frames left in the queue behind them (TenantStage::EndBatch). Returns how many were
  // inspected (not refused).
  size_t Serve(const Entry* frames, size_t n, bool use_tenants = true, bool begun = false,
               size_t waiting = 0) {
    engine::TenantStage* stage = use_tenants && stage_ ? &*stage_ : nullptr;
    if (stage != nullptr && !begun) stage->BeginBatch();
    // As the live worker: admission from the headers, then only the admitted are decoded.
    if (stage != nullptr) {
      stage->Classify(n, /*ingress=*/0, /*admission=*/true, [&](size_t i) {
        return std::span<const uint8_t>(frames[i].data, frames[i].len);
      });
    }
    timespec now{};
    clock_gettime(CLOCK_REALTIME_COARSE, &now);
    for (size_t i = 0; i < n; ++i) {
      packet::Packet& p = packets_[i];
      p = packet::Packet{};
      p.data = frames[i].data;
      p.caplen = p.wirelen = frames[i].len;
      p.ts = {now.tv_sec, uint32_t(now.tv_nsec)};
      p.number = ++number_;
      if (stage == nullptr || stage->admitted(i)) decoder_.Decode(p);
    }
    if (stage == nullptr) {
      worker_->Process({packets_.data(), n}, [](const engine::PacketResult&) {});
      if (counters_ != nullptr) {
        std::array<uint64_t, kTenants> served{};
        for (size_t i = 0; i < n; ++i) ++served[frames[i].tenant];
        Publish(served, {}, {});
      }
      return n;
    }
    const std::span<const packet::Packet> inspect =
        stage->Admit({packets_.data(), n}, /*ingress=*/0, /*admission=*/true);
    worker_->Process(inspect, [&](const engine::PacketResult& r) { stage->OnResult(r); });
    static constexpr std::array<bool, kBatch> kNone{};
    stage->EndBatch(kNone, kNone, waiting);
    std::array<uint64_t, kTenants> served{}, refused{}, charged{};
    for (size_t i = 0; i < n; ++i) {
      const uint32_t t = frames[i].tenant;
      mismatches_ += stage->tenant(i) != t ? 1 : 0;
      (stage->admitted(i) ? served : refused)[t] += 1;
      charged[t] += stage->charged(i);
    }
    if (counters_ != nullptr) Publish(served, refused, charged);
    return inspect.size();
  }

  // An empty queue: the worker polls it, and hands out tokens as time passes all the same.
  void Idle() {
    if (acct_) acct_->Refill(tenant::CycleClock::Now());
  }

  // Puts `tenant` so deep in debt (10,000 × the most one packet is charged: seconds of CPU) that
  // every frame of its is refused until long after a measurement of refusals ends.
  void Indebt(uint32_t tenant) {
    for (int i = 0; i < 10'000; ++i) acct_->Done(tenant, 0, ~0ull >> 2, tenant::Outcome::kPassed);
  }

  [[nodiscard]] uint64_t mismatches() const { return mismatches_; }

 private:
  Lane(std::unique_ptr<engine::Worker> worker, Counters* counters)
      : worker_(std::move(worker)), counters_(counters) {}

  void Publish(const std::array<uint64_t, kTenants>& served,
               const std::array<uint64_t, kTenants>& refused,
               const std::array<uint64_t, kTenants>& charged) {
    for (int t = 0; t < kTenants; ++t) {
      if (served[t]) (*counters_)[t].served.fetch_add(served[t], std::memory_order_relaxed);
      if (refused[t]) (*counters_)[t].refused.fetch_add(refused[t], std::memory_order_relaxed);
      if (charged[t]) (*counters_)[t].charged.fetch_add(charged[t], std::memory_order_relaxed);
    }
  }

  std::unique_ptr<engine::Worker> worker_;
  std::optional<tenant::TenantAccounting> acct_;
  std::optional<engine::TenantStage> stage_;  // over acct_
  decode::Decoder decoder_;
  Counters* counters_;
  std::array<packet::Packet, kBatch> packets_;
  uint64_t number_ = 0;
  uint64_t mismatches_ = 0;
};

// The traffic, built once: each tenant's frames, which the producer sends round and round.
struct Traffic {
  std::vector<std::unique_ptr<trafgen::MemorySink>> sinks;
  std::vector<craft::Bytes> adversary_frames;
  std::array<std::vector<Entry>, kTenants> pool;
};

// The adversary's payload: the bait literal many times over, so that every bait rule's fast
// pattern hits and its pcre (which needs a 'Q' where a lowercase letter always stands) is tried
// at every occurrence before it fails.
constexpr std::string_view kBait = "XQBAIT";

std::string RuleText(uint32_t bait_rules) {
  std::string text;
  // Ordinary rules the victims' HTTP and DNS traffic is inspected against.
  const char* victim_contents[] = {"/etc/passwd", "cmd.exe",      "union select", "<script>",
                                   "/bin/sh",     "wget http",    "../..",        "xp_cmdshell",
                                   "eval(",       "base64_decode"};
  uint32_t sid = 1'000'000;
  for (const char* c : victim_contents) {
    text += fmt::format(
        "alert tcp any any -> any 80 (msg:\"web {}\"; content:\"{}\"; nocase; sid:{};)\n", c, c,
        ++sid);
    text += fmt::format("alert udp any any -> any 53 (msg:\"dns {}\"; content:\"{}\"; sid:{};)\n",
                        c, c, ++sid);
  }
  for (uint32_t i = 0; i < bait_rules; ++i) {
    text += fmt::format(
        "alert udp any any -> any 9999 (msg:\"bait {}\"; content:\"{}\"; "
        "pcre:\"/{}[a-z]{{{}}}Q[0-9]{{3}}/\"; sid:{};)\n",
        i, kBait, kBait, 1 + i % 8, 2'000'000 + i);
  }
  return text;
}

base::Result<std::unique_ptr<const detect::DetectionPlan>> BuildPlan(uint32_t bait_rules,
                                                                     const std::string& rules_dir,
                                                                     size_t* enabled) {
  rules::Variables vars;
  rules::LoadReport report;
  report.support_check = detect::UnsupportedReason;
  if (!rules_dir.empty()) {
    auto files = rules::RuleFilesIn(rules_dir);
    if (!files) return files.error();
    rules::LoadRuleFiles(*files, vars, report);
  }
  rules::LoadRuleText(RuleText(bait_rules), vars, "fairness.rules", report);
  for (const base::Error& e : report.failures) {
    fmt::print(stderr, "fairness: rule: {}\n", e.ToString());
  }
  *enabled = 0;
  for (const rules::Rule& r : report.rules) *enabled += r.enabled ? 1 : 0;
  return detect::DetectionPlan::Build(std::move(report.rules),
                                      rules::ClassificationTable::Default(), {});
}

base::Result<Traffic> BuildTraffic(uint32_t bait_bytes, const trafgen::ProtocolMix& mix) {
  Traffic traffic;
  for (int t = 0; t < 2; ++t) {
    trafgen::Options o;
    o.seed = 11 + t;
    o.flows = 4000;
    o.concurrency = 200;
    o.max_packets = 60'000;
    o.mix = mix;
    o.client_v4 = t == 0 ? "10.1.0.0/16" : "10.2.0.0/16";
    o.server_v4 = kServerPrefixes[t];
    auto sink = std::make_unique<trafgen::MemorySink>();
    auto summary = trafgen::Generate(o, *sink);
    if (!summary) return summary.error();
    traffic.sinks.push_back(std::move(sink));
  }
  std::string payload;
  for (char c = 'a'; payload.size() + kBait.size() + 8 <= bait_bytes;
       c = char('a' + (c - 'a' + 1) % 26)) {
    payload += kBait;
    payload += std::string(8, c);
  }
  for (uint32_t i = 0; i < 1024; ++i) {
    traffic.adversary_frames.push_back(craft::BuildFrame({
        .ip = {.src = craft::Addr(fmt::format("10.3.{}.{}", i / 250, 1 + i % 250)),
               .dst = craft::Addr(fmt::format("172.16.3.{}", 1 + i % 250))},
        .transport = craft::UdpHeader{.src_port = uint16_t(20000 + i), .dst_port = 9999},
        .payload = craft::ToBytes(payload),
    }));
  }
  for (int t = 0; t < 2; ++t) {
    const trafgen::MemorySink& s = *traffic.sinks[t];
    for (size_t i = 0; i < s.size(); ++i) {
      traffic.pool[t].push_back({s.frame(i).data(), uint32_t(s.frame(i).size()), uint32_t(t)});
    }
  }
  for (const craft::Bytes& f : traffic.adversary_frames) {
    traffic.pool[kAdversary].push_back({f.data(), uint32_t(f.size()), kAdversary});
  }
  return traffic;
}

// Each tenant's per-packet cost alone, as a curve over the fraction of its frames the worker
// sees. A victim's packets that are lost in the queue or refused leave holes in its TCP flows,
// and the packets that are inspected then cost more (flows picked up midstream, reassembly gaps,
// HTTP parsing that loses its place): the cost of a tenant's traffic depends on how much of it
// gets through, so it is measured alone at each of these fractions (frames kept uniformly at
// random, deterministically), and each interval uses the fraction that tenant had served.
constexpr std::array<double, 7> kKeptFractions = {1.0, 0.5, 0.25, 0.12, 0.06, 0.03, 0.015};

struct CostCurve {
  std::array<double, kKeptFractions.size()> ns{};
  // What refusing one of its frames costs the tokens worker (its tenant in debt, alone).
  double refusal_ns = 0;
  // The cost at `kept` (served / offered), interpolated linearly in log(kept), clamped to the
  // measured range.
  [[nodiscard]] double At(double kept) const {
    if (!(kept < kKeptFractions[0])) return ns[0];
    for (size_t k = 1; k < kKeptFractions.size(); ++k) {
      if (kept >= kKeptFractions[k]) {
        const double a = std::log(kKeptFractions[k - 1]), b = std::log(kKeptFractions[k]);
        const double w = (std::log(kept) - a) / (b - a);
        return ns[k - 1] + w * (ns[k] - ns[k - 1]);
      }
    }
    return ns.back();
  }
};

// Lowers the calling thread's nice value to `nice` (the worker threads of every policy alike):
// the other work on this shared machine then takes little of the worker's core, as it would not
// on a data-plane core of its own. Unprivileged, it stays as it is (and says so).
void SetNice(int nice) {
  if (setpriority(PRIO_PROCESS, 0, nice) != 0) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) {
      fmt::print(stderr, "fairness: warning: cannot set nice {} (not privileged)\n", nice);
    }
  }
}

// With autogroup scheduling (CONFIG_SCHED_AUTOGROUP, on by default) a thread's nice value only
// weighs against threads of its own session: the CPU is first split between sessions, so another
// session's busy thread still takes half the worker's core. While it lives, this raises the
// session's autogroup to the same nice value (/proc/self/autogroup, root only) and puts the old
// value back on destruction.
class AutogroupNice {
 public:
  explicit AutogroupNice(int nice) {
    std::FILE* f = std::fopen("/proc/self/autogroup", "r");
    if (f == nullptr) return;
    int old = 0;
    const bool read = std::fscanf(f, "/autogroup-%*d nice %d", &old) == 1;
    std::fclose(f);
    if (read && Write(nice)) old_ = old;
  }
  ~AutogroupNice() {
    if (old_) Write(*old_);
  }
  AutogroupNice(const AutogroupNice&) = delete;
  AutogroupNice& operator=(const AutogroupNice&) = delete;
  [[nodiscard]] bool raised() const { return old_.has_value(); }

 private:
  static bool Write(int nice) {
    std::FILE* f = std::fopen("/proc/self/autogroup", "w");
    if (f == nullptr) return false;
    const bool ok = std::fprintf(f, "%d", nice) > 0;
    return std::fclose(f) == 0 && ok;
  }
  std::optional<int> old_;
};

base::Result<std::array<CostCurve, kTenants>> MeasureAlone(const Traffic& traffic,
                                                           const detect::DetectionPlan& plan,
                                                           const tenant::TenantTable& table,
                                                           const tenant::CycleClock& clock,
                                                           double seconds) {
  // ns per frame of `pool` through a fresh lane, flat out for `slice` seconds of thread CPU time
  // after one pass over it (flows created, caches warm).
  auto measure = [&](const tenant::TenantTable* stage_table, int indebted,
                     const std::vector<Entry>& pool, double slice) -> base::Result<double> {
    auto lane = Lane::Create(plan, stage_table, clock, nullptr);
    if (!lane) return lane.error();
    if (indebted >= 0) (*lane)->Indebt(uint32_t(indebted));
    size_t next = 0;
    auto serve = [&] {
      size_t n = std::min(kBatch, pool.size() - next);
      (*lane)->Serve(&pool[next], n);
      next = (next + n) % pool.size();
      return n;
    };
    for (size_t done = 0; done < std::max<size_t>(pool.size(), 4096);) done += serve();
    const uint64_t start = OwnCpuNs();
    uint64_t packets = 0;
    while (OwnCpuNs() - start < uint64_t(slice * 1e9)) {
      for (int i = 0; i < 16; ++i) packets += serve();
    }
    return double(OwnCpuNs() - start) / double(packets);
  };
  // Each tenant's frames at each kept fraction (frames kept uniformly at random,
  // deterministically).
  std::array<std::array<std::vector<Entry>, kKeptFractions.size()>, kTenants> pools;
  for (int t = 0; t < kTenants; ++t) {
    for (size_t k = 0; k < kKeptFractions.size(); ++k) {
      uint64_t x = 0x9e3779b97f4a7c15ull * (t + 1);
      for (const Entry& e : traffic.pool[t]) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64: the same choice on every run
        if (double(x >> 11) * 0x1.0p-53 < kKeptFractions[k]) pools[t][k].push_back(e);
      }
    }
  }
  // Five rounds, each measuring every tenant at every fraction once, and the median per cost: a
  // slice another process's burst slowed does not count, and a slow drift of the machine's speed
  // (another session's load coming and going) weighs on every tenant alike rather than on the
  // one measured while it lasted.
  constexpr int kRounds = 5;
  std::array<std::array<std::vector<double>, kKeptFractions.size() + 1>, kTenants> ns;
  for (int round = 0; round < kRounds; ++round) {
    for (int t = 0; t < kTenants; ++t) {
      for (size_t k = 0; k < kKeptFractions.size(); ++k) {
        auto v = measure(nullptr, -1, pools[t][k], seconds / kRounds);
        if (!v) return v.error();
        ns[t][k].push_back(*v);
      }
      auto v = measure(&table, t, traffic.pool[t], seconds / kRounds);
      if (!v) return v.error();
      ns[t][kKeptFractions.size()].push_back(*v);
    }
  }
  std::array<CostCurve, kTenants> curves{};
  for (int t = 0; t < kTenants; ++t) {
    for (size_t k = 0; k < kKeptFractions.size(); ++k) curves[t].ns[k] = Median(ns[t][k]);
    curves[t].refusal_ns = Median(ns[t][kKeptFractions.size()]);
  }
  return curves;
}

// One interval's sample, per tenant.
struct Sample {
  int run = 0;
  Policy policy = Policy::kFifo;
  double t = 0;   // seconds since the run's start, at the interval's end
  int phase = 0;  // 0: all backlogged, 1: victim-b idle, 2: all again
  bool settled = false;
  double worker_cpu_s = 0;  // CPU time the worker thread(s) got in the interval
  double idle_s = 0;        // of it, polling an empty queue (under cfs: and sleeping)
  // Tenant i's share of the worker's CPU in the interval, by the independent measure.
  [[nodiscard]] double Share(int i) const {
    return SplitCpu(worker_cpu_s, idle_s, work_s, refusal_s).share[i];
  }
  std::array<double, kTenants> offered_pps{}, dropped_pps{}, served_pps{}, refused_pps{};
  std::array<double, kTenants> cost_ns{};    // cost alone at the fraction served
  std::array<double, kTenants> work_s{};     // served × cost alone + refused × refusal alone
  std::array<double, kTenants> refusal_s{};  // of it, refused × refusal alone
  std::array<double, kTenants> charged_s{};  // what the tenant stage charged (tokens)
};

int PhaseAt(double t, double run_seconds) {
  return t < run_seconds / 3 ? 0 : t < 2 * run_seconds / 3 ? 1 : 2;
}

// The producer: paces each tenant's offered load by the wall clock, interleaving the tenants,
// into `rings` (one shared ring, or one per tenant). A producer that falls behind (preempted)
// sends at most one queue's worth late, not an unbounded burst.
void Produce(const Options& opt, const Traffic& traffic, const std::array<double, kTenants>& rate,
             std::span<Ring* const> rings, Counters& counters,
             std::chrono::steady_clock::time_point start, const std::atomic<bool>& stop) {
  Pin(opt.producer_cpu);
  // The producer stands for the NIC, which no other process slows down: it runs at the
  // workers' nice value too, so that the queue is fed as the schedule says on a loaded machine.
  SetNice(opt.worker_nice);
  std::array<double, kTenants> due{};
  std::array<uint64_t, kTenants> sent{}, next{};
  auto last = start;
  while (!stop.load(std::memory_order_relaxed)) {
    auto now = std::chrono::steady_clock::now();
    double dt = std::chrono::duration<double>(now - last).count();
    last = now;
    double t = std::chrono::duration<double>(now - start).count();
    const int phase = PhaseAt(t, opt.run_seconds);
    std::array<uint64_t, kTenants> pending{};
    for (int i = 0; i < kTenants; ++i) {
      const bool idle = i == kIdleVictim && phase == 1;
      due[i] += idle ? 0 : rate[i] * dt;
      if (due[i] - double(sent[i]) > opt.queue_size) sent[i] = uint64_t(due[i]) - opt.queue_size;
      pending[i] = due[i] > double(sent[i]) ? uint64_t(due[i]) - sent[i] : 0;
    }
    std::array<uint64_t, kTenants> offered{}, dropped{};
    for (bool any = true; any;) {
      any = false;
      for (int i = 0; i < kTenants; ++i) {
        if (pending[i] == 0) continue;
        const std::vector<Entry>& pool = traffic.pool[i];
        Ring* ring = rings.size() == 1 ? rings[0] : rings[i];
        ++offered[i];
        dropped[i] += ring->Push(pool[next[i]]) ? 0 : 1;
        next[i] = (next[i] + 1) % pool.size();
        ++sent[i];
        any |= --pending[i] > 0;
      }
    }
    for (int i = 0; i < kTenants; ++i) {
      counters[i].offered.fetch_add(offered[i], std::memory_order_relaxed);
      counters[i].dropped.fetch_add(dropped[i], std::memory_order_relaxed);
    }
    // 20 µs between rounds: a few dozen packets at most, far below the queue's size.
    timespec pause{0, 20'000};
    nanosleep(&pause, nullptr);
  }
}

// One run of one policy: starts the worker thread(s) and the producer, samples every interval.
base::Result<std::vector<Sample>> RunPolicy(
    Policy policy, int run, const Options& opt, const Traffic& traffic,
    const detect::DetectionPlan& plan, const tenant::TenantTable& table,
    const tenant::CycleClock& clock, const std::array<CostCurve, kTenants>& cost,
    const std::array<double, kTenants>& rate, uint64_t* mismatches) {
  Counters counters;
  const int lanes = policy == Policy::kCfs ? kTenants : 1;
  std::vector<std::unique_ptr<Ring>> rings;
  std::vector<std::unique_ptr<Lane>> lane;
  for (int i = 0; i < lanes; ++i) {
    rings.push_back(std::make_unique<Ring>(opt.queue_size));
    auto l = Lane::Create(plan, policy == Policy::kTokens ? &table : nullptr, clock, &counters);
    if (!l) return l.error();
    lane.push_back(std::move(*l));
  }
  // Warm-up, before the clock starts: each worker serves its traffic once (tenant stage off), so
  // that first touches of its flow table and stream buffers (page faults) and the flows' creation
  // do not count as tenant work the cost measured alone leaves out.
  for (int i = 0; i < lanes; ++i) {
    for (int t = 0; t < kTenants; ++t) {
      if (lanes > 1 && t != i) continue;
      const std::vector<Entry>& pool = traffic.pool[t];
      for (size_t next = 0; next < pool.size(); next += kBatch) {
        lane[i]->Serve(&pool[next], std::min(kBatch, pool.size() - next), false);
      }
    }
  }
  for (TenantCounters& c : counters) c.served.store(0);
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  std::atomic<int> ready{0};
  std::atomic<uint64_t> idle_cycles{0};  // the worker(s)' empty polls
  for (int i = 0; i < lanes; ++i) {
    workers.emplace_back([&, i] {
      Pin(opt.worker_cpu);
      SetNice(opt.worker_nice);
      ready.fetch_add(1);
      while (!stop.load(std::memory_order_relaxed)) {
        const uint64_t poll = tenant::CycleClock::Now();
        if (lane[i]->Receive(*rings[i]) > 0) {
          continue;
        } else if (policy == Policy::kCfs) {
          // Under CFS an idle tenant thread must give the core to the others: it sleeps. Its
          // empty poll and the CPU time the sleep and wake-up take are idle time too.
          uint64_t idle = tenant::CycleClock::Now() - poll;
          const uint64_t cpu = OwnCpuNs();
          timespec pause{0, 50'000};
          nanosleep(&pause, nullptr);
          idle += clock.ToCycles(std::chrono::nanoseconds(OwnCpuNs() - cpu));
          idle_cycles.fetch_add(idle, std::memory_order_relaxed);
        } else {
          lane[i]->Idle();  // run to completion: the one worker polls its queue
          idle_cycles.fetch_add(tenant::CycleClock::Now() - poll, std::memory_order_relaxed);
        }
      }
    });
  }
  while (ready.load() < lanes) std::this_thread::yield();
  std::vector<clockid_t> cpu_clocks;
  for (std::thread& w : workers) {
    clockid_t c;
    pthread_getcpuclockid(w.native_handle(), &c);
    cpu_clocks.push_back(c);
  }
  auto worker_cpu = [&] {
    uint64_t sum = 0;
    for (clockid_t c : cpu_clocks) sum += ThreadCpuNs(c);
    return sum;
  };
  std::vector<Ring*> ring_ptrs;
  for (auto& r : rings) ring_ptrs.push_back(r.get());
  const auto start = std::chrono::steady_clock::now();
  std::thread producer(Produce, std::cref(opt), std::cref(traffic), std::cref(rate),
                       std::span<Ring* const>(ring_ptrs), std::ref(counters), start,
                       std::cref(stop));

  std::vector<Sample> samples;
  struct Snapshot {
    std::array<uint64_t, kTenants> offered{}, dropped{}, served{}, refused{}, charged{};
    uint64_t cpu_ns = 0;
    uint64_t idle_cycles = 0;
  };
  auto snap = [&] {
    Snapshot s;
    for (int i = 0; i < kTenants; ++i) {
      s.offered[i] = counters[i].offered.load(std::memory_order_relaxed);
      s.dropped[i] = counters[i].dropped.load(std::memory_order_relaxed);
      s.served[i] = counters[i].served.load(std::memory_order_relaxed);
      s.refused[i] = counters[i].refused.load(std::memory_order_relaxed);
      s.charged[i] = counters[i].charged.load(std::memory_order_relaxed);
    }
    s.cpu_ns = worker_cpu();
    s.idle_cycles = idle_cycles.load(std::memory_order_relaxed);
    return s;
  };
  Snapshot prev = snap();
  auto prev_time = start;
  const auto interval = std::chrono::duration<double, std::milli>(opt.interval_ms);
  const int intervals = int(std::lround(opt.run_seconds * 1000 / opt.interval_ms));
  for (int k = 1; k <= intervals; ++k) {
    std::this_thread::sleep_until(
        start + std::chrono::duration_cast<std::chrono::nanoseconds>(interval * k));
    const auto now = std::chrono::steady_clock::now();
    Snapshot cur = snap();
    const double dt = std::chrono::duration<double>(now - prev_time).count();
    Sample s{.run = run, .policy = policy};
    s.t = std::chrono::duration<double>(now - start).count();
    const double mid = s.t - dt / 2;
    s.phase = PhaseAt(mid, opt.run_seconds);
    const double phase_start = s.phase * opt.run_seconds / 3;
    s.settled = s.t - dt - phase_start >= opt.settle_ms / 1000 - 1e-9 &&
                PhaseAt(s.t - dt + 1e-6, opt.run_seconds) == PhaseAt(s.t - 1e-6, opt.run_seconds);
    s.worker_cpu_s = double(cur.cpu_ns - prev.cpu_ns) / 1e9;
    s.idle_s = clock.ToSeconds(cur.idle_cycles - prev.idle_cycles);
    for (int i = 0; i < kTenants; ++i) {
      s.offered_pps[i] = double(cur.offered[i] - prev.offered[i]) / dt;
      s.dropped_pps[i] = double(cur.dropped[i] - prev.dropped[i]) / dt;
      s.served_pps[i] = double(cur.served[i] - prev.served[i]) / dt;
      s.refused_pps[i] = double(cur.refused[i] - prev.refused[i]) / dt;
      const uint64_t offered = cur.offered[i] - prev.offered[i];
      const uint64_t served = cur.served[i] - prev.served[i];
      s.cost_ns[i] = cost[i].At(offered > 0 ? double(served) / double(offered) : 1.0);
      const uint64_t refused = cur.refused[i] - prev.refused[i];
      s.refusal_s[i] = double(refused) * cost[i].refusal_ns / 1e9;
      s.work_s[i] = double(served) * s.cost_ns[i] / 1e9 + s.refusal_s[i];
      s.charged_s[i] = clock.ToSeconds(cur.charged[i] - prev.charged[i]);
    }
    samples.push_back(s);
    prev = cur;
    prev_time = now;
  }
  stop.store(true);
  producer.join();
  for (std::thread& w : workers) w.join();
  for (auto& l : lane) *mismatches += l->mismatches();
  return samples;
}

// A policy's summary over one phase's settled intervals: each tenant's share of the worker's
// CPU (independent measure) and throughput.
struct PhaseSummary {
  std::array<double, kTenants> share{}, acct_share{}, pps{};
  double used = 0;        // Σ share: the fraction of the worker's CPU spent on packets
  double inspecting = 0;  // of it, on packets inspected (not on refusals)
  double coverage = 0;    // Σ (served × cost alone) over that busy CPU: the costs' common bias
};

PhaseSummary Summarize(std::span<const Sample> samples, Policy policy, int run,
                       std::span<const int> phases) {
  PhaseSummary out;
  double cpu = 0, idle = 0, seconds = 0;
  std::array<double, kTenants> work{}, refusals{}, charged{}, packets{};
  for (const Sample& s : samples) {
    if (s.policy != policy || s.run != run || !s.settled) continue;
    if (std::find(phases.begin(), phases.end(), s.phase) == phases.end()) continue;
    cpu += s.worker_cpu_s;
    idle += s.idle_s;
    for (int i = 0; i < kTenants; ++i) {
      work[i] += s.work_s[i];
      refusals[i] += s.refusal_s[i];
      charged[i] += s.charged_s[i];
      packets[i] += s.served_pps[i];
    }
    seconds += 1;
  }
  if (cpu == 0 || seconds == 0) return out;
  const CpuSplit split = SplitCpu(cpu, idle, work, refusals);
  for (int i = 0; i < kTenants; ++i) {
    out.share[i] = split.share[i];
    out.acct_share[i] = charged[i] / cpu;
    out.pps[i] = packets[i] / seconds;
  }
  out.used = split.used;
  out.inspecting = split.inspecting;
  out.coverage = split.coverage;
  return out;
}

// The tenant stage's overhead: the victims' traffic through one lane flat out, the stage on and
// off in alternate slices of the same run; throughput from the thread's CPU time, so that a
// preemption by another process does not count against either side. Returns the median of the
// per-pair losses, in % (and the two medians' throughputs).
struct Overhead {
  double loss_pct = 0, on_pps = 0, off_pps = 0, refused_fraction = 0;
};

base::Result<Overhead> MeasureOverhead(const Options& opt, const Traffic& traffic,
                                       const detect::DetectionPlan& plan,
                                       const tenant::TenantTable& table,
                                       const tenant::CycleClock& clock) {
  Pin(opt.worker_cpu);
  SetNice(opt.worker_nice);
  Counters counters;
  auto lane = Lane::Create(plan, &table, clock, &counters);
  if (!lane) return lane.error();
  std::vector<Entry> mixed;
  const auto& a = traffic.pool[0];
  const auto& b = traffic.pool[1];
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    if (i < a.size()) mixed.push_back(a[i]);
    if (i < b.size()) mixed.push_back(b[i]);
  }
  size_t next = 0;
  auto slice = [&](bool on, double seconds) {
    const uint64_t start = OwnCpuNs();
    uint64_t packets = 0;
    while (OwnCpuNs() - start < uint64_t(seconds * 1e9)) {
      for (int i = 0; i < 16; ++i) {
        size_t n = std::min(kBatch, mixed.size() - next);
        // Refused packets are not counted: the stage's throughput is what it lets through.
        packets += (*lane)->Serve(&mixed[next], n, on);
        next = (next + n) % mixed.size();
      }
    }
    return double(packets) / (double(OwnCpuNs() - start) / 1e9);
  };
  slice(false, 0.3);  // warm-up: flows created, caches filled
  std::vector<double> loss, on, off;
  const int pairs = std::max(2, int(opt.overhead_seconds / 0.2));
  for (int k = 0; k < pairs; ++k) {
    // Alternate which side goes first so that a slow drift favours neither.
    double x = 0, y = 0;
    if (k % 2 == 0) {
      x = slice(true, 0.1);
      y = slice(false, 0.1);
    } else {
      y = slice(false, 0.1);
      x = slice(true, 0.1);
    }
    on.push_back(x);
    off.push_back(y);
    loss.push_back((y - x) / y * 100);
  }
  Overhead o{.loss_pct = Median(loss), .on_pps = Median(on), .off_pps = Median(off)};
  double served = 0, refused = 0;
  for (int i = 0; i < kTenants; ++i) {
    served += double(counters[i].served.load());
    refused += double(counters[i].refused.load());
  }
  o.refused_fraction = served + refused > 0 ? refused / (served + refused) : 0;
  return o;
}

int Main(int argc, char** argv) {
  Options opt;
  CLI::App app{"vigil multi-tenant fairness experiment (issue 20)"};
  app.add_option("--runs", opt.runs, "runs of every policy; medians are reported")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--seconds", opt.run_seconds, "length of one policy's run")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--interval-ms", opt.interval_ms, "sampling interval")->capture_default_str();
  app.add_option("--victim-load", opt.victim_load, "each victim's offered load, CPUs")
      ->capture_default_str();
  app.add_option("--adversary-load", opt.adversary_load, "the adversary's offered load, CPUs")
      ->capture_default_str();
  app.add_option("--bait-rules", opt.bait_rules, "rules an adversary packet makes candidates")
      ->capture_default_str();
  app.add_option("--bait-bytes", opt.bait_bytes, "adversary payload size")->capture_default_str();
  app.add_option("--rules", opt.rules_dir,
                 "folder of .rules files the traffic is inspected "
                 "against besides the generated rules (all are loaded)");
  app.add_option("--victim-mix", opt.victim_mix, "the victims' trafgen flow mix")
      ->capture_default_str();
  app.add_option("--queue", opt.queue_size, "receive queue size, packets")->capture_default_str();
  app.add_option("--weights", opt.weights, "victim-a, victim-b, adversary weights (tokens)")
      ->expected(3);
  app.add_option("--worker-cpu", opt.worker_cpu, "CPU of the worker (default: the last)");
  app.add_option("--worker-nice", opt.worker_nice, "nice value of the worker thread(s)")
      ->capture_default_str();
  app.add_option("--producer-cpu", opt.producer_cpu, "CPU of the producer")->capture_default_str();
  app.add_option("--overhead-seconds", opt.overhead_seconds, "length of the overhead run")
      ->capture_default_str();
  app.add_option("--out", opt.out, "output folder")->capture_default_str();
  app.add_option("--plot-script", opt.plot_script, "gnuplot script")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const int cpus = int(std::thread::hardware_concurrency());
  if (opt.worker_cpu < 0) opt.worker_cpu = std::max(0, cpus - 1);
  if (opt.worker_cpu == opt.producer_cpu && cpus > 1) {
    fmt::print(stderr, "fairness: warning: producer and worker share CPU {}\n", opt.worker_cpu);
  }
  std::filesystem::create_directories(opt.out);
  AutogroupNice autogroup(opt.worker_nice);

  auto clock = tenant::CycleClock::Calibrate();
  if (!clock) {
    fmt::print(stderr, "fairness: {}\n", clock.error().ToString());
    return 1;
  }
  size_t enabled = 0;
  auto plan = BuildPlan(opt.bait_rules, opt.rules_dir, &enabled);
  if (!plan) {
    fmt::print(stderr, "fairness: {}\n", plan.error().ToString());
    return 1;
  }
  auto mix = trafgen::ParseProtocolMix(opt.victim_mix);
  if (!mix) {
    fmt::print(stderr, "fairness: --victim-mix: {}\n", mix.error().ToString());
    return 1;
  }
  auto traffic = BuildTraffic(opt.bait_bytes, *mix);
  if (!traffic) {
    fmt::print(stderr, "fairness: {}\n", traffic.error().ToString());
    return 1;
  }
  std::vector<tenant::TenantSpec> specs;
  for (int i = 0; i < kTenants; ++i) {
    specs.push_back(
        {.name = kTenantNames[i], .weight = opt.weights[i], .prefixes = {kServerPrefixes[i]}});
  }
  auto table = tenant::TenantTable::Build(specs, {"fair0"});
  if (!table) {
    fmt::print(stderr, "fairness: {}\n", table.error().ToString());
    return 1;
  }
  // Costs alone on the worker's core, as the experiment will run there.
  std::optional<base::Result<std::array<CostCurve, kTenants>>> cost;
  std::thread([&] {
    Pin(opt.worker_cpu);
    SetNice(opt.worker_nice);
    cost = MeasureAlone(*traffic, **plan, *table, *clock, 0.4);
  }).join();
  if (!*cost) {
    fmt::print(stderr, "fairness: {}\n", cost->error().ToString());
    return 1;
  }
  std::array<double, kTenants> rate{};
  for (int i = 0; i < kTenants; ++i) {
    const double load = i == kAdversary ? opt.adversary_load : opt.victim_load;
    rate[i] = load / ((**cost)[i].ns[0] / 1e9);
  }
  fmt::print(stderr,
             "fairness: {} rules enabled; TSC {:.3f} GHz{}; worker CPU {} (nice {}{}), producer "
             "CPU {}\n",
             enabled, double(clock->cycles_per_second()) / 1e9,
             clock->invariant() ? "" : " (not invariant)", opt.worker_cpu, opt.worker_nice,
             autogroup.raised() ? ", autogroup too" : "", opt.producer_cpu);
  for (int i = 0; i < kTenants; ++i) {
    fmt::print(stderr, "fairness: {:9} {:6} frames, {:8.0f} ns/packet alone, offered {:9.0f} pps\n",
               kTenantNames[i], traffic->pool[i].size(), (**cost)[i].ns[0], rate[i]);
    fmt::print(stderr,
               "fairness: {:9} ns/packet alone at kept fractions {}: {:.0f}; a refusal {:.0f}\n",
               kTenantNames[i], fmt::join(kKeptFractions, "/"), fmt::join((**cost)[i].ns, "/"),
               (**cost)[i].refusal_ns);
  }
  const double ratio = (**cost)[kAdversary].ns[0] / std::max((**cost)[0].ns[0], (**cost)[1].ns[0]);
  fmt::print(stderr, "fairness: adversary packet costs {:.1f}x the dearer victim's\n", ratio);

  std::vector<Sample> samples;
  uint64_t mismatches = 0;
  for (int run = 0; run < opt.runs; ++run) {
    for (Policy p : {Policy::kFifo, Policy::kTokens, Policy::kCfs}) {
      auto s = RunPolicy(p, run, opt, *traffic, **plan, *table, *clock, **cost, rate, &mismatches);
      if (!s) {
        fmt::print(stderr, "fairness: {}\n", s.error().ToString());
        return 1;
      }
      samples.insert(samples.end(), s->begin(), s->end());
    }
    fmt::print(stderr, "fairness: run {} of {} done\n", run + 1, opt.runs);
  }
  if (mismatches > 0) {
    fmt::print(stderr, "fairness: warning: {} packets classified to another tenant\n", mismatches);
  }

  // Per run: the headline figures under tokens; medians over the runs.
  const bool all_backlogged[kTenants] = {true, true, true};
  bool one_idle[kTenants] = {true, true, true};
  one_idle[kIdleVictim] = false;
  const std::vector<double> fair_all = FairShares(opt.weights, all_backlogged);
  const std::vector<double> fair_idle = FairShares(opt.weights, one_idle);
  const int busy_phases[] = {0, 2};
  const int idle_phase[] = {1};
  std::vector<double> victim_pct, jain, used, coverage;
  for (int run = 0; run < opt.runs; ++run) {
    PhaseSummary busy = Summarize(samples, Policy::kTokens, run, busy_phases);
    PhaseSummary idle = Summarize(samples, Policy::kTokens, run, idle_phase);
    std::vector<double> x(kTenants);
    for (int i = 0; i < kTenants; ++i) x[i] = busy.share[i] / fair_all[i];
    victim_pct.push_back(std::min(x[0], x[1]) * 100);
    jain.push_back(JainIndex(x));
    used.push_back(idle.inspecting * 100);
    coverage.push_back(busy.coverage * 100);
  }
  // The run whose victim share is the median one is plotted.
  int plotted = 0;
  {
    std::vector<int> order(opt.runs);
    for (int r = 0; r < opt.runs; ++r) order[r] = r;
    std::sort(order.begin(), order.end(),
              [&](int a, int b) { return victim_pct[a] < victim_pct[b]; });
    plotted = order[opt.runs / 2];
  }

  std::optional<base::Result<Overhead>> overhead_result;
  std::thread([&] {
    overhead_result = MeasureOverhead(opt, *traffic, **plan, *table, *clock);
  }).join();
  auto& overhead = *overhead_result;
  if (!overhead) {
    fmt::print(stderr, "fairness: {}\n", overhead.error().ToString());
    return 1;
  }

  // The CSV: one row per interval per tenant.
  const std::string csv_path = opt.out + "/fairness.csv";
  const std::string plot_path = opt.out + "/fairness_plot.dat";
  {
    std::FILE* f = std::fopen(csv_path.c_str(), "w");
    std::FILE* g = std::fopen(plot_path.c_str(), "w");
    if (f == nullptr || g == nullptr) {
      fmt::print(stderr, "fairness: cannot write {}\n", opt.out);
      return 1;
    }
    fmt::print(f,
               "run,policy,t_s,phase,settled,tenant,cpu_share,acct_share,served_pps,offered_pps,"
               "dropped_pps,refused_pps,worker_cpu_s,cost_ns,idle_s\n");
    for (const Sample& s : samples) {
      for (int i = 0; i < kTenants; ++i) {
        fmt::print(f,
                   "{},{},{:.3f},{},{},{},{:.4f},{:.4f},{:.0f},{:.0f},{:.0f},{:.0f},{:.4f},{:.0f},{"
                   ":.4f}\n",
                   s.run, kPolicyNames[int(s.policy)], s.t, s.phase, s.settled ? 1 : 0,
                   kTenantNames[i], s.Share(i),
                   s.worker_cpu_s > 0 ? s.charged_s[i] / s.worker_cpu_s : 0, s.served_pps[i],
                   s.offered_pps[i], s.dropped_pps[i], s.refused_pps[i], s.worker_cpu_s,
                   s.cost_ns[i], s.idle_s);
      }
    }
    // The plotted run, one gnuplot data block per policy: t, shares (%), throughputs (kpps).
    for (Policy p : {Policy::kFifo, Policy::kTokens, Policy::kCfs}) {
      fmt::print(g, "# {}\n", kPolicyNames[int(p)]);
      for (const Sample& s : samples) {
        if (s.run != plotted || s.policy != p) continue;
        fmt::print(g, "{:.3f}", s.t);
        for (int i = 0; i < kTenants; ++i) {
          fmt::print(g, " {:.2f}", 100 * s.Share(i));
        }
        for (int i = 0; i < kTenants; ++i) fmt::print(g, " {:.2f}", s.served_pps[i] / 1e3);
        fmt::print(g, "\n");
      }
      fmt::print(g, "\n\n");
    }
    std::fclose(f);
    std::fclose(g);
  }

  // The table: per policy and phase, medians over the runs.
  std::string md;
  md += fmt::format(
      "Per-packet cost alone: victim-a {:.0f} ns, victim-b {:.0f} ns, adversary {:.0f} ns "
      "({:.1f}x); offered: victims {:.2f} CPU each, adversary {:.2f} CPU; fair share "
      "(weights {}:{}:{}) {:.1f}% each with all backlogged; {} runs of {:.0f} s per policy, "
      "medians.\n\n",
      (**cost)[0].ns[0], (**cost)[1].ns[0], (**cost)[2].ns[0], ratio, opt.victim_load,
      opt.adversary_load, opt.weights[0], opt.weights[1], opt.weights[2], fair_all[0] * 100,
      opt.runs, opt.run_seconds);
  md +=
      "| policy | phase | victim-a CPU | victim-b CPU | adversary CPU | CPU used (inspecting) | "
      "victim-a kpps | victim-b kpps | adversary kpps | min victim % of fair | Jain | "
      "work alone / busy |\n";
  md += "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (Policy p : {Policy::kFifo, Policy::kTokens, Policy::kCfs}) {
    for (int phase : {0, 1, 2}) {
      const int ph[] = {phase};
      const std::vector<double>& fair = phase == 1 ? fair_idle : fair_all;
      std::array<std::vector<double>, kTenants> share, pps;
      std::vector<double> used_r, inspecting, min_victim, j, cover;
      for (int run = 0; run < opt.runs; ++run) {
        PhaseSummary s = Summarize(samples, p, run, ph);
        std::vector<double> x;
        double worst = 1e9;
        for (int i = 0; i < kTenants; ++i) {
          share[i].push_back(s.share[i]);
          pps[i].push_back(s.pps[i]);
          if (fair[i] > 0) {
            x.push_back(s.share[i] / fair[i]);
            if (i != kAdversary) worst = std::min(worst, s.share[i] / fair[i]);
          }
        }
        used_r.push_back(s.used);
        inspecting.push_back(s.inspecting);
        cover.push_back(s.coverage);
        min_victim.push_back(worst * 100);
        j.push_back(JainIndex(x));
      }
      md += fmt::format(
          "| {} | {} | {:.1f}% | {:.1f}% | {:.1f}% | {:.1f}% ({:.1f}%) | {:.1f} | {:.1f} | {:.1f} "
          "| "
          "{:.0f}% | {:.3f} | {:.1f}% |\n",
          kPolicyNames[int(p)],
          phase == 1   ? "victim-b idle"
          : phase == 0 ? "all (1st)"
                       : "all (2nd)",
          Median(share[0]) * 100, Median(share[1]) * 100, Median(share[2]) * 100,
          Median(used_r) * 100, Median(inspecting) * 100, Median(pps[0]) / 1e3,
          Median(pps[1]) / 1e3, Median(pps[2]) / 1e3, Median(min_victim), Median(j),
          Median(cover) * 100);
    }
  }
  {
    std::array<std::vector<double>, kTenants> acct;
    for (int run = 0; run < opt.runs; ++run) {
      PhaseSummary s = Summarize(samples, Policy::kTokens, run, busy_phases);
      for (int i = 0; i < kTenants; ++i) acct[i].push_back(s.acct_share[i]);
    }
    md += fmt::format(
        "\nTokens, all backlogged, by the tenant stage's own measure (cycles it charged, including "
        "refusals, over the worker's CPU time): victim-a {:.1f}%, victim-b {:.1f}%, adversary "
        "{:.1f}%.\n",
        Median(acct[0]) * 100, Median(acct[1]) * 100, Median(acct[2]) * 100);
  }
  md += fmt::format(
      "\nPer run (tokens): victim share {:.1f} % of fair; Jain {:.3f}; CPU used with victim-b idle "
      "{:.1f} % (on inspected packets); work by costs alone over busy CPU, all backlogged, {:.1f} "
      "%.\n",
      fmt::join(victim_pct, " / "), fmt::join(jain, " / "), fmt::join(used, " / "),
      fmt::join(coverage, " / "));
  md += fmt::format(
      "\nOverhead of the tenant stage (victims' traffic flat out, stage on and off alternately, "
      "median of pairs): {:.0f} pps on, {:.0f} pps off, {:.2f}% ({:.3f}% of packets refused).\n",
      overhead->on_pps, overhead->off_pps, overhead->loss_pct, overhead->refused_fraction * 100);
  {
    std::FILE* f = std::fopen((opt.out + "/fairness.md").c_str(), "w");
    if (f != nullptr) {
      std::fputs(md.c_str(), f);
      std::fclose(f);
    }
  }
  fmt::print("{}", md);

  const std::string command = fmt::format("gnuplot -e \"data='{}'; outdir='{}'\" {} 2>&1",
                                          plot_path, opt.out, opt.plot_script);
  if (std::system(command.c_str()) != 0) {
    fmt::print(stderr, "fairness: plotting failed (is gnuplot installed?): {}\n", command);
  } else {
    fmt::print("\nPlots (run {}): {}/fairness_cpu_share.png, {}/fairness_throughput.png\n", plotted,
               opt.out, opt.out);
  }
  fmt::print(
      "fairness: victim share {:.0f}% of fair (min), jain {:.3f}, cpu used {:.1f}%, "
      "overhead {:.1f}%\n",
      Median(victim_pct), Median(jain), Median(used), overhead->loss_pct);
  return 0;
}

}  // namespace
}  // namespace vigil::fairness

int main(int argc, char** argv) { return vigil::fairness::Main(argc, argv); }

#include "engine/live_run.h"

#include <fmt/format.h>
#include <malloc.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "decode/decoder.h"
#include "ebpf/scratch.h"
#include "engine/parallel.h"
#include "engine/tenant_groups.h"
#include "engine/tenant_stage.h"
#include "net/reject.h"
#include "output/alert_writers.h"
#include "tenant/accounting.h"
#include "tenant/cycle_clock.h"

namespace vigil::engine {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The alert outputs every worker writes to, under one lock.
class AlertOutputs {
 public:
  base::Status Open(const LiveOptions& o, bool inline_mode) {
    std::lock_guard lock(mu_);
    fast_path_ = o.log_dir + "/alert_fast.txt";
    eve_path_ = o.log_dir + "/eve.json";
    want_fast_ = o.alert_fast;
    want_eve_ = o.eve_json;
    inline_mode_ = inline_mode;
    observer_ = o.observer;
    return OpenLocked();
  }
  void Write(const PacketResult& r) {
    output::AlertMeta meta{.flow_id = r.flow_id,
                           .rebuilt = r.rebuilt,
                           .packet_alerts = r.alerts,
                           .alert_only = r.alert_only};
    std::lock_guard lock(mu_);
    for (const detect::Alert& a : r.alerts) {
      if (fast_) fast_->Write(*r.packet, a, r.alert_only);
      if (eve_) eve_->Write(*r.packet, a, meta);
    }
    alerts_ += r.alerts.size();
    if (observer_ != nullptr) observer_->OnAlerts(r);
  }
  base::Status Flush() {
    std::lock_guard lock(mu_);
    return FlushLocked();
  }
  // For logrotate: the files were moved away; what is buffered goes to them, then new files.
  base::Status Reopen() {
    std::lock_guard lock(mu_);
    if (auto s = FlushLocked(); !s) return s;
    return OpenLocked();
  }
  uint64_t alerts() {
    std::lock_guard lock(mu_);
    return alerts_;
  }

 private:
  base::Status OpenLocked() {
    if (want_fast_) {
      auto w = output::AlertFastWriter::Open(fast_path_);
      if (!w) return w.error();
      fast_ = std::move(*w);
    }
    if (want_eve_) {
      auto w = output::EveWriter::Open(eve_path_, inline_mode_);
      if (!w) return w.error();
      eve_ = std::move(*w);
    }
    return {};
  }
  base::Status FlushLocked() {
    if (fast_) {
      if (auto s = fast_->Flush(); !s) return s;
    }
    if (eve_) {
      if (auto s = eve_->Flush(); !s) return s;
    }
    return {};
  }

  std::mutex mu_;
  std::string fast_path_, eve_path_;
  bool want_fast_ = false, want_eve_ = false, inline_mode_ = false;
  LiveObserver* observer_ = nullptr;
  std::unique_ptr<output::AlertFastWriter> fast_;
  std::unique_ptr<output::EveWriter> eve_;
  uint64_t alerts_ = 0;
};

// What the workers share: the plan to run (replaced by reloads), the outputs, and the
// control thread's requests.
struct Shared {
  std::atomic<bool> stop{false};
  mutable std::mutex plan_mu;
  std::shared_ptr<const detect::DetectionPlan> plan;
  std::shared_ptr<detect::EventFilter> event_filter;
  std::atomic<uint64_t> plan_generation{0};
  // The tenant table that goes with `plan` (null: no tenants), and the clock the workers'
  // accounting runs on.
  std::shared_ptr<const tenant::TenantTable> tenant_table;
  std::vector<TenantPlan> tenant_plans;  // the tenants' own rules (TenantGroups)
  bool inline_run = false;
  std::optional<tenant::CycleClock> clock;
  std::atomic<uint64_t> stats_epoch{0};
  AlertOutputs outputs;
  bool fail_open = false;
  bool busy_poll = false;
};

#define VIGIL_LANE_COUNTERS(X)                      \
  X(frames, "capture.frames")                       \
  X(bytes, "capture.bytes")                         \
  X(forwarded, "capture.forwarded")                 \
  X(verdict_drops, "capture.verdict_drops")         \
  X(truncated_drops, "capture.truncated_drops")     \
  X(overload_drops, "capture.overload_drops")       \
  X(bypassed, "capture.bypassed")                   \
  X(tenant_drops, "capture.tenant_drops")           \
  X(program_drops, "capture.program_drops")         \
  X(program_tx, "capture.program_tx")               \
  X(program_redirects, "capture.program_redirects") \
  X(redirect_errors, "capture.redirect_errors")     \
  X(program_tx_sent, "capture.program_tx_sent")     \
  X(resets_sent, "capture.resets_sent")             \
  X(unreachables_sent, "capture.unreachables_sent") \
  X(plan_switches, "reload.worker_switches")        \
  X(stats_snapshots, "stats.snapshots")             \
  X(stats_snapshot_cycles, "stats.snapshot_cycles")

struct LaneCounters {
#define VIGIL_LANE_FIELD(field, name) uint64_t field = 0;
  VIGIL_LANE_COUNTERS(VIGIL_LANE_FIELD)
#undef VIGIL_LANE_FIELD
};

// Where a worker reads frames and where it forwards them (null: monitoring only).
struct Path {
  net::Port* rx = nullptr;
  net::Port* tx = nullptr;
  uint32_t ingress = 0;     // rx's interface, by its index in the run's interface list
  uint32_t rx_ifindex = 0;  // the kernel's indices of rx's and tx's interfaces (XDP programs'
  uint32_t tx_ifindex = 0;  // ingress_ifindex and redirect targets)
};

// One worker thread and everything it owns.
struct Lane {
  uint32_t index = 0;
  std::unique_ptr<Worker> worker;
  decode::Decoder decoder;
  std::vector<std::unique_ptr<net::Port>> ports;
  std::vector<Path> paths;
  std::shared_ptr<const detect::DetectionPlan> plan;        // the plan `worker` runs on
  std::optional<tenant::TenantAccounting> tenants;          // when the run has tenants
  std::shared_ptr<const tenant::TenantTable> tenant_table;  // what `tenants` classifies by
  ebpf::Scratch scratch;                                    // the tenants' programs' runs
  WorkerConfig config;  // what `worker` (and the tenant groups' pipelines) were made with
  TenantGroups groups;  // the pipelines of tenants with their own rules or policy
  std::atomic<uint64_t> plan_generation{0};  // of the plan `worker` runs on
  uint64_t number = 0;                       // frames received, numbering them
  LaneCounters counters;
  // The worker's counters as of the last stats request, for the control thread.
  std::mutex snapshot_mu;
  CounterSum snapshot;
  CounterSum snapshot_scratch;  // the worker's, refilled for each snapshot
  std::atomic<uint64_t> snapshot_epoch{0};
  std::thread thread;
};

// Every counter of a lane by name: its ports' (per interface and summed), its decoder's, its
// worker's and its own. Called by the lane's thread, or by anyone once it has stopped.
void CollectCounters(Lane& lane, CounterSum& out) {
  for (auto& port : lane.ports) {
    port->UpdateCounters();
    const net::PortCounters& c = port->counters();
    const std::string prefix = "capture." + port->interface() + ".";
    out.Add(prefix + "packets", c.packets);
    out.Add(prefix + "kernel_drops", c.kernel_drops);
    out.Add(prefix + "tx_packets", c.tx_packets);
    out.Add(prefix + "tx_errors", c.tx_errors);
    out.Add(prefix + "truncated", c.truncated);
    out.Add("capture.packets", c.packets);
    out.Add("capture.kernel_drops", c.kernel_drops);
  }
#define VIGIL_LANE_VISIT(field, name) out.Add(name, lane.counters.field);
  VIGIL_LANE_COUNTERS(VIGIL_LANE_VISIT)
#undef VIGIL_LANE_VISIT
  lane.decoder.stats().ForEach([&](std::string_view n, uint64_t v) { out.Add(n, v); });
  lane.worker->rebuilt_decoder().stats().ForEach(
      [&](std::string_view n, uint64_t v) { out.Add(n, v); });
  lane.worker->ForEachStat([&](std::string_view n, uint64_t v) { out.Add(n, v); });
  lane.groups.ForEachStat([&](std::string_view n, uint64_t v) { out.Add(n, v); });
  if (lane.tenants) {
    lane.tenants->ForEachStat([&](std::string_view n, uint64_t v) { out.Add(n, v); });
    lane.tenants->ForEachTokenLevel([&](std::string_view n, uint64_t v) { out.Add(n, v); });
  }
}

// Which ends a dropping packet's reject rules want reset (none when no reject took effect).
struct RejectTargets {
  bool source = false;
  bool destination = false;
};
RejectTargets RejectsOf(std::span<const detect::Alert> alerts) {
  RejectTargets t;
  for (const detect::Alert& a : alerts) {
    switch (a.action) {
      case rules::Action::kReject:
      case rules::Action::kRejectBoth:
        t.source = t.destination = true;
        break;
      case rules::Action::kRejectSrc:
        t.source = true;
        break;
      case rules::Action::kRejectDst:
        t.destination = true;
        break;
      default:
        break;
    }
  }
  return t;
}

class LaneRunner {
 public:
  LaneRunner(Lane& lane, Shared& shared) : lane_(lane), shared_(shared) {
    if (lane_.tenants) stage_.emplace(*lane_.tenants);
  }

  void Run() {
    while (!shared_.stop.load(std::memory_order_relaxed)) {
      Housekeeping();
      bool worked = false;
      for (const Path& path : lane_.paths) worked |= ServeBlock(path);
      if (!worked) Wait();
    }
    // Drain: what the kernel already handed over is processed before the worker stops.
    for (int round = 0; round < 1024; ++round) {
      bool worked = false;
      for (const Path& path : lane_.paths) worked |= ServeBlock(path);
      if (!worked) break;
    }
    Housekeeping();
  }

 private:
  static constexpr int kWaitMs = 100;  // how late a stop, reload or stats request may be seen

  void Housekeeping() {
    uint64_t g = shared_.plan_generation.load(std::memory_order_acquire);
    if (g != lane_.plan_generation.load(std::memory_order_relaxed)) {
      std::shared_ptr<const detect::DetectionPlan> plan;
      std::shared_ptr<detect::EventFilter> filter;
      std::shared_ptr<const tenant::TenantTable> table;
      std::vector<TenantPlan> tenant_plans;
      {
        std::lock_guard lock(shared_.plan_mu);
        plan = shared_.plan;
        filter = shared_.event_filter;
        table = shared_.tenant_table;
        tenant_plans = shared_.tenant_plans;
      }
      if (lane_.worker->SwapPlan(*plan, filter)) {
        lane_.plan = plan;  // the old plan goes when its last worker lets go
        lane_.config.event_filter = filter;
        ++lane_.counters.plan_switches;
      }
      if (table != lane_.tenant_table) SwapTenants(std::move(table));
      // The control thread checked that every tenant's rules were compiled: this cannot fail
      // but for memory, and then the tenants' pipelines stay as they were.
      (void)lane_.groups.Update(lane_.tenant_table.get(), tenant_plans, lane_.plan, lane_.config,
                                shared_.inline_run);
      lane_.plan_generation.store(g, std::memory_order_release);
    }
    uint64_t epoch = shared_.stats_epoch.load(std::memory_order_acquire);
    if (epoch != lane_.snapshot_epoch.load(std::memory_order_relaxed)) {
      // What answering the control plane costs this worker, counted by itself (TSC cycles; the
      // snapshot shows the total up to the one before it).
      const uint64_t start = tenant::CycleClock::Now();
      ++lane_.counters.stats_snapshots;
      // Refilled in place and copied into the same strings: no allocation once the names are
      // known (a snapshot used to build every name anew, about 120 us of the worker's time).
      lane_.snapshot_scratch.Restart();
      CollectCounters(lane_, lane_.snapshot_scratch);
      // The worker thread's CPU time as of this snapshot, so that a rate taken from two
      // snapshots (frames per CPU second) has its numerator and denominator of the same instant.
      timespec cpu{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
      lane_.snapshot_scratch.Add("worker.cpu_ns",
                                 uint64_t(cpu.tv_sec) * 1'000'000'000 + uint64_t(cpu.tv_nsec));
      lane_.snapshot_scratch.Finish();
      {
        std::lock_guard lock(lane_.snapshot_mu);
        lane_.snapshot = lane_.snapshot_scratch;
      }
      lane_.counters.stats_snapshot_cycles += tenant::CycleClock::Now() - start;
      lane_.snapshot_epoch.store(epoch, std::memory_order_release);
    }
  }

  // A reloaded tenant table: a new accounting stage, whose totals go on from the old one's.
  void SwapTenants(std::shared_ptr<const tenant::TenantTable> table) {
    std::optional<tenant::TenantAccounting> fresh;
    if (table != nullptr && shared_.clock) {
      auto acct = tenant::TenantAccounting::Create(*table, *shared_.clock);
      if (!acct) return;  // the control thread built the same table: cannot happen
      fresh.emplace(std::move(*acct));
      if (lane_.tenants) fresh->CarryTotals(*lane_.tenants);
    }
    lane_.tenants = std::move(fresh);
    lane_.tenant_table = std::move(table);
    stage_.reset();
    if (lane_.tenants) stage_.emplace(*lane_.tenants);
  }

  void Wait() {
    if (shared_.busy_poll) {
      auto until = Clock::now() + std::chrono::milliseconds(kWaitMs);
      while (Clock::now() < until && !shared_.stop.load(std::memory_order_relaxed)) {
        for (const Path& path : lane_.paths) {
          if (path.rx->Wait(0)) return;
        }
      }
      return;
    }
    std::array<pollfd, 16> fds;
    size_t n = 0;
    for (const Path& path : lane_.paths) {
      if (n < fds.size()) fds[n++] = {.fd = path.rx->fd(), .events = POLLIN | POLLERR};
    }
    ::poll(fds.data(), n, kWaitMs);
  }

  // Receives one block's worth of frames from path.rx, inspects them, forwards them inline.
  bool ServeBlock(const Path& path) {
    size_t n = path.rx->Receive(frames_);
    if (n == 0) {
      path.rx->Release();
      return false;
    }
    LaneCounters& c = lane_.counters;
    c.frames += n;
    if (path.tx != nullptr && path.rx->Backlogged()) {
      // Overload: this block is not inspected.
      if (shared_.fail_open) {
        c.bypassed += n;
        c.forwarded += path.tx->Transmit({frames_.data(), n});
      } else {
        c.overload_drops += n;
      }
      path.rx->Release();
      return true;
    }
    // The tenant stage runs (and reads the TSC) only when there are tenants.
    TenantStage* stage = lane_.tenants ? &*stage_ : nullptr;
    if (stage != nullptr) {
      // Admission before decoding: a refused frame costs a header read (TenantStage::Classify).
      stage->BeginBatch();
      stage->Classify(n, path.ingress, /*admission=*/true, [&](size_t i) {
        return std::span<const uint8_t>(frames_[i].data, frames_[i].caplen);
      });
    }
    for (size_t i = 0; i < n; ++i) {
      const net::Frame& f = frames_[i];
      packet::Packet& p = packets_[i];
      p = packet::Packet{};
      p.data = f.data;
      p.caplen = f.caplen;
      p.wirelen = f.wirelen;
      p.ts = f.ts;
      p.number = ++lane_.number;
      p.linktype = packet::LinkType::kEthernet;
      if (stage == nullptr || stage->admitted(i)) lane_.decoder.Decode(p);
      c.bytes += f.caplen;
      drop_[i] = false;
      rule_drop_[i] = false;
      sent_[i] = false;
    }
    // Admission: a packet whose tenant has no tokens goes no further (dropped inline, not
    // inspected beside a link). The rest are inspected together, in order.
    std::span<const packet::Packet> inspect{packets_.data(), n};
    size_t back = 0;  // frames the tenants' programs send back out of path.rx
    if (stage != nullptr) {
      const TenantStage::Programs programs{
          .scratch = &lane_.scratch, .ifindex = path.rx_ifindex, .frames = frames_.data()};
      inspect = stage->Admit({packets_.data(), n}, path.ingress, /*admission=*/true, &programs,
                             lane_.groups.group_of_tenant());
      for (size_t i = 0; i < n; ++i) {
        if (!stage->admitted(i)) {
          drop_[i] = true;
          ++c.tenant_drops;
          continue;
        }
        back += ApplyProgramVerdict(*stage, i, path, back);
      }
    }
    size_t current = 0;
    bool may_drop = true;  // the pipeline's policy (TenantGroups)
    const Worker::Sink sink = [&](const PacketResult& r) {
      // Rebuilt datagrams and tunnels' insides follow the frame that carried them: their
      // verdict is that frame's.
      if (stage != nullptr) {
        current = stage->OnResult(r);
      } else if (r.packet >= packets_.data() && r.packet < packets_.data() + n) {
        current = size_t(r.packet - packets_.data());
      }
      if (!r.alerts.empty()) shared_.outputs.Write(r);
      if (!r.drop || path.tx == nullptr || !may_drop) return;
      drop_[current] = true;
      rule_drop_[current] = true;
      Reject(*r.packet, RejectsOf(r.alerts), path);
    };
    if (stage == nullptr || lane_.groups.size() == 0) {
      lane_.worker->Process(inspect, sink);
    } else {
      // Tenants with their own rules or policy: each group through its own pipeline.
      for (size_t g = 0; g <= lane_.groups.size(); ++g) {
        const std::span<const packet::Packet> part = stage->group(g);
        if (part.empty()) continue;
        may_drop = g == 0 || lane_.groups.may_drop(g);
        (g == 0 ? *lane_.worker : lane_.groups.worker(g)).Process(part, sink);
      }
    }
    if (path.tx != nullptr) {
      size_t out = 0;
      for (size_t i = 0; i < n; ++i) {
        if (rule_drop_[i]) {
          ++c.verdict_drops;
        } else if (drop_[i]) {
          // refused by the tenant stage: counted above
        } else if (frames_[i].caplen < frames_[i].wirelen) {
          ++c.truncated_drops;  // only part of it is here: it cannot be forwarded
        } else {
          tx_[out++] = frames_[i];
          sent_[i] = true;
        }
      }
      if (stage != nullptr) stage->BeginTransmit();
      const size_t sent = path.tx->Transmit({tx_.data(), out});
      c.forwarded += sent;
      const size_t sent_back = back > 0 ? path.rx->Transmit({back_.data(), back}) : 0;
      c.program_tx_sent += sent_back;
      // Every frame handed to the calls shares them, taken or not (those are the frames marked
      // sent): the calls are charged in full, and once.
      if (stage != nullptr) stage->EndTransmit(out + back);
    }
    if (stage != nullptr) stage->EndBatch(sent_, rule_drop_, path.rx->MoreWaiting());
    path.rx->Release();
    return true;
  }

  // Acts on what the tenant's programs decided for frame i (admitted): a frame they rewrote and
  // passed is forwarded as rewritten; XDP_TX (or a redirect to the interface it came in on) queues
  // it in back_[back] to leave through path.rx, returning 1; a redirect to the link's other
  // interface forwards it uninspected; XDP_DROP and XDP_ABORTED drop it. Beside a link (no
  // path.tx) nothing is sent: the verdicts are only counted.
  size_t ApplyProgramVerdict(TenantStage& stage, size_t i, const Path& path, size_t back) {
    LaneCounters& c = lane_.counters;
    net::Frame& f = frames_[i];
    const std::span<uint8_t> bytes = stage.rewritten(i);
    if (!bytes.empty()) {
      // The program saw (and may have changed) a copy with its checksum finished.
      f.data = bytes.data();
      f.wirelen = uint32_t(bytes.size()) + (f.wirelen - f.caplen);
      f.caplen = uint32_t(bytes.size());
      f.checksum_partial = false;
      f.offload.flags &= uint8_t(~net::kNeedsCsum);
    }
    switch (stage.action(i)) {
      case ebpf::kXdpPass:
        return 0;
      case ebpf::kXdpTx:
        ++c.program_tx;
        break;
      case ebpf::kXdpRedirect:
        ++c.program_redirects;
        if (path.tx != nullptr && stage.redirect_ifindex(i) == path.tx_ifindex) {
          return 0;  // forwarded below, uninspected
        }
        if (stage.redirect_ifindex(i) != path.rx_ifindex) {
          ++c.redirect_errors;  // an interface vigil does not hold
          drop_[i] = true;
          return 0;
        }
        break;
      default:
        ++c.program_drops;
        drop_[i] = true;
        return 0;
    }
    drop_[i] = true;  // not forwarded: it goes back
    if (path.tx == nullptr || f.caplen < f.wirelen) return 0;
    back_[back] = f;
    sent_[i] = true;
    return 1;
  }

  void Reject(const packet::Packet& p, RejectTargets t, const Path& path) {
    if (!t.source && !t.destination) return;
    std::array<uint8_t, net::kMaxReplyBytes> buf;
    auto send = [&](net::Port& port, size_t len, uint64_t& counter) {
      if (len == 0) return;
      net::Frame f{.data = buf.data(), .caplen = uint32_t(len), .wirelen = uint32_t(len)};
      counter += port.Transmit({&f, 1});
    };
    LaneCounters& c = lane_.counters;
    if (p.has_tcp) {
      // Back out of the interface the packet came in on, and on to where it was going.
      if (t.source)
        send(*path.rx, net::BuildTcpReset(p, net::ReplyTo::kSource, buf), c.resets_sent);
      if (t.destination) {
        send(*path.tx, net::BuildTcpReset(p, net::ReplyTo::kDestination, buf), c.resets_sent);
      }
    } else if (t.source) {
      send(*path.rx, net::BuildPortUnreachable(p, buf), c.unreachables_sent);
    }
  }

  Lane& lane_;
  Shared& shared_;
  std::array<net::Frame, packet::Batch::kMaxPackets> frames_;
  std::array<net::Frame, packet::Batch::kMaxPackets> tx_;
  std::array<net::Frame, packet::Batch::kMaxPackets> back_;  // sent back by tenant programs
  std::array<packet::Packet, packet::Batch::kMaxPackets> packets_;
  std::array<bool, packet::Batch::kMaxPackets> drop_{};
  // Per frame: its size, whether a rule dropped it, whether it was transmitted (for the
  // tenant stage).
  std::array<bool, packet::Batch::kMaxPackets> rule_drop_{};
  std::array<bool, packet::Batch::kMaxPackets> sent_{};
  std::optional<TenantStage> stage_;  // when lane_.tenants
};

void Pin(std::thread& t, uint32_t index) {
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(index % cores, &set);
  (void)pthread_setaffinity_np(t.native_handle(), sizeof set, &set);
}

// What the control plane sees of the run (engine/live_view.h).
class RunView : public LiveView {
 public:
  RunView(std::vector<std::unique_ptr<Lane>>& lanes, Shared& shared, LiveSignals& signals,
          std::vector<std::string> interfaces, bool inline_mode)
      : lanes_(lanes),
        shared_(shared),
        signals_(signals),
        interfaces_(std::move(interfaces)),
        inline_mode_(inline_mode) {}
  std::vector<CounterSum> WorkerCounters() override {
    uint64_t epoch = shared_.stats_epoch.fetch_add(1) + 1;
    auto deadline = Clock::now() + std::chrono::seconds(1);
    std::vector<CounterSum> out(lanes_.size());
    for (size_t i = 0; i < lanes_.size(); ++i) {
      Lane& lane = *lanes_[i];
      while (lane.snapshot_epoch.load(std::memory_order_acquire) < epoch &&
             Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      std::lock_guard lock(lane.snapshot_mu);
      out[i] = lane.snapshot;
    }
    return out;
  }
  void RequestReload() override { signals_.reload.store(true); }
  void RequestStop() override { signals_.stop.store(true); }
  std::vector<std::string> Interfaces() const override { return interfaces_; }
  uint32_t workers() const override { return uint32_t(lanes_.size()); }
  bool inline_mode() const override { return inline_mode_; }
  uint64_t cycles_per_second() const override { return shared_.clock->cycles_per_second(); }
  uint64_t rules() const override {
    std::lock_guard lock(shared_.plan_mu);
    return shared_.plan->rule_count();
  }

 private:
  std::vector<std::unique_ptr<Lane>>& lanes_;
  Shared& shared_;
  LiveSignals& signals_;
  const std::vector<std::string> interfaces_;
  const bool inline_mode_;
};

// The process's peak resident memory (VmHWM) in bytes; resettable through clear_refs.
uint64_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}
void ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
}

}  // namespace

base::Result<LiveLink> ParseLink(std::string_view text) {
  LiveLink link;
  size_t colon = text.find(':');
  link.in = std::string(text.substr(0, colon));
  if (colon != std::string_view::npos) {
    link.out = std::string(text.substr(colon + 1));
    if (link.out.empty())
      return base::MakeError("-i " + std::string(text) + ": no interface after ':'");
  }
  if (link.in.empty()) return base::MakeError("-i " + std::string(text) + ": no interface name");
  if (link.in == link.out) {
    return base::MakeError("-i " + std::string(text) + ": an inline pair needs two interfaces");
  }
  return link;
}

base::Result<RunOutcome> RunLive(std::shared_ptr<const detect::DetectionPlan> plan,
                                 const LiveOptions& options, LiveSignals& signals,
                                 const PlanBuilder& reload) {
  auto log = options.log ? options.log
                         : [](const std::string& line) { fmt::print(stderr, "vigil: {}\n", line); };
  std::error_code ec;
  std::filesystem::create_directories(options.log_dir, ec);
  if (ec) return base::Error{ec.message(), options.log_dir};
  if (options.links.empty()) return base::MakeError("no interface to capture on");
  bool inline_mode = false;
  for (const LiveLink& l : options.links) inline_mode |= l.is_inline();

  Shared shared;
  shared.fail_open = options.fail_open;
  shared.busy_poll = options.busy_poll;
  shared.plan = plan;
  shared.event_filter = plan->event_filter().NewSharedFilter();
  if (auto s = shared.outputs.Open(options, inline_mode); !s) return s.error();

  // Lanes, and their ports: every interface's members are opened in worker order (fanout
  // membership follows it).
  const uint32_t workers = std::max<uint32_t>(options.workers, 1);
  std::vector<std::unique_ptr<Lane>> lanes;
  for (uint32_t i = 0; i < workers; ++i) {
    auto lane = std::make_unique<Lane>();
    lane->index = i;
    lane->plan = plan;
    WorkerConfig config = options.worker;
    config.id = i;
    config.inline_mode = config.inline_mode || inline_mode;
    config.event_filter = shared.event_filter;
    auto w = Worker::Create(*plan, config);
    if (!w) return w.error();
    lane->worker = std::move(*w);
    lane->config = config;
    lanes.push_back(std::move(lane));
  }
  auto open = [&](const std::string& name, uint32_t member,
                  bool forwarding) -> base::Result<net::Port*> {
    auto port = net::OpenPort({.interface = name,
                               .backend = options.backend,
                               .members = workers,
                               .member = member,
                               .shards = options.shards,
                               .shard = options.shard,
                               .block_bytes = options.ring_block_bytes,
                               .blocks = options.ring_blocks,
                               .block_timeout_ms = 1,
                               .busy_poll = options.busy_poll,
                               .ignore_outgoing = forwarding});
    if (!port) return port.error();
    net::Port* p = port->get();
    lanes[member]->ports.push_back(std::move(*port));
    return p;
  };
  // The interfaces by index, for the tenants' `interfaces` selectors.
  std::vector<std::string> interfaces;
  auto index_of = [&](const std::string& name) {
    auto it = std::find(interfaces.begin(), interfaces.end(), name);
    if (it != interfaces.end()) return uint32_t(it - interfaces.begin());
    interfaces.push_back(name);
    return uint32_t(interfaces.size() - 1);
  };
  for (const LiveLink& link : options.links) {
    const uint32_t in_index = index_of(link.in);
    const uint32_t out_index = link.is_inline() ? index_of(link.out) : 0;
    for (uint32_t i = 0; i < workers; ++i) {
      auto in = open(link.in, i, link.is_inline());
      if (!in) return in.error();
      const uint32_t in_ifindex = ::if_nametoindex(link.in.c_str());
      if (!link.is_inline()) {
        lanes[i]->paths.push_back({*in, nullptr, in_index, in_ifindex, 0});
        continue;
      }
      auto out = open(link.out, i, true);
      if (!out) return out.error();
      const uint32_t out_ifindex = ::if_nametoindex(link.out.c_str());
      lanes[i]->paths.push_back({*in, *out, in_index, in_ifindex, out_ifindex});
      lanes[i]->paths.push_back({*out, *in, out_index, out_ifindex, in_ifindex});
    }
  }
  auto clock = tenant::CycleClock::Calibrate();
  if (!clock) return clock.error();
  shared.clock = *clock;
  // A tenant table for the run (reloads replace it), an admission and accounting stage per
  // worker (each worker's CPU is shared out on its own).
  auto build_tenants = [&](const std::vector<tenant::TenantSpec>& specs,
                           const std::vector<TenantPlan>& plans)
      -> base::Result<std::shared_ptr<const tenant::TenantTable>> {
    if (specs.empty()) return std::shared_ptr<const tenant::TenantTable>();
    for (const tenant::TenantSpec& spec : specs) {
      bool compiled = false;
      for (const TenantPlan& p : plans) compiled |= p.tenant == spec.name && p.plan != nullptr;
      if (!spec.rule_files.empty() && !compiled) {
        return base::MakeError("tenant '" + spec.name + "': its rules were not compiled");
      }
    }
    // A reload keeps the chains (and maps) of tenants whose programs have not changed.
    auto table = tenant::TenantTable::Build(specs, interfaces, shared.tenant_table.get());
    if (!table) return table.error();
    return std::make_shared<const tenant::TenantTable>(std::move(*table));
  };
  {
    auto table = build_tenants(options.tenants, options.tenant_plans);
    if (!table) return table.error();
    shared.tenant_table = *table;
    shared.tenant_plans = options.tenant_plans;
    shared.inline_run = inline_mode;
    if (*table != nullptr && !clock->invariant()) {
      log("tenants: the CPU does not report an invariant TSC; cycle counts may drift with "
          "frequency changes");
    }
    for (auto& lane : lanes) {
      lane->tenant_table = *table;
      if (*table == nullptr) continue;
      auto acct = tenant::TenantAccounting::Create(**table, *clock);
      if (!acct) return acct.error();
      lane->tenants.emplace(std::move(*acct));
      if (auto st = lane->groups.Update(table->get(), options.tenant_plans, lane->plan,
                                        lane->config, inline_mode);
          !st) {
        return st.error();
      }
    }
  }
  if (options.after_open) {
    if (auto s = options.after_open(); !s) return s.error();
  }

  RunOutcome outcome;
  output::RunSummary& s = outcome.summary;
  // From here on the lanes (and `shared`) hold the plan: a reload frees it with its last lane.
  plan.reset();
  const auto start = Clock::now();
  for (auto& lane : lanes) {
    Lane* l = lane.get();
    l->thread = std::thread([l, &shared] { LaneRunner(*l, shared).Run(); });
    // Shard I's workers take the cores after those of shards 0..I-1 (one host, N processes).
    if (options.pin_workers) Pin(l->thread, options.shard * workers + l->index);
    // "vigil-w0", ...: top -H and /proc/PID/task/*/comm tell the workers apart.
    (void)pthread_setname_np(l->thread.native_handle(), fmt::format("vigil-w{}", l->index).c_str());
  }
  {
    std::string names;
    for (const LiveLink& l : options.links) {
      names += (names.empty() ? "" : ", ") + (l.is_inline() ? l.in + " <-> " + l.out : l.in);
    }
    log(fmt::format("capturing on {} ({}, {} worker{}{})", names, inline_mode ? "inline" : "IDS",
                    workers, workers == 1 ? "" : "s",
                    options.shards > 1 ? fmt::format(", shard {}/{}", options.shard, options.shards)
                                       : std::string()));
    if (options.backend == net::Backend::kAfXdp && workers > 1) {
      // AF_XDP cannot move frames between queues (net/af_xdp.h): flows stay whole only if the
      // interface spreads them over its queues by a symmetric hash.
      log("afxdp: worker i reads queue i; a flow stays on one worker only if the interface "
          "hashes both directions alike (symmetric RSS); veth does not");
    }
  }
  RunView view(lanes, shared, signals, interfaces, inline_mode);
  if (options.observer != nullptr) options.observer->Attach(view);
  auto tenant_names = [&] {
    std::vector<std::string> names;
    std::lock_guard lock(shared.plan_mu);
    if (shared.tenant_table == nullptr) return names;
    for (uint32_t t = 0; t < shared.tenant_table->size(); ++t)
      names.push_back(shared.tenant_table->spec(t).name);
    return names;
  };
  auto record_reload = [&](bool ok, double secs, std::string error) {
    if (options.observer == nullptr) return;
    ReloadRecord r{.unix_time = std::chrono::duration<double>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count(),
                   .ok = ok,
                   .seconds = secs,
                   .rules = view.rules(),
                   .tenants = tenant_names(),
                   .error = std::move(error)};
    options.observer->OnReload(r);
  };

  // Reload bookkeeping: the build thread and what it produced.
  struct ReloadState {
    std::thread thread;
    std::atomic<bool> done{false};
    std::optional<base::Result<Reloaded>> result;
    Clock::time_point started;
    uint64_t rss_before = 0;
  };
  std::unique_ptr<ReloadState> pending;
  uint64_t reloads = 0, reload_failures = 0, last_reload_us = 0, reload_peak_rss = 0;
  bool trim_after_switch = false;

  auto write_stats = [&](const CounterSum& counters, double seconds) -> base::Status {
    output::RunSummary snap;
    snap.seconds = seconds;
    snap.packets = counters.Get("capture.frames");
    snap.bytes = counters.Get("capture.bytes");
    snap.alerts = shared.outputs.alerts();
    for (const auto& [name, v] : counters.counters()) snap.Add(name, v);
    snap.Add("engine.threads", workers);
    snap.Add("reload.count", reloads);
    snap.Add("reload.failures", reload_failures);
    snap.Add("reload.last_us", last_reload_us);
    snap.Add("reload.peak_rss_bytes", reload_peak_rss);
    snap.startup = options.startup;
    auto stats = output::BufferedFile::Open(options.log_dir + "/stats.json");
    if (!stats) return stats.error();
    (*stats)->Append(snap.ToJson());
    if (auto st = (*stats)->Flush(); !st) return st;
    s = std::move(snap);
    return {};
  };
  // Asks every worker for its counters and sums what they published (a worker answers within
  // its poll timeout).
  auto snapshot = [&]() {
    CounterSum sum;
    for (const CounterSum& worker : view.WorkerCounters()) {
      for (const auto& [name, v] : worker.counters()) sum.Add(name, v);
    }
    return sum;
  };

  auto last_flush = Clock::now();
  auto last_stats = Clock::now();
  while (!signals.stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (signals.reload.exchange(false)) {
      if (pending) {
        log("reload: one is already in progress; this request is merged with it");
      } else {
        pending = std::make_unique<ReloadState>();
        ResetPeakRss();
        pending->rss_before = PeakRssBytes();
        pending->started = Clock::now();
        ReloadState* r = pending.get();
        pending->thread = std::thread([r, &reload] {
          r->result.emplace(reload());
          r->done.store(true, std::memory_order_release);
        });
      }
    }
    if (pending && pending->done.load(std::memory_order_acquire)) {
      pending->thread.join();
      double secs = SecondsSince(pending->started);
      auto& result = *pending->result;
      base::Result<std::shared_ptr<const tenant::TenantTable>> table =
          result ? build_tenants(result->tenants, result->tenant_plans)
                 : base::Result<std::shared_ptr<const tenant::TenantTable>>(result.error());
      if (!result || !table) {
        ++reload_failures;
        const std::string why = (result ? table.error() : result.error()).ToString();
        log("reload failed, the running rules and tenants stay: " + why);
        record_reload(false, secs, why);
      } else {
        {
          std::lock_guard lock(shared.plan_mu);
          shared.plan = result->plan;
          shared.tenant_table = *table;
          shared.tenant_plans = result->tenant_plans;
          // Threshold windows go on: the new counters start from the old ones. (What workers
          // count in the old filter until their switch, a batch or so, is not carried.)
          auto filter = result->plan->event_filter().NewSharedFilter();
          filter->CarryCounters(*shared.event_filter);
          shared.event_filter = std::move(filter);
        }
        shared.plan_generation.fetch_add(1, std::memory_order_release);
        trim_after_switch = true;
        ++reloads;
        last_reload_us = uint64_t(secs * 1e6);
        reload_peak_rss = PeakRssBytes();
        log(fmt::format("reload: {} rules in {:.3f} s, peak resident memory {} MiB",
                        result->plan->rule_count(), secs, reload_peak_rss >> 20));
        record_reload(true, secs, "");
      }
      pending.reset();
    }
    if (trim_after_switch) {
      // Once every worker runs on the new plan the old one is gone; its memory, freed on the
      // workers' and the build thread's malloc arenas, goes back to the system instead of
      // lingering there reload after reload.
      const uint64_t g = shared.plan_generation.load();
      bool all = true;
      for (auto& lane : lanes) all &= lane->plan_generation.load(std::memory_order_acquire) == g;
      if (all) {
        malloc_trim(0);
        trim_after_switch = false;
      }
    }
    if (signals.reopen.exchange(false)) {
      if (auto st = shared.outputs.Reopen(); !st) {
        log("cannot reopen the alert files: " + st.error().ToString());
      } else {
        log("alert files reopened");
      }
    }
    if (SecondsSince(last_flush) >= 1.0) {
      last_flush = Clock::now();
      if (auto st = shared.outputs.Flush(); !st)
        log("cannot write alerts: " + st.error().ToString());
    }
    if (options.stats_interval_s > 0 && SecondsSince(last_stats) >= options.stats_interval_s) {
      last_stats = Clock::now();
      if (auto st = write_stats(snapshot(), SecondsSince(start)); !st) {
        log("cannot write stats.json: " + st.error().ToString());
      }
    }
  }
  if (options.observer != nullptr) options.observer->Detach();
  shared.stop.store(true);
  for (auto& lane : lanes) lane->thread.join();
  if (pending) pending->thread.join();
  double seconds = SecondsSince(start);
  CounterSum counters;
  for (auto& lane : lanes) CollectCounters(*lane, counters);
  if (auto st = shared.outputs.Flush(); !st) return st.error();
  if (auto st = write_stats(counters, seconds); !st) return st.error();
  if (options.print_summary) std::fputs(s.ToText().c_str(), stderr);
  return outcome;
}

}  // namespace vigil::engine

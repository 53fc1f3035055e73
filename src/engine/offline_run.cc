#include "engine/offline_run.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>

#include "decode/decoder.h"
#include "ebpf/scratch.h"
#include "engine/parallel.h"
#include "engine/tenant_groups.h"
#include "engine/tenant_stage.h"
#include "io/capture_source.h"
#include "net/af_packet.h"
#include "output/alert_writers.h"
#include "packet/batch.h"

namespace vigil::engine {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The live progress line, redrawn in place at most a few times a second.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {}

  void Update(uint64_t packets, uint64_t bytes, uint64_t alerts, uint64_t read, uint64_t total) {
    if (!enabled_ || (packets & 1023) != 0) return;
    double elapsed = SecondsSince(start_);
    if (elapsed < 1.0 || elapsed - last_ < 0.25) return;
    last_ = elapsed;
    // Bytes read of the total, packets per second, alerts, and the time left at this pace.
    std::string of_total;
    if (total > 0 && read > 0) {
      const double left = elapsed * double(total - std::min(read, total)) / double(read);
      of_total = fmt::format("{:.1f}/{:.1f} MiB ({:.1f}%)  ETA {:.0f} s  ", double(read) / 1048576,
                             double(total) / 1048576, 100.0 * double(read) / double(total), left);
    }
    fmt::print(stderr, "\r{}{:.0f} packets/s  {:.1f} Mbit/s  {} alerts\x1b[K", of_total,
               double(packets) / elapsed, double(bytes) * 8 / elapsed / 1e6, alerts);
    shown_ = true;
  }
  void Finish() {
    if (shown_) fmt::print(stderr, "\r\033[K");
  }

 private:
  bool enabled_;
  bool shown_ = false;
  Clock::time_point start_ = Clock::now();
  double last_ = 0;
};

}  // namespace

base::Result<RunOutcome> RunOffline(const detect::DetectionPlan& plan, const RunOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.log_dir, ec);
  if (ec) return base::Error{ec.message(), options.log_dir};
  std::unique_ptr<output::AlertFastWriter> fast;
  std::unique_ptr<output::EveWriter> eve;
  if (options.alert_fast) {
    auto w = output::AlertFastWriter::Open(options.log_dir + "/alert_fast.txt");
    if (!w) return w.error();
    fast = std::move(*w);
  }
  if (options.eve_json) {
    auto w = output::EveWriter::Open(options.log_dir + "/eve.json", options.worker.inline_mode);
    if (!w) return w.error();
    eve = std::move(*w);
  }
  RunOutcome outcome;
  decode::Decoder decoder;
  packet::Batch batch;
  Progress progress(options.progress);
  output::RunSummary& s = outcome.summary;
  std::mutex output_mu;  // workers write alerts concurrently when there are several
  auto write_alerts = [&](const PacketResult& r) {
    output::AlertMeta meta{.flow_id = r.flow_id,
                           .rebuilt = r.rebuilt,
                           .packet_alerts = r.alerts,
                           .alert_only = r.alert_only};
    for (const detect::Alert& a : r.alerts) {
      if (fast) fast->Write(*r.packet, a, r.alert_only);
      if (eve) eve->Write(*r.packet, a, meta);
    }
  };

  // One worker on this thread, or a pool of them fed by this thread.
  std::unique_ptr<Worker> worker;
  std::unique_ptr<WorkerPool> pool;
  std::atomic<uint64_t> pool_alerts{0};
  if (options.threads <= 1) {
    auto w = Worker::Create(plan, options.worker);
    if (!w) return w.error();
    worker = std::move(*w);
  } else {
    auto p = WorkerPool::Create(plan, options.threads, options.worker, [&](const PacketResult& r) {
      if (r.alerts.empty()) return;
      pool_alerts.fetch_add(r.alerts.size(), std::memory_order_relaxed);
      std::lock_guard lock(output_mu);
      write_alerts(r);
    });
    if (!p) return p.error();
    pool = std::move(*p);
  }

  // Tenant accounting (one packet thread): every packet is inspected, and charged to its tenant.
  std::optional<tenant::TenantTable> tenant_table;
  std::optional<tenant::TenantAccounting> accounting;
  std::optional<TenantStage> stage;
  ebpf::Scratch scratch;  // the tenants' programs' runs
  TenantGroups groups;    // tenants with their own rules or policy
  if (!options.tenants.empty() && worker) {
    auto table = tenant::TenantTable::Build(options.tenants, {});
    if (!table) return table.error();
    tenant_table = std::move(*table);
    auto clock = tenant::CycleClock::Calibrate();
    if (!clock) return clock.error();
    auto acct = tenant::TenantAccounting::Create(*tenant_table, *clock);
    if (!acct) return acct.error();
    accounting.emplace(std::move(*acct));
    stage.emplace(*accounting);
    // (The plan outlives the run: the groups hold it without owning it.)
    const std::shared_ptr<const detect::DetectionPlan> main_plan(
        std::shared_ptr<const detect::DetectionPlan>(), &plan);
    if (auto st = groups.Update(&*tenant_table, options.tenant_plans, main_plan, options.worker,
                                options.worker.inline_mode);
        !st) {
      return st.error();
    }
  }
  std::array<bool, packet::Batch::kMaxPackets> rule_drop{};
  const std::array<bool, packet::Batch::kMaxPackets> not_sent{};

  auto start = Clock::now();
  auto source = io::CaptureSource::Open(options.input);
  if (!source) {
    outcome.error = source.error();
  } else {
    while (true) {
      batch.Clear();
      if (stage) stage->BeginBatch();
      auto n = (*source)->ReadBatch(batch);
      if (!n) {
        outcome.error = n.error();
        break;
      }
      if (*n == 0) break;
      decoder.DecodeBatch(batch);
      if (options.shard_count > 1) {
        batch.Retain([&](const packet::Packet& p) {
          // The outermost addresses, as the kernel's filter of a live shard reads them.
          const packet::Packet* o = &p;
          while (o->outer != nullptr) o = o->outer;
          if (o->ip_version == 0) return options.shard_index == 0;
          const size_t len = o->ip_version == 4 ? 4 : 16;
          return net::ShardOfAddressPair({o->src_ip.bytes.data(), len},
                                         {o->dst_ip.bytes.data(), len},
                                         options.shard_count) == options.shard_index;
        });
      }
      if (pool) {
        for (const packet::Packet& p : batch) {
          ++s.packets;
          s.bytes += p.caplen;
          pool->Submit(p);
        }
        progress.Update(s.packets, s.bytes, pool_alerts.load(), (*source)->bytes_read(),
                        (*source)->total_bytes());
        continue;
      }
      // `packets` counts what the capture holds (as tcpdump -r does); the packets decoded from
      // tunnels and rebuilt from fragments are counted by decode.packets.
      std::span<const packet::Packet> inspect{batch.begin(), batch.end()};
      for (size_t i = 0; i < batch.size(); ++i) {
        ++s.packets;
        s.bytes += batch[i].caplen;
        rule_drop[i] = false;
      }
      if (stage) {
        // The tenants' programs run here too; what they drop or send back is not inspected.
        const TenantStage::Programs programs{.scratch = &scratch};
        inspect = stage->Admit({batch.begin(), batch.end()}, 0, /*admission=*/false, &programs,
                               groups.group_of_tenant());
      }
      bool may_drop = true;  // the pipeline's policy (TenantGroups)
      const Worker::Sink sink = [&](const PacketResult& r) {
        if (stage) rule_drop[stage->OnResult(r)] |= r.drop && may_drop;
        write_alerts(r);
        s.alerts += r.alerts.size();
        progress.Update(s.packets, s.bytes, s.alerts, (*source)->bytes_read(),
                        (*source)->total_bytes());
      };
      if (groups.size() == 0) {
        worker->Process(inspect, sink);
      } else {
        for (size_t g = 0; g <= groups.size(); ++g) {
          if (stage->group(g).empty()) continue;
          may_drop = g == 0 || groups.may_drop(g);
          (g == 0 ? *worker : groups.worker(g)).Process(stage->group(g), sink);
        }
      }
      if (stage) stage->EndBatch(not_sent, rule_drop);
    }
  }
  if (pool) {
    pool->Finish();
    s.alerts = pool_alerts.load();
  }
  progress.Finish();
  s.seconds = SecondsSince(start);

  // Decode counters cover the captured packets and the datagrams rebuilt from fragments; the
  // workers' counters are added up by name.
  CounterSum counters;
  decoder.stats().ForEach([&](std::string_view name, uint64_t v) { counters.Add(name, v); });
  auto add_worker = [&](const Worker& w) {
    w.rebuilt_decoder().stats().ForEach(
        [&](std::string_view name, uint64_t v) { counters.Add(name, v); });
    w.ForEachStat([&](std::string_view name, uint64_t v) { counters.Add(name, v); });
  };
  if (pool) {
    for (uint32_t i = 0; i < pool->size(); ++i) add_worker(pool->worker(i));
  } else {
    add_worker(*worker);
  }
  if (accounting) {
    accounting->ForEachStat([&](std::string_view name, uint64_t v) { counters.Add(name, v); });
    groups.ForEachStat([&](std::string_view name, uint64_t v) { counters.Add(name, v); });
  }
  s.Add("capture.packets", s.packets);
  for (const auto& [name, v] : counters.counters()) s.Add(name, v);
  s.Add("engine.threads", pool ? pool->size() : 1);
  s.startup = options.startup;

  if (fast) {
    if (auto st = fast->Flush(); !st) return st.error();
  }
  if (eve) {
    if (auto st = eve->Flush(); !st) return st.error();
  }
  auto stats = output::BufferedFile::Open(options.log_dir + "/stats.json");
  if (!stats) return stats.error();
  (*stats)->Append(s.ToJson());
  if (auto st = (*stats)->Flush(); !st) return st.error();
  if (options.print_summary) std::fputs(s.ToText().c_str(), stderr);
  return outcome;
}

}  // namespace vigil::engine

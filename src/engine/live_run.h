// LiveRun: vigil on network interfaces — as an IDS beside a link (`-i eth0`) or inline between
// two interfaces (`-i eth0:eth1`), with N workers, each pinned to a core.
//
//   engine::LiveOptions opts{.links = {{"veth-a", "veth-b"}}, .workers = 2, .log_dir = "out"};
//   engine::LiveSignals signals;                  // set from signal handlers
//   auto outcome = engine::RunLive(plan, opts, signals, rebuild_plan);
//
// Each worker owns one member of every interface's fanout group (net/port.h: both directions
// of an address pair reach the same worker), a decoder and an engine::Worker, and runs to
// completion: it sleeps in poll() until a ring block is ready, decodes the block's frames in
// place, runs them through the worker, and — inline — transmits the frames no drop rule stopped
// on the link's other interface, then hands the block back. A `reject` also sends TCP resets (or
// an ICMP port unreachable) as the rule asks: `reject` and `rejectboth` to both ends, `rejectsrc`
// to the sender, `rejectdst` to the receiver.
//
// Overload (inline): when a worker finds more than three quarters of an interface's ring waiting
// behind the block it is on, it sheds that block uninspected — dropped (fail-closed, the default,
// `capture.overload_drops`) or forwarded (fail-open, `capture.bypassed`) — until it catches up.
//
// Reload without loss (SIGUSR2 sets LiveSignals::reload): the `reload` callback builds a new plan
// on a thread of its own while the workers go on with the old one; each worker switches between
// two batches (Worker::SwapPlan: flows, streams and flowbits survive), and the old plan is freed
// when the last worker has let go of it. A failed build keeps the old plan and logs why. Threshold
// counters carry over to the new plan's rules of the same gen_id:sig_id and settings
// (EventFilter::CarryCounters). The tenant table is reloaded with the rules: each worker takes
// the new table between two batches; per-tenant totals carry over by name, token balances
// start afresh. A tenant table that does not build fails the reload.
//
// Outputs: alerts are written as they happen and flushed at least every second; SIGHUP
// (LiveSignals::reopen) reopens alert_fast.txt and eve.json (logrotate); stats.json is rewritten
// every `stats_interval_s` and at exit. SIGINT/SIGTERM (LiveSignals::stop): capture stops, the
// workers finish their blocks, alerts are flushed, stats.json written, and RunLive returns.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "detect/detector.h"
#include "engine/live_view.h"
#include "engine/offline_run.h"
#include "engine/tenant_groups.h"
#include "engine/worker.h"
#include "net/port.h"
#include "tenant/tenant_table.h"

namespace vigil::engine {

// One monitored interface (out empty) or an inline pair: frames from `in` leave on `out` and
// frames from `out` leave on `in`.
struct LiveLink {
  std::string in;
  std::string out;
  [[nodiscard]] bool is_inline() const { return !out.empty(); }
};

// "eth0" or "eth0:eth1"; fails on an empty name.
[[nodiscard]] base::Result<LiveLink> ParseLink(std::string_view text);

struct LiveOptions {
  std::vector<LiveLink> links;
  net::Backend backend = net::Backend::kAfPacket;
  uint32_t workers = 1;
  // --shard I/N: this process takes share `shard` of `shards` of every interface's flows
  // (net::PortOptions::shards; AF_PACKET). Inline, only that share is forwarded by this process.
  uint32_t shard = 0;
  uint32_t shards = 1;
  bool fail_open = false;      // overload: forward uninspected instead of dropping
  bool busy_poll = false;      // spin on the rings instead of sleeping in poll()
  bool pin_workers = true;     // worker i on core shard * workers + i (modulo the cores)
  uint32_t ring_blocks = 256;  // net::PortOptions explains the defaults
  uint32_t ring_block_bytes = 1 << 17;
  double stats_interval_s = 0;  // 0: stats.json at exit only
  std::string log_dir = ".";
  bool alert_fast = true;
  bool eve_json = true;
  bool print_summary = true;
  WorkerConfig worker;  // inline_mode is set for inline links
  // Tenants (tenant/tenant_table.h): each packet is charged to its tenant and admitted by the
  // tenant's fair share of its worker's CPU (tenant/scheduler.h). Empty: no tenant stage.
  std::vector<tenant::TenantSpec> tenants;
  // The rules of tenants that have their own (engine/tenant_groups.h), compiled.
  std::vector<TenantPlan> tenant_plans;
  std::vector<std::pair<std::string, double>> startup;
  // Called once every port is open, before any packet is read: where the CLI drops privileges.
  std::function<base::Status()> after_open;
  // Called with a line for the log (reloads, their failures, reopened files); default stderr.
  std::function<void(const std::string&)> log;
  // The control plane (engine/live_view.h), when there is one; must outlive the run.
  LiveObserver* observer = nullptr;
};

struct LiveSignals {
  std::atomic<bool> stop{false};
  std::atomic<bool> reload{false};
  std::atomic<bool> reopen{false};
};

// What a reload switches to: the new plan, the tenants the configuration now names and the rules
// of those that have their own.
struct Reloaded {
  std::shared_ptr<const detect::DetectionPlan> plan;
  std::vector<tenant::TenantSpec> tenants;
  std::vector<TenantPlan> tenant_plans;
};
// Builds it (re-reading configuration and rules), or says why not.
using PlanBuilder = std::function<base::Result<Reloaded>()>;

// Runs until signals.stop. Fails before capturing when an interface cannot be opened (missing,
// no privileges: the message names it) or an output file cannot be created.
[[nodiscard]] base::Result<RunOutcome> RunLive(std::shared_ptr<const detect::DetectionPlan> plan,
                                               const LiveOptions& options, LiveSignals& signals,
                                               const PlanBuilder& reload);

}  // namespace vigil::engine

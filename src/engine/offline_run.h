// OfflineRun: reads a capture file (or a directory of them) and runs every packet through the
// stages — decode, detect, alert outputs — in batches of up to 32, on the calling thread.
//
//   engine::RunOptions opts{.input = "trace.pcap", .log_dir = "out"};
//   auto summary = engine::RunOffline(plan, opts);
//
// Alerts found before a capture error are written and flushed; the error is then returned in
// RunOutcome::error. A live progress line goes to stderr when it is a terminal and the run lasts
// over a second.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "detect/detector.h"
#include "engine/tenant_groups.h"
#include "engine/worker.h"
#include "output/summary.h"
#include "tenant/tenant_table.h"

namespace vigil::engine {

struct RunOptions {
  std::string input;          // file or directory
  std::string log_dir = ".";  // where alert_fast.txt, eve.json and stats.json go
  bool alert_fast = true;
  bool eve_json = true;
  bool progress = true;       // only shown when stderr is a terminal
  bool print_summary = true;  // the human summary on stderr
  // Flows, TCP tracking, reassembly, defragmentation; worker.inline_mode also makes EVE report
  // drops as alert.action "blocked" (Suricata's --simulate-ips on a capture).
  WorkerConfig worker;
  // Packet threads: 1 runs everything on the calling thread; more run a WorkerPool (parallel.h)
  // fed by the calling thread, which reads and decodes.
  uint32_t threads = 1;
  // --shard I/N: only the packets whose outermost address pair hashes (net::ShardOfAddressPair,
  // symmetric) to share I of N are read on; N processes or machines with I = 0..N-1 split a
  // capture without splitting a flow (or a fragmented datagram), exactly as `-i --shard I/N`
  // splits a live interface. 1: everything.
  uint32_t shard_index = 0;
  uint32_t shard_count = 1;
  // Tenants (tenant/tenant_table.h): with one packet thread, each packet is charged to its
  // tenant (tenant.NAME.* counters) and runs through the tenant's programs; offline every packet
  // is admitted (no tokens: a capture is read as fast as it can be, so tokens would only measure
  // this machine's speed), and what the programs pass is inspected. Ignored with several
  // threads.
  std::vector<tenant::TenantSpec> tenants;
  // The rules of tenants that have their own (engine/tenant_groups.h), compiled.
  std::vector<TenantPlan> tenant_plans;
  // Start-up figures to write in stats.json ("parse_s", ...: RunSummary::startup).
  std::vector<std::pair<std::string, double>> startup;
};

struct RunOutcome {
  output::RunSummary summary;
  std::optional<base::Error> error;  // set when the input failed part-way or could not be opened
};

// Runs the capture through `plan`. Fails outright only when an output file cannot be created;
// input errors are reported in the outcome after everything before them was processed.
[[nodiscard]] base::Result<RunOutcome> RunOffline(const detect::DetectionPlan& plan,
                                                  const RunOptions& options);

}  // namespace vigil::engine

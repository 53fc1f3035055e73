// Ops: vigil's control plane for a live run — the control socket (JSON commands, as Suricata's
// unix-command), the HTTP endpoint (Prometheus /metrics, the dashboard at /, its data at
// /api/dashboard) and the one-second history the dashboard plots. It is the run's
// engine::LiveObserver: RunLive attaches it once the workers run and detaches it before they
// stop.
//
//   control::Ops ops({.unix_socket = "/run/vigil/vigil.sock", .http = "127.0.0.1:9100"});
//   ops.SetRunConfig(control::Summarize(report, files), tenants);   // what the run loaded
//   options.observer = &ops;
//   engine::RunLive(plan, options, signals, reload);  // reload calls ops.StageRunConfig(...)
//
// Commands (one JSON object each, answered by one object and a newline):
//   {"version": "0.2"}                     -> {"return": "OK"}   (Suricata's handshake, optional)
//   {"command": "stats"}                   every counter, summed and per worker
//   {"command": "reload"}                  rules, configuration and tenants; waits for the build
//                                          and says what changed, or why it failed
//   {"command": "tenants"}                 per tenant: weight, cap, fair share, CPU share over
//                                          the last second and in all, packets, bytes, drops
//   {"command": "rules"}                   loaded, enabled, disabled by reason, failures, files
//   {"command": "reload-history"}, {"command": "command-list"}, {"command": "version"},
//   {"command": "uptime"}, {"command": "shutdown"}
// An answer is {"return": "OK", "message": ...} or {"return": "NOK", "message": "why",
// "error": {"code": "...", ...}}; codes: bad-json, not-an-object, no-command, unknown-command,
// reload-failed, reload-timeout, stopping, too-long.
//
// Cost to the data plane: counters are read from what the workers publish between two batches
// (engine/live_view.h); however many clients ask, the workers are asked at most once per
// `min_refresh_ms` (answers in between share the last snapshot) plus once a second for the
// history. The `stats` answer (control socket and /api/stats) is serialized once per snapshot
// and served as those bytes until the next: its counters are at most `min_refresh_ms` old, and
// 1,000 polls a second cost ~11 serializations (stats_answers_built(), in /metrics as
// vigil_stats_answers_built_total). OnAlerts, called for alerting packets under the outputs' lock,
// counts the alert per signature (a hash-map increment under a lock only the dashboard's
// once-a-second read shares).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "control/eve_shipper.h"
#include "control/http.h"
#include "control/stream_server.h"
#include "engine/live_view.h"
#include "rules/rule_file.h"
#include "tenant/tenant_table.h"

namespace vigil::control {

// What a rules load produced, for the `rules` command and reload diffs.
struct RulesSummary {
  size_t loaded = 0, enabled = 0, disabled = 0, failed = 0, duplicates = 0;
  std::map<std::string, size_t> disabled_by_reason;
  std::vector<std::string> failures;  // the first 20 messages
  std::vector<std::string> files;
  std::unordered_map<uint64_t, uint32_t> enabled_revs;  // gid << 32 | sid -> rev
};
[[nodiscard]] RulesSummary Summarize(const rules::LoadReport& report,
                                     const std::vector<std::string>& files);

struct OpsOptions {
  std::string unix_socket;  // empty: none
  uint32_t socket_mode = 0660;
  std::string http;  // "ADDR:PORT"; empty: none
  std::string version;
  // EVE alert records also go to these (eve_shipper.h: redis://..., kafka://...).
  std::vector<std::string> eve_outputs;
  size_t eve_queue_records = 65536;
  uint32_t max_clients = 64;
  uint32_t min_refresh_ms = 100;
  uint32_t history_seconds = 300;
  double reload_timeout_s = 600;
  // Where messages go (the socket could not be opened, ...); default stderr.
  std::function<void(const std::string&)> log;
};

class Ops : public engine::LiveObserver {
 public:
  explicit Ops(OpsOptions options);
  // Opens the EVE outputs (before the run: a malformed URL fails start-up).
  [[nodiscard]] base::Status OpenOutputs();
  ~Ops() override;

  // What the run loaded at start (rules, tenants), and what a reload in progress loaded: it
  // becomes the run's when the reload succeeds. Thread-safe.
  void SetRunConfig(RulesSummary rules, std::vector<tenant::TenantSpec> tenants);
  void StageRunConfig(RulesSummary rules, std::vector<tenant::TenantSpec> tenants);

  // engine::LiveObserver.
  void Attach(engine::LiveView& view) override;
  void Detach() override;
  void OnReload(const engine::ReloadRecord& record) override;
  void OnAlerts(const engine::PacketResult& result) override;

  // The answer to one command object (text as received); sets *stop_after when the command asks
  // the run to stop once the answer is sent.
  [[nodiscard]] std::string Handle(std::string_view request, bool* stop_after = nullptr);
  // The HTTP endpoint's routes.
  [[nodiscard]] HttpResponse Route(const HttpRequest& request);
  [[nodiscard]] std::string MetricsText();
  [[nodiscard]] nlohmann::json DashboardJson();

  // The port the HTTP endpoint listens on (0: none), once attached.
  [[nodiscard]] uint16_t http_port() const { return http_port_.load(); }
  // Starts the sampler now instead of once a second (tests).
  void SampleNow();
  // How many times the `stats` answer was serialized.
  [[nodiscard]] uint64_t stats_answers_built() const { return stats_builds_.load(); }

 private:
  struct Sample;
  struct ReloadEntry {
    engine::ReloadRecord record;
    nlohmann::json changes;  // what the reload changed (null when it failed)
  };
  struct Signature {
    uint32_t gid = 0, sid = 0, rev = 0;
    std::string msg;
    uint64_t count = 0;
  };

  // The `stats` answer built from one counter snapshot (`generation`): the message as JSON text
  // (/api/stats) and the whole answer object (the control socket).
  struct StatsText {
    uint64_t generation = 0;
    std::string message, answer;
    std::string line;  // answer and a newline, as the control socket sends it
  };
  // Handle's work: the reply's text, or for a stats request "" and the cached answer in *stats.
  std::string Answer(std::string_view request, bool* stop_after,
                     std::shared_ptr<const StatsText>* stats);

  // The workers' counters, asked for again when the last snapshot is older than max_age_ms.
  std::vector<engine::CounterSum> Counters(uint32_t max_age_ms);
  void RefreshCountersLocked(uint32_t max_age_ms);  // under counters_mu_
  nlohmann::json Dispatch(const nlohmann::json& request, bool* stop_after);
  nlohmann::json Stats(const std::vector<engine::CounterSum>& workers);
  // The answer of the current snapshot (refreshed as Counters(min_refresh_ms)), built again
  // only when the snapshot is newer than the one it was built from.
  std::shared_ptr<const StatsText> StatsAnswer();
  nlohmann::json Tenants();
  nlohmann::json Rules();
  nlohmann::json Reload();
  nlohmann::json ReloadHistory();
  void ServeCommands(Connection& conn);
  void SamplerLoop();
  void TakeSample();

  OpsOptions options_;
  std::chrono::steady_clock::time_point created_;
  engine::LiveView* view_ = nullptr;
  std::unique_ptr<StreamServer> socket_server_, http_server_;
  std::atomic<uint16_t> http_port_{0};
  std::atomic<bool> stopping_{false};

  // Counter snapshot shared by every request within min_refresh_ms.
  std::mutex counters_mu_;
  std::vector<engine::CounterSum> counters_;
  std::chrono::steady_clock::time_point counters_at_;
  uint64_t counters_generation_ = 0;  // snapshots taken (under counters_mu_)
  std::atomic<uint64_t> worker_asks_{0};
  std::mutex stats_mu_;                     // taken before counters_mu_
  std::shared_ptr<const StatsText> stats_;  // the last `stats` answer
  std::atomic<uint64_t> stats_builds_{0};

  // Run configuration, reloads.
  std::mutex mu_;
  std::condition_variable reloaded_;
  RulesSummary rules_;
  std::vector<tenant::TenantSpec> tenants_;
  std::optional<std::pair<RulesSummary, std::vector<tenant::TenantSpec>>> staged_;
  std::deque<ReloadEntry> reloads_;
  uint64_t reload_count_ = 0;

  // Alerts by signature (OnAlerts).
  std::mutex alerts_mu_;
  std::unordered_map<uint64_t, Signature> signatures_;
  std::atomic<uint64_t> alerts_{0};

  // The one-second history.
  std::mutex history_mu_;
  std::deque<nlohmann::json> history_;
  std::vector<engine::CounterSum> last_sample_counters_;
  uint64_t last_sample_alerts_ = 0;
  std::chrono::steady_clock::time_point last_sample_at_;
  std::thread sampler_;
  std::mutex sampler_mu_;
  std::condition_variable sampler_cv_;

  std::atomic<uint64_t> requests_{0}, errors_{0}, http_requests_{0};

  // EVE shipping: formatted in OnAlerts (under the run's outputs lock, so one buffer serves).
  std::vector<std::unique_ptr<EveShipper>> shippers_;
  std::atomic<bool> inline_mode_{false};
  std::string eve_line_;
};

// The dashboard page (dashboard_page.cc): one self-contained HTML document.
[[nodiscard]] std::string_view DashboardPage();

}  // namespace vigil::control

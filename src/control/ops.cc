#include "control/ops.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "control/json_stream.h"
#include "control/metrics.h"
#include "output/alert_writers.h"

namespace vigil::control {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr size_t kMaxRequestBytes = 64 << 10;
constexpr size_t kMaxReloads = 100;

const char* const kCommands[] = {"stats",        "reload",  "tenants", "rules",   "reload-history",
                                 "command-list", "version", "uptime",  "shutdown"};

json Ok(json message) { return json{{"return", "OK"}, {"message", std::move(message)}}; }

json Nok(const std::string& code, const std::string& message, json detail = json::object()) {
  detail["code"] = code;
  return json{{"return", "NOK"}, {"message", message}, {"error", std::move(detail)}};
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

engine::CounterSum Sum(const std::vector<engine::CounterSum>& workers) {
  engine::CounterSum sum;
  for (const engine::CounterSum& w : workers) {
    for (const auto& [name, v] : w.counters()) sum.Add(name, v);
  }
  return sum;
}

uint64_t Get(const std::vector<engine::CounterSum>& workers, std::string_view name) {
  uint64_t total = 0;
  for (const engine::CounterSum& w : workers) total += w.Get(name);
  return total;
}

// Per tenant, summed over workers: counter -> value.
std::map<std::string, std::map<std::string, uint64_t>> TenantTotals(
    const std::vector<engine::CounterSum>& workers) {
  std::map<std::string, std::map<std::string, uint64_t>> out;
  for (const engine::CounterSum& w : workers) {
    for (const auto& [name, v] : w.counters()) {
      std::string_view tenant, counter;
      if (SplitTenantCounter(name, tenant, counter)) {
        out[std::string(tenant)][std::string(counter)] += v;
      }
    }
  }
  return out;
}

// What a reload changed in the rules and tenants.
json Changes(const RulesSummary& before, const RulesSummary& after,
             const std::vector<tenant::TenantSpec>& tenants_before,
             const std::vector<tenant::TenantSpec>& tenants_after) {
  auto id = [](uint64_t key) { return fmt::format("{}:{}", key >> 32, key & 0xffffffffu); };
  std::vector<std::string> added, removed, changed;
  for (const auto& [key, rev] : after.enabled_revs) {
    auto it = before.enabled_revs.find(key);
    if (it == before.enabled_revs.end()) {
      added.push_back(id(key));
    } else if (it->second != rev) {
      changed.push_back(id(key));
    }
  }
  for (const auto& [key, rev] : before.enabled_revs) {
    if (!after.enabled_revs.contains(key)) removed.push_back(id(key));
  }
  auto sample = [](std::vector<std::string> ids) {
    std::sort(ids.begin(), ids.end());
    if (ids.size() > 20) ids.resize(20);
    return ids;
  };
  std::vector<std::string> t_added, t_removed, t_changed;
  for (const tenant::TenantSpec& t : tenants_after) {
    auto it = std::find_if(tenants_before.begin(), tenants_before.end(),
                           [&](const tenant::TenantSpec& o) { return o.name == t.name; });
    if (it == tenants_before.end()) {
      t_added.push_back(t.name);
    } else if (it->weight != t.weight || it->cap != t.cap || it->prefixes != t.prefixes ||
               it->vlans != t.vlans || it->interfaces != t.interfaces) {
      t_changed.push_back(t.name);
    }
  }
  for (const tenant::TenantSpec& t : tenants_before) {
    if (std::none_of(tenants_after.begin(), tenants_after.end(),
                     [&](const tenant::TenantSpec& o) { return o.name == t.name; }))
      t_removed.push_back(t.name);
  }
  return json{
      {"rules",
       {{"enabled_before", before.enabled},
        {"enabled_after", after.enabled},
        {"added", added.size()},
        {"removed", removed.size()},
        {"changed", changed.size()},
        {"added_sample", sample(added)},
        {"removed_sample", sample(removed)},
        {"changed_sample", sample(changed)}}},
      {"tenants", {{"added", t_added}, {"removed", t_removed}, {"changed", t_changed}}},
  };
}

json ReloadJson(const engine::ReloadRecord& r, const json& changes) {
  json out{{"time", r.unix_time},
           {"ok", r.ok},
           {"seconds", r.seconds},
           {"rules", r.rules},
           {"tenants", r.tenants}};
  if (!r.ok) out["error"] = r.error;
  if (!changes.is_null()) out["changes"] = changes;
  return out;
}

}  // namespace

RulesSummary Summarize(const rules::LoadReport& report, const std::vector<std::string>& files) {
  RulesSummary s;
  s.loaded = report.loaded();
  s.disabled = report.disabled();
  s.enabled = report.enabled();
  s.failed = report.failures.size();
  s.duplicates = report.duplicates.size();
  s.files = files;
  for (const rules::Rule& r : report.rules) {
    if (r.enabled) {
      s.enabled_revs[uint64_t(r.gid) << 32 | r.sid] = r.rev;
    } else {
      ++s.disabled_by_reason[r.disabled_reason];
    }
  }
  for (size_t i = 0; i < report.failures.size() && i < 20; ++i) {
    s.failures.push_back(report.failures[i].ToString());
  }
  return s;
}

Ops::Ops(OpsOptions options) : options_(std::move(options)), created_(Clock::now()) {
  if (!options_.log) {
    options_.log = [](const std::string& line) { fmt::print(stderr, "vigil: {}\n", line); };
  }
}

Ops::~Ops() { Detach(); }

base::Status Ops::OpenOutputs() {
  for (const std::string& url : options_.eve_outputs) {
    auto shipper = EveShipper::Create(url, options_.eve_queue_records);
    if (!shipper) return shipper.error();
    shippers_.push_back(std::move(*shipper));
    options_.log("EVE alerts also go to " + url);
  }
  return {};
}

void Ops::SetRunConfig(RulesSummary rules, std::vector<tenant::TenantSpec> tenants) {
  std::lock_guard lock(mu_);
  rules_ = std::move(rules);
  tenants_ = std::move(tenants);
}

void Ops::StageRunConfig(RulesSummary rules, std::vector<tenant::TenantSpec> tenants) {
  std::lock_guard lock(mu_);
  staged_.emplace(std::move(rules), std::move(tenants));
}

void Ops::Attach(engine::LiveView& view) {
  view_ = &view;
  inline_mode_.store(view.inline_mode());
  stopping_.store(false);
  last_sample_at_ = Clock::now();
  ServerOptions server_options{.max_clients = options_.max_clients};
  if (!options_.unix_socket.empty()) {
    auto server = StreamServer::ListenUnix(
        options_.unix_socket, options_.socket_mode, [this](Connection& c) { ServeCommands(c); },
        server_options);
    if (server) {
      socket_server_ = std::move(*server);
      options_.log("control socket on " + options_.unix_socket);
    } else {
      options_.log("no control socket: " + server.error().ToString());
    }
  }
  if (!options_.http.empty()) {
    server_options.idle_timeout_s = 10;
    auto server = StreamServer::ListenTcp(
        options_.http,
        [this](Connection& c) { ServeHttp(c, [this](const HttpRequest& r) { return Route(r); }); },
        server_options);
    if (server) {
      http_server_ = std::move(*server);
      http_port_.store(http_server_->port());
      options_.log(fmt::format("metrics and dashboard on http://{}/ (port {})", options_.http,
                               http_server_->port()));
    } else {
      options_.log("no HTTP endpoint: " + server.error().ToString());
    }
  }
  sampler_ = std::thread([this] { SamplerLoop(); });
}

void Ops::Detach() {
  if (view_ == nullptr) return;
  // Under each waiter's lock, so that none checks the flag and then sleeps through the wake-up.
  {
    std::lock_guard lock(mu_);
    stopping_.store(true);
  }
  { std::lock_guard lock(sampler_mu_); }
  reloaded_.notify_all();
  sampler_cv_.notify_all();
  if (sampler_.joinable()) sampler_.join();
  socket_server_.reset();
  http_server_.reset();
  view_ = nullptr;
}

void Ops::OnReload(const engine::ReloadRecord& record) {
  {
    std::lock_guard lock(mu_);
    ReloadEntry entry{.record = record, .changes = nullptr};
    if (record.ok && staged_) {
      entry.changes = Changes(rules_, staged_->first, tenants_, staged_->second);
      rules_ = std::move(staged_->first);
      tenants_ = std::move(staged_->second);
    }
    staged_.reset();
    reloads_.push_back(std::move(entry));
    if (reloads_.size() > kMaxReloads) reloads_.pop_front();
    ++reload_count_;
  }
  reloaded_.notify_all();
}

void Ops::OnAlerts(const engine::PacketResult& result) {
  alerts_.fetch_add(result.alerts.size(), std::memory_order_relaxed);
  if (!shippers_.empty()) {
    // Called under the run's outputs lock: eve_line_ is not shared with anyone else.
    const output::AlertMeta meta{.flow_id = result.flow_id,
                                 .rebuilt = result.rebuilt,
                                 .packet_alerts = result.alerts,
                                 .alert_only = result.alert_only};
    for (const detect::Alert& a : result.alerts) {
      if (a.rule == nullptr) continue;
      output::FormatEveAlert(eve_line_, *result.packet, a, meta, inline_mode_.load());
      for (auto& shipper : shippers_) shipper->Offer(eve_line_);
    }
  }
  std::lock_guard lock(alerts_mu_);
  for (const detect::Alert& a : result.alerts) {
    if (a.rule == nullptr) continue;
    const rules::Rule& r = a.rule->rule;
    Signature& s = signatures_[uint64_t(r.gid) << 32 | r.sid];
    if (s.count++ == 0 || s.rev != r.rev) {
      s.gid = r.gid;
      s.sid = r.sid;
      s.rev = r.rev;
      s.msg = r.msg;
    }
  }
}

std::vector<engine::CounterSum> Ops::Counters(uint32_t max_age_ms) {
  std::lock_guard lock(counters_mu_);
  RefreshCountersLocked(max_age_ms);
  return counters_;
}

void Ops::RefreshCountersLocked(uint32_t max_age_ms) {
  const auto now = Clock::now();
  if (view_ != nullptr &&
      (counters_.empty() || now - counters_at_ >= std::chrono::milliseconds(max_age_ms))) {
    counters_ = view_->WorkerCounters();
    counters_at_ = Clock::now();
    ++counters_generation_;
    ++worker_asks_;
  }
}

void Ops::ServeCommands(Connection& conn) {
  JsonStream stream(kMaxRequestBytes);
  char buf[4096];
  for (;;) {
    const size_t n = conn.Read(buf, sizeof buf);
    if (n == 0) return;
    bool stop_after = false;
    bool ok = true;
    auto status = stream.Feed({buf, n}, [&](std::string_view object) {
      if (!ok) return;
      std::shared_ptr<const StatsText> stats;
      std::string reply = Answer(object, &stop_after, &stats);
      // The stats answer goes out as it is cached, newline included: no copy per request.
      ok = stats != nullptr ? conn.Write(stats->line) : conn.Write(reply + "\n");
    });
    if (!status) {
      ++errors_;
      conn.Write(Nok("bad-stream", status.error().message).dump() + "\n");
      return;
    }
    if (stop_after && view_ != nullptr) view_->RequestStop();
    if (!ok) return;
  }
}

std::string Ops::Handle(std::string_view request, bool* stop_after) {
  std::shared_ptr<const StatsText> stats;
  std::string reply = Answer(request, stop_after, &stats);
  return stats != nullptr ? stats->answer : reply;
}

std::string Ops::Answer(std::string_view request, bool* stop_after,
                        std::shared_ptr<const StatsText>* stats) {
  ++requests_;
  json parsed = json::parse(request, nullptr, /*allow_exceptions=*/false);
  json reply;
  if (parsed.is_discarded()) {
    reply = Nok("bad-json", "the request is not valid JSON");
  } else if (!parsed.is_object()) {
    reply = Nok("not-an-object", "a request is a JSON object");
  } else if (auto command = parsed.find("command"); command != parsed.end() &&
                                                    *command == "stats" && !stopping_.load() &&
                                                    view_ != nullptr) {
    // The command pollers send many times a second: the text built once per counter snapshot.
    *stats = StatsAnswer();
    return {};
  } else {
    reply = Dispatch(parsed, stop_after);
  }
  if (reply["return"] != "OK") ++errors_;
  return reply.dump(-1, ' ', false, json::error_handler_t::replace);
}

json Ops::Dispatch(const json& request, bool* stop_after) {
  auto command = request.find("command");
  if (command == request.end()) {
    if (request.contains("version")) return json{{"return", "OK"}};  // the handshake
    return Nok("no-command", "the request has no \"command\"");
  }
  if (!command->is_string()) return Nok("no-command", "\"command\" must be a string");
  const std::string name = command->get<std::string>();
  if (stopping_.load() || view_ == nullptr) return Nok("stopping", "vigil is stopping");
  // "stats" never comes here while running: Handle answers it from StatsAnswer().
  if (name == "tenants") return Ok(Tenants());
  if (name == "rules") return Ok(Rules());
  if (name == "reload") return Reload();
  if (name == "reload-history") return Ok(ReloadHistory());
  if (name == "version") return Ok(options_.version);
  if (name == "uptime") {
    return Ok(std::chrono::duration<double>(Clock::now() - created_).count());
  }
  if (name == "command-list")
    return Ok(json{{"commands", kCommands}, {"count", std::size(kCommands)}});
  if (name == "shutdown") {
    if (stop_after != nullptr) *stop_after = true;
    return Ok("shutting down");
  }
  return Nok("unknown-command", "unknown command \"" + name + "\"",
             json{{"command", name}, {"known", kCommands}});
}

std::shared_ptr<const Ops::StatsText> Ops::StatsAnswer() {
  std::lock_guard lock(stats_mu_);
  std::vector<engine::CounterSum> workers;
  uint64_t generation = 0;
  {
    std::lock_guard counters_lock(counters_mu_);
    RefreshCountersLocked(options_.min_refresh_ms);
    if (stats_ != nullptr && stats_->generation == counters_generation_) return stats_;
    workers = counters_;
    generation = counters_generation_;
  }
  auto text = std::make_shared<StatsText>();
  text->generation = generation;
  json message = Stats(workers);
  text->message = message.dump(-1, ' ', false, json::error_handler_t::replace);
  text->answer = Ok(std::move(message)).dump(-1, ' ', false, json::error_handler_t::replace);
  text->line = text->answer + "\n";
  stats_ = std::move(text);
  ++stats_builds_;
  return stats_;
}

json Ops::Stats(const std::vector<engine::CounterSum>& workers) {
  json out;
  out["uptime_s"] = std::chrono::duration<double>(Clock::now() - created_).count();
  out["workers"] = workers.size();
  out["interfaces"] = view_->Interfaces();
  out["alerts"] = alerts_.load();
  // The rate of the workers' cycle counters (stats.snapshot_cycles, tenant.NAME.cycles).
  out["cycles_per_second"] = view_->cycles_per_second();
  json total = json::object();
  const engine::CounterSum sum = Sum(workers);
  for (const auto& [name, v] : sum.counters()) total[name] = v;
  out["counters"] = std::move(total);
  json per = json::array();
  for (const engine::CounterSum& w : workers) {
    json one = json::object();
    for (const auto& [name, v] : w.counters()) one[name] = v;
    per.push_back(std::move(one));
  }
  out["per_worker"] = std::move(per);
  return out;
}

json Ops::Tenants() {
  auto workers = Counters(options_.min_refresh_ms);
  auto totals = TenantTotals(workers);
  std::vector<tenant::TenantSpec> specs;
  {
    std::lock_guard lock(mu_);
    specs = tenants_;
  }
  json last_second = json::object();
  {
    std::lock_guard lock(history_mu_);
    if (!history_.empty()) {
      for (const json& t : history_.back()["tenants"])
        last_second[t["name"].get<std::string>()] = t;
    }
  }
  uint64_t weights = 0;
  for (const auto& s : specs) weights += s.weight;
  const double hz = double(std::max<uint64_t>(view_->cycles_per_second(), 1));
  uint64_t all_cycles = 0;
  for (const auto& [name, c] : totals) {
    auto it = c.find("cycles");
    if (it != c.end()) all_cycles += it->second;
  }
  json list = json::array();
  for (const auto& [name, c] : totals) {
    auto get = [&](const char* k) {
      auto it = c.find(k);
      return it == c.end() ? uint64_t(0) : it->second;
    };
    json t{{"name", name},
           {"packets", get("packets")},
           {"bytes", get("bytes")},
           {"cpu_seconds", double(get("cycles")) / hz},
           {"cpu_share_total", all_cycles ? double(get("cycles")) / double(all_cycles) : 0.0},
           {"drops", get("refused")},
           {"rule_drops", get("rule_drops")},
           // The scheduler's balances now, summed over workers (each worker schedules its own).
           {"tokens", int64_t(get("tokens")) - int64_t(get("debt"))},
           {"tokens_cpu_seconds", (double(get("tokens")) - double(get("debt"))) / hz},
           {"token_bank_cpu_seconds", double(get("token_bank")) / hz}};
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const tenant::TenantSpec& s) { return s.name == name; });
    if (spec != specs.end()) {
      t["weight"] = spec->weight;
      t["cap"] = spec->cap;
      t["fair_share"] = weights ? std::min(spec->cap, double(spec->weight) / double(weights)) : 1.0;
    }
    if (last_second.contains(name)) {
      t["cpu_last_second"] = last_second[name]["cpu"];
      t["cpu_share_last_second"] = last_second[name]["share"];
      t["bits_per_second"] = last_second[name]["bps"];
      t["drops_per_second"] = last_second[name]["drops"];
    }
    list.push_back(std::move(t));
  }
  return json{{"tenants", std::move(list)},
              {"workers", view_->workers()},
              {"note",
               "cpu_* are fractions of one worker's CPU (cpu_last_second) or of all tenants' "
               "measured cycles (cpu_share_*); drops: packets refused for want of tokens; "
               "tokens: the token schedulers' balances now, in cycles summed over workers "
               "(negative: debt), also in CPU seconds beside the bank they may fill up to"}};
}

json Ops::Rules() {
  std::lock_guard lock(mu_);
  return json{{"loaded", rules_.loaded},
              {"enabled", rules_.enabled},
              {"disabled", rules_.disabled},
              {"failed", rules_.failed},
              {"duplicates", rules_.duplicates},
              {"disabled_by_reason", rules_.disabled_by_reason},
              {"failures", rules_.failures},
              {"files", rules_.files},
              {"running_plan_rules", view_->rules()}};
}

json Ops::Reload() {
  std::unique_lock lock(mu_);
  const uint64_t before = reload_count_;
  view_->RequestReload();
  const bool done =
      reloaded_.wait_for(lock, std::chrono::duration<double>(options_.reload_timeout_s),
                         [&] { return reload_count_ > before || stopping_.load(); });
  if (!done) return Nok("reload-timeout", "the reload has not finished yet; see reload-history");
  if (reload_count_ == before) return Nok("stopping", "vigil is stopping");
  const ReloadEntry& e = reloads_.back();
  if (!e.record.ok) {
    return Nok("reload-failed",
               "reload failed, the running rules and tenants stay: " + e.record.error,
               ReloadJson(e.record, e.changes));
  }
  return Ok(ReloadJson(e.record, e.changes));
}

json Ops::ReloadHistory() {
  std::lock_guard lock(mu_);
  json list = json::array();
  for (const ReloadEntry& e : reloads_) list.push_back(ReloadJson(e.record, e.changes));
  return list;
}

void Ops::SamplerLoop() {
  std::unique_lock lock(sampler_mu_);
  while (!stopping_.load()) {
    lock.unlock();
    TakeSample();
    lock.lock();
    sampler_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_.load(); });
  }
}

void Ops::SampleNow() { TakeSample(); }

// One point of the history: rates over the time since the last one.
void Ops::TakeSample() {
  auto workers = Counters(0);
  const auto now = Clock::now();
  const uint64_t alerts = alerts_.load();
  const double hz = double(std::max<uint64_t>(view_->cycles_per_second(), 1));
  std::lock_guard lock(history_mu_);
  const double dt = std::chrono::duration<double>(now - last_sample_at_).count();
  if (!last_sample_counters_.empty() && dt > 0.05) {
    const auto& prev = last_sample_counters_;
    auto rate = [&](std::string_view name) {
      const uint64_t a = Get(prev, name), b = Get(workers, name);
      return b >= a ? double(b - a) / dt : 0.0;
    };
    json point{{"t", UnixNow()},
               {"packets", rate("capture.frames")},
               {"bits", rate("capture.bytes") * 8},
               {"kernel_drops", rate("capture.kernel_drops")},
               {"overload_drops", rate("capture.overload_drops")},
               {"verdict_drops", rate("capture.verdict_drops")},
               {"tenant_drops", rate("capture.tenant_drops")},
               {"alerts",
                alerts >= last_sample_alerts_ ? double(alerts - last_sample_alerts_) / dt : 0.0}};
    auto before = TenantTotals(prev), after = TenantTotals(workers);
    double all_cycles = 0;
    for (auto& [name, c] : after)
      all_cycles += double(c["cycles"] - std::min(c["cycles"], before[name]["cycles"]));
    json tenants = json::array();
    for (auto& [name, c] : after) {
      auto& b = before[name];
      auto delta = [&](const char* k) { return double(c[k] - std::min(c[k], b[k])); };
      tenants.push_back({{"name", name},
                         {"cpu", delta("cycles") / hz / dt},
                         {"share", all_cycles > 0 ? delta("cycles") / all_cycles : 0.0},
                         {"bps", delta("bytes") * 8 / dt},
                         {"pps", delta("packets") / dt},
                         {"drops", delta("refused") / dt}});
    }
    point["tenants"] = std::move(tenants);
    history_.push_back(std::move(point));
    while (history_.size() > options_.history_seconds) history_.pop_front();
  }
  last_sample_counters_ = std::move(workers);
  last_sample_alerts_ = alerts;
  last_sample_at_ = now;
}

std::string Ops::MetricsText() {
  auto workers = Counters(options_.min_refresh_ms);
  Exposition e;
  e.Add("vigil_build_info", MetricType::kGauge, "vigil's version", {{"version", options_.version}},
        1);
  e.Add("vigil_uptime_seconds", MetricType::kGauge, "seconds since vigil started", {},
        std::chrono::duration<double>(Clock::now() - created_).count());
  e.Add("vigil_workers", MetricType::kGauge, "packet worker threads", {}, view_->workers());
  e.Add("vigil_rules_loaded", MetricType::kGauge, "rules in the running detection plan", {},
        double(view_->rules()));
  e.Add("vigil_alerts_total", MetricType::kCounter, "alerts written", {}, double(alerts_.load()));
  {
    std::lock_guard lock(mu_);
    uint64_t ok = 0, failed = 0;
    double last_ok = 0;
    for (const ReloadEntry& r : reloads_) {
      if (r.record.ok) {
        ++ok;
        last_ok = r.record.unix_time;
      } else {
        ++failed;
      }
    }
    e.Add("vigil_reloads_total", MetricType::kCounter, "reloads since start (the last 100)",
          {{"result", "success"}}, double(ok));
    e.Add("vigil_reloads_total", MetricType::kCounter, "", {{"result", "failure"}}, double(failed));
    e.Add("vigil_reload_last_success_timestamp_seconds", MetricType::kGauge,
          "when the last successful reload ended (0: none)", {}, last_ok);
  }
  e.Add("vigil_control_requests_total", MetricType::kCounter, "control socket commands answered",
        {}, double(requests_.load()));
  e.Add("vigil_control_errors_total", MetricType::kCounter, "control socket commands refused", {},
        double(errors_.load()));
  e.Add("vigil_control_clients", MetricType::kGauge, "control socket clients connected", {},
        socket_server_ ? double(socket_server_->clients()) : 0);
  e.Add("vigil_control_rejected_clients_total", MetricType::kCounter,
        "control socket connections refused over the client cap", {},
        socket_server_ ? double(socket_server_->rejected()) : 0);
  e.Add("vigil_http_requests_total", MetricType::kCounter, "HTTP requests answered", {},
        double(http_requests_.load()));
  e.Add("vigil_stats_snapshots_total", MetricType::kCounter,
        "times the workers were asked to publish their counters", {}, double(worker_asks_.load()));
  e.Add("vigil_stats_answers_built_total", MetricType::kCounter,
        "times the stats answer was serialized (once per counter snapshot, however many ask)", {},
        double(stats_builds_.load()));
  for (const auto& shipper : shippers_) {
    const ShipperCounters c = shipper->counters();
    const Labels l{{"output", shipper->name()}};
    e.Add("vigil_eve_shipped_total", MetricType::kCounter, "EVE records the broker took", l,
          double(c.shipped));
    e.Add("vigil_eve_dropped_total", MetricType::kCounter,
          "EVE records dropped: queue full or lost on a broken connection", l, double(c.dropped));
    e.Add("vigil_eve_reconnects_total", MetricType::kCounter, "connections made again", l,
          double(c.reconnects));
    e.Add("vigil_eve_queued", MetricType::kGauge, "EVE records waiting for the broker", l,
          double(c.queued));
  }
  AddWorkerCounters(e, workers, view_->Interfaces(), view_->cycles_per_second());
  return e.Text();
}

json Ops::DashboardJson() {
  json out;
  out["now"] = UnixNow();
  out["uptime_s"] = std::chrono::duration<double>(Clock::now() - created_).count();
  out["version"] = options_.version;
  out["workers"] = view_->workers();
  out["interfaces"] = view_->Interfaces();
  out["inline"] = view_->inline_mode();
  out["rules"] = view_->rules();
  out["alerts"] = alerts_.load();
  {
    std::lock_guard lock(history_mu_);
    json samples = json::array();
    for (const json& point : history_) samples.push_back(point);
    out["samples"] = std::move(samples);
  }
  {
    std::vector<Signature> sigs;
    {
      std::lock_guard lock(alerts_mu_);
      for (const auto& [key, s] : signatures_) sigs.push_back(s);
    }
    std::sort(sigs.begin(), sigs.end(), [](const Signature& a, const Signature& b) {
      return a.count != b.count ? a.count > b.count : a.sid < b.sid;
    });
    if (sigs.size() > 10) sigs.resize(10);
    json top = json::array();
    for (const Signature& s : sigs) {
      top.push_back(
          {{"gid", s.gid}, {"sid", s.sid}, {"rev", s.rev}, {"msg", s.msg}, {"count", s.count}});
    }
    out["top_signatures"] = std::move(top);
  }
  out["reloads"] = ReloadHistory();
  return out;
}

HttpResponse Ops::Route(const HttpRequest& request) {
  ++http_requests_;
  if (stopping_.load() || view_ == nullptr) {
    return HttpResponse{.status = 503, .body = "vigil is stopping\n"};
  }
  if (request.path == "/metrics") {
    return HttpResponse{.content_type = "text/plain; version=0.0.4; charset=utf-8",
                        .body = MetricsText()};
  }
  if (request.path == "/") {
    return HttpResponse{.content_type = "text/html; charset=utf-8",
                        .body = std::string(DashboardPage())};
  }
  if (request.path == "/api/dashboard") {
    return HttpResponse{
        .content_type = "application/json",
        .body = DashboardJson().dump(-1, ' ', false, json::error_handler_t::replace)};
  }
  if (request.path == "/api/stats") {
    return HttpResponse{.content_type = "application/json", .body = StatsAnswer()->message};
  }
  if (request.path == "/favicon.ico") return HttpResponse{.status = 404, .body = ""};
  return HttpResponse{.status = 404, .body = "not found: " + request.path + "\n"};
}

}  // namespace vigil::control

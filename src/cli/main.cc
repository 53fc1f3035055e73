// The `vigil` command: Snort/Suricata-style command line over the engine.
//
//   vigil -r capture.pcap -R rules/local.rules -l out     # alerts in out/alert_fast.txt, eve.json
//   vigil -i eth0 -R rules/local.rules -l out             # live IDS on an interface
//   vigil -i eth0:eth1 -z 2 -R rules/local.rules          # inline IPS between two interfaces
//                                                         # (SIGUSR2 reloads rules, SIGHUP
//                                                         # reopens logs, SIGINT/TERM stop)
//   vigil -T -R rules/*.rules                             # check rules, report each failure
//   vigil bpf run prog.o --section xdp --pcap in.pcap     # run an XDP object over a capture
//   vigil --dump-rules -R rules/local.rules               # every rule in canonical form
//   vigil -i eth0 --unix-socket /run/vigil/vigil.sock --http 127.0.0.1:9100 ...
//   vigil ctl --socket /run/vigil/vigil.sock stats        # control socket (control/ops.h);
//                                                         # /metrics and a dashboard on --http
//
// Start-up: the compiled Vectorscan databases are kept in a cache directory (--cache-dir,
// default $XDG_CACHE_HOME/vigil; --no-cache turns it off), so a ruleset compiled once starts in
// a fraction of a second. On a terminal, a start-up that lasts over a second shows a progress
// line; -v prints the phases, which stats.json also holds ("startup").
//
// Exit status: 0 on success, 1 on any error (bad arguments, unreadable capture, failed rules
// or threshold lines under -T and --dump-rules).
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "cli/bpf_command.h"
#include "control/ctl_command.h"
#include "control/ops.h"
#include "detect/database_cache.h"
#include "detect/detector.h"
#include "detect/support.h"
#include "engine/config.h"
#include "engine/live_run.h"
#include "engine/offline_run.h"
#include "net/port.h"
#include "rules/classification.h"
#include "rules/rule_file.h"
#include "rules/threshold_config.h"
#include "rules/variables.h"

namespace vigil::cli {
namespace {

struct Args {
  std::string read_path;
  std::vector<std::string> rule_files;
  std::string log_dir = ".";
  std::string alert_mode = "both";
  bool test_only = false;
  bool dump_rules = false;
  std::string config_path;
  std::string threshold_path;
  uint32_t threads = 1;
  std::vector<std::string> settings;  // --set KEY=VALUE
  bool simulate_ips = false;
  std::string checksum_mode = "auto";
  std::string cache_dir = detect::DatabaseCache::DefaultDir();
  bool no_cache = false;
  uint64_t cache_max_mb = 512;
  bool verbose = false;
  // Live capture.
  std::vector<std::string> interfaces;  // "eth0" or "eth0:eth1"
  std::string capture = "afpacket";
  bool fail_open = false;
  bool busy_poll = false;
  std::string user;
  double stats_interval = 0;
  uint32_t ring_blocks = 256;
  uint32_t ring_block_kb = 128;
  std::string unix_socket;               // control socket; empty: none
  std::string http;                      // ADDR:PORT for /metrics and the dashboard; empty: none
  std::vector<std::string> eve_outputs;  // redis://..., kafka://... (control/eve_shipper.h)
  std::string shard;                     // "I/N"
};

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The start-up progress line on a terminal, shown once start-up has lasted a second and
// redrawn at most ten times a second; Finish() erases it.
class StartupProgress {
 public:
  StartupProgress(Clock::time_point start, size_t rules)
      : start_(start), rules_(rules), enabled_(::isatty(STDERR_FILENO) == 1) {}
  // Called by the compiling threads as each database is ready.
  void Databases(size_t done, size_t total) {
    if (!enabled_) return;
    std::lock_guard lock(mu_);
    const double elapsed = SecondsSince(start_);
    if (elapsed < 1.0 || (done < total && elapsed - last_draw_ < 0.1)) return;
    last_draw_ = elapsed;
    shown_ = true;
    fmt::print(stderr,
               "\rvigil: {} rules parsed; detection databases {}/{} compiled, {:.1f} s\x1b[K",
               rules_, done, total, elapsed);
  }
  void Finish() {
    if (shown_) fmt::print(stderr, "\r\x1b[K");
  }

 private:
  Clock::time_point start_;
  size_t rules_;
  bool enabled_;
  std::mutex mu_;
  double last_draw_ = 0;
  bool shown_ = false;
};

void PrintError(const base::Error& e) { fmt::print(stderr, "vigil: {}\n", e.ToString()); }

// "disabled rules by reason:" then one `  COUNT  REASON` line per reason, most frequent first.
void PrintDisabledReasons(const rules::LoadReport& report) {
  std::map<std::string, size_t> counts;
  for (const rules::Rule& r : report.rules) {
    if (!r.enabled) ++counts[r.disabled_reason];
  }
  if (counts.empty()) return;
  std::vector<std::pair<size_t, std::string>> sorted;
  for (auto& [reason, n] : counts) sorted.emplace_back(n, reason);
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  size_t width = std::to_string(sorted.front().first).size();
  fmt::print("disabled rules by reason:\n");
  for (const auto& [n, reason] : sorted) fmt::print("  {:>{}}  {}\n", n, width, reason);
}

// The configuration as a run uses it: rule variables and files, classifications, plan and worker
// settings. Read at start and again by each live reload.
struct Setup {
  rules::Variables vars;
  rules::ClassificationTable classifications = rules::ClassificationTable::Default();
  std::vector<std::string> rule_files;
  engine::WorkerConfig worker;
  detect::PlanOptions plan_options;
  std::string threshold_path;
  std::vector<tenant::TenantSpec> tenants;
};

base::Result<Setup> LoadSetup(const Args& args) {
  Setup setup;
  setup.threshold_path = args.threshold_path;
  if (!args.config_path.empty() || !args.settings.empty()) {
    base::Result<engine::Config> config = engine::Config{};
    if (!args.config_path.empty()) config = engine::Config::Load(args.config_path);
    if (!config) return config.error();
    for (const std::string& kv : args.settings) {
      size_t eq = kv.find('=');
      auto s = eq == std::string::npos
                   ? base::Status(base::MakeError("--set " + kv + ": expected KEY=VALUE"))
                   : config->Set(std::string_view(kv).substr(0, eq),
                                 std::string_view(kv).substr(eq + 1));
      if (!s) return s.error();
    }
    if (setup.threshold_path.empty()) setup.threshold_path = config->threshold_file;
    for (const auto& [name, value] : config->address_vars) {
      if (auto s = setup.vars.SetAddress(name, value); !s) {
        return base::Error{s.error().message, args.config_path};
      }
    }
    for (const auto& [name, value] : config->port_vars) {
      if (auto s = setup.vars.SetPort(name, value); !s) {
        return base::Error{s.error().message, args.config_path};
      }
    }
    if (!config->classification_file.empty()) {
      auto table = rules::ClassificationTable::LoadFile(config->classification_file);
      if (!table) return table.error();
      setup.classifications = std::move(*table);
    }
    setup.rule_files = config->rule_files;
    setup.tenants = config->tenants;
    for (const auto& [policy, network] : config->host_os_policy) {
      auto s = setup.worker.stream.policies.Add(network, policy);
      if (s) s = setup.worker.defrag.policies.Add(network, policy);
      if (!s) return base::Error{"host-os-policy: " + s.error().message, args.config_path};
    }
    if (config->stream_midstream) setup.worker.tcp.midstream = *config->stream_midstream;
    setup.worker.ttl_limit = config->stream_ttl_limit;
    if (config->packet_alert_max) setup.plan_options.packet_alert_max = *config->packet_alert_max;
    for (size_t i = 0; i < config->action_order.size(); ++i) {
      const std::string& a = config->action_order[i];
      setup.plan_options.action_order[i] = a == "pass"     ? detect::ActionClass::kPass
                                           : a == "drop"   ? detect::ActionClass::kDrop
                                           : a == "reject" ? detect::ActionClass::kReject
                                                           : detect::ActionClass::kAlert;
    }
  }
  setup.rule_files.insert(setup.rule_files.end(), args.rule_files.begin(), args.rule_files.end());
  return setup;
}

// The rules and threshold entries of a setup; every failure is printed (file:line: reason) and
// the rest loads.
struct ParsedRules {
  rules::LoadReport report;
  rules::ThresholdConfig thresholds;
  [[nodiscard]] bool ok() const { return report.failures.empty() && thresholds.failures.empty(); }
  // A rule file that could not be read at all (not one bad rule in it).
  [[nodiscard]] const base::Error* unreadable_file() const {
    for (const base::Error& e : report.failures) {
      if (e.message.starts_with("cannot read rule file")) return &e;
    }
    return nullptr;
  }
};

ParsedRules ParseRules(const Setup& setup) {
  ParsedRules parsed;
  parsed.report.support_check = detect::UnsupportedReason;
  rules::LoadRuleFiles(setup.rule_files, setup.vars, parsed.report);
  for (const base::Error& e : parsed.report.failures) fmt::print(stderr, "{}\n", e.ToString());
  if (!setup.threshold_path.empty()) {
    rules::LoadThresholdFile(setup.threshold_path, setup.vars, parsed.thresholds);
    for (const base::Error& e : parsed.thresholds.failures) {
      fmt::print(stderr, "{}\n", e.ToString());
    }
  }
  return parsed;
}

struct BuiltPlan {
  std::unique_ptr<const detect::DetectionPlan> plan;
  std::vector<std::pair<std::string, double>> startup;  // stats.json's "startup"
};

// Compiles the parsed rules (through the database cache unless --no-cache), printing warnings
// and, with -v, the phases. `start` and `parse_s` time what came before.
base::Result<BuiltPlan> CompilePlan(const Args& args, Setup& setup, ParsedRules& parsed,
                                    Clock::time_point start, double parse_s, bool show_progress) {
  detect::PlanOptions plan_options = setup.plan_options;
  plan_options.thresholds = &parsed.thresholds;
  std::optional<detect::DatabaseCache> cache;
  if (!args.no_cache && !args.cache_dir.empty()) {
    cache.emplace(
        detect::CacheOptions{.dir = args.cache_dir, .max_bytes = args.cache_max_mb << 20});
    plan_options.cache = &*cache;
  }
  StartupProgress progress(start, parsed.report.loaded());
  if (show_progress) {
    plan_options.progress = [&](size_t done, size_t total) { progress.Databases(done, total); };
  }
  const Clock::time_point compile_start = Clock::now();
  auto plan = detect::DetectionPlan::Build(std::move(parsed.report.rules), setup.classifications,
                                           plan_options);
  progress.Finish();
  if (!plan) return plan.error();
  const double compile_s = SecondsSince(compile_start);
  for (const base::Error& w : (*plan)->warnings())
    fmt::print(stderr, "warning: {}\n", w.ToString());
  if (cache) {
    cache->Trim();
    for (const std::string& w : cache->warnings()) fmt::print(stderr, "warning: {}\n", w);
  }
  const detect::PlanBuildStats& built = (*plan)->build_stats();
  BuiltPlan out;
  out.startup = {
      {"parse_s", parse_s},
      {"compile_s", compile_s},
      {"rules_s", built.rules_s},
      {"databases_s", built.databases_s},
      {"databases", double(built.databases)},
      {"distinct_databases", double(built.distinct_databases)},
      {"literals", double(built.literals)},
      {"regex_prefilters", double(built.regex_prefilters)},
      {"regex_prefilter_failures", double(built.regex_prefilter_failures)},
      {"cache_hits", cache ? double(cache->hits()) : 0},
      {"cache_misses", cache ? double(cache->misses()) : 0},
      {"cache_rejected", cache ? double(cache->rejected()) : 0},
      {"cache_stored", cache ? double(cache->stored()) : 0},
      {"cache_evicted", cache ? double(cache->evicted()) : 0},
      {"total_s", SecondsSince(start)},
  };
  if (args.verbose) {
    fmt::print(stderr,
               "start-up: {:.3f} s: rules parsed in {:.3f} s; plan compiled in {:.3f} s (rules "
               "{:.3f} s, {} databases, {} distinct, {} literals, {:.3f} s)\n",
               SecondsSince(start), parse_s, compile_s, built.rules_s, built.databases,
               built.distinct_databases, built.literals, built.databases_s);
    if (cache) {
      fmt::print(stderr,
                 "database cache {}: {} hits, {} misses, {} rejected, {} stored, {} evicted\n",
                 cache->dir(), cache->hits(), cache->misses(), cache->rejected(), cache->stored(),
                 cache->evicted());
    } else {
      fmt::print(stderr, "database cache: off\n");
    }
  }
  out.plan = std::move(*plan);
  return out;
}

// The rules of each tenant that names its own (engine/tenant_groups.h), compiled with the run's
// variables and settings; a bad rule is printed (file:line: reason) and skipped, an unreadable
// file fails.
base::Result<std::vector<engine::TenantPlan>> CompileTenantPlans(const Args& args,
                                                                 const Setup& setup,
                                                                 bool print_tally) {
  std::vector<engine::TenantPlan> plans;
  for (const tenant::TenantSpec& spec : setup.tenants) {
    if (spec.rule_files.empty()) continue;
    Setup own = setup;
    own.rule_files = spec.rule_files;
    const Clock::time_point start = Clock::now();
    ParsedRules parsed = ParseRules(own);
    if (const base::Error* e = parsed.unreadable_file()) return *e;
    if (print_tally) {
      fmt::print(stderr, "tenant {}: rules: loaded={} failed={} disabled={}\n", spec.name,
                 parsed.report.loaded(), parsed.report.failures.size(), parsed.report.disabled());
    }
    auto built = CompilePlan(args, own, parsed, start, SecondsSince(start), false);
    if (!built) return base::MakeError("tenant '" + spec.name + "': " + built.error().ToString());
    plans.push_back({spec.name, std::move(built->plan)});
  }
  return plans;
}

// The live run's signals: the handlers only set flags, which RunLive polls.
engine::LiveSignals* live_signals = nullptr;

void OnSignal(int sig) {
  if (live_signals == nullptr) return;
  switch (sig) {
    case SIGUSR2:
      live_signals->reload.store(true);
      break;
    case SIGHUP:
      live_signals->reopen.store(true);
      break;
    default:
      live_signals->stop.store(true);
      break;
  }
}

// Drops root for `user` (its uid, gid, and no supplementary groups).
base::Status DropPrivileges(const std::string& user) {
  errno = 0;
  const passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) return base::MakeError("--user " + user + ": no such user");
  if (setgroups(0, nullptr) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
    return base::MakeError("--user " + user + ": cannot switch to it: " + std::strerror(errno));
  }
  return {};
}

// --shard I/N as (I, N); (0, 1) when it is not given.
base::Result<std::pair<uint32_t, uint32_t>> ParseShard(const std::string& text) {
  if (text.empty()) return std::pair<uint32_t, uint32_t>(0, 1);
  unsigned i = 0, n = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%u/%u%c", &i, &n, &extra) != 2 || n == 0 || i >= n || n > 65535) {
    return base::MakeError("--shard " + text + ": expected I/N with 0 <= I < N <= 65535");
  }
  return std::pair<uint32_t, uint32_t>(i, n);
}

int RunLiveMode(const Args& args, const Setup& setup, BuiltPlan built,
                control::RulesSummary rules_summary, std::vector<engine::TenantPlan> tenant_plans) {
  engine::LiveOptions options;
  for (const std::string& text : args.interfaces) {
    auto link = engine::ParseLink(text);
    if (!link) {
      PrintError(link.error());
      return 1;
    }
    options.links.push_back(*link);
  }
  auto backend = net::ParseBackend(args.capture);
  if (!backend) {
    PrintError(backend.error());
    return 1;
  }
  options.backend = *backend;
  options.workers = args.threads;
  if (auto shard = ParseShard(args.shard); !shard) {
    PrintError(shard.error());
    return 1;
  } else {
    std::tie(options.shard, options.shards) = *shard;
  }
  options.fail_open = args.fail_open;
  options.busy_poll = args.busy_poll;
  options.stats_interval_s = args.stats_interval;
  options.ring_blocks = args.ring_blocks;
  options.ring_block_bytes = args.ring_block_kb << 10;
  options.log_dir = args.log_dir;
  options.alert_fast = args.alert_mode == "fast" || args.alert_mode == "both";
  options.eve_json = args.alert_mode == "json" || args.alert_mode == "both";
  options.worker = setup.worker;
  options.tenants = setup.tenants;
  options.tenant_plans = std::move(tenant_plans);
  options.startup = built.startup;
  if (!args.user.empty()) options.after_open = [&] { return DropPrivileges(args.user); };
  std::optional<control::Ops> ops;
  if (!args.unix_socket.empty() || !args.http.empty() || !args.eve_outputs.empty()) {
    ops.emplace(control::OpsOptions{.unix_socket = args.unix_socket,
                                    .http = args.http,
                                    .version = VIGIL_VERSION,
                                    .eve_outputs = args.eve_outputs});
    if (auto st = ops->OpenOutputs(); !st) {
      PrintError(st.error());
      return 1;
    }
    ops->SetRunConfig(std::move(rules_summary), setup.tenants);
    options.observer = &*ops;
  }

  static engine::LiveSignals signals;
  live_signals = &signals;
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR2}) sigaction(sig, &sa, nullptr);

  // A reload reads the configuration (tenants included) and every rule file again; a rule that
  // fails to parse is skipped as at start-up, an unreadable configuration or rule file fails the
  // reload.
  engine::PlanBuilder reload = [&]() -> base::Result<engine::Reloaded> {
    auto fresh = LoadSetup(args);
    if (!fresh) return fresh.error();
    const Clock::time_point start = Clock::now();
    ParsedRules parsed = ParseRules(*fresh);
    if (const base::Error* e = parsed.unreadable_file()) return *e;
    control::RulesSummary summary = control::Summarize(parsed.report, fresh->rule_files);
    auto plan = CompilePlan(args, *fresh, parsed, start, SecondsSince(start), false);
    if (!plan) return plan.error();
    auto tenant_plans = CompileTenantPlans(args, *fresh, false);
    if (!tenant_plans) return tenant_plans.error();
    if (ops) ops->StageRunConfig(std::move(summary), fresh->tenants);
    return engine::Reloaded{.plan = std::move(plan->plan),
                            .tenants = fresh->tenants,
                            .tenant_plans = std::move(*tenant_plans)};
  };
  auto outcome =
      engine::RunLive(std::shared_ptr<const detect::DetectionPlan>(std::move(built.plan)), options,
                      signals, reload);
  live_signals = nullptr;
  if (!outcome) {
    PrintError(outcome.error());
    return 1;
  }
  return 0;
}

int Run(const Args& args) {
  auto setup = LoadSetup(args);
  if (!setup) {
    PrintError(setup.error());
    return 1;
  }
  const Clock::time_point start = Clock::now();
  ParsedRules parsed = ParseRules(*setup);
  if (args.dump_rules) {
    for (const rules::Rule& r : parsed.report.rules) fmt::print("{}\n", rules::ToText(r));
    return parsed.ok() ? 0 : 1;
  }
  std::string tally = fmt::format("rules: loaded={} failed={} disabled={}", parsed.report.loaded(),
                                  parsed.report.failures.size(), parsed.report.disabled());
  if (args.test_only) {
    PrintDisabledReasons(parsed.report);
    if (!setup->threshold_path.empty()) {
      fmt::print("threshold: entries={} failed={}\n", parsed.thresholds.size(),
                 parsed.thresholds.failures.size());
    }
    fmt::print("{}\n", tally);
    return parsed.ok() ? 0 : 1;
  }
  fmt::print(stderr, "{}\n", tally);
  const double parse_s = SecondsSince(start);
  control::RulesSummary rules_summary;
  if (!args.interfaces.empty())
    rules_summary = control::Summarize(parsed.report, setup->rule_files);
  auto built = CompilePlan(args, *setup, parsed, start, parse_s, true);
  if (!built) {
    PrintError(built.error());
    return 1;
  }
  auto tenant_plans = CompileTenantPlans(args, *setup, true);
  if (!tenant_plans) {
    PrintError(tenant_plans.error());
    return 1;
  }
  if (!args.interfaces.empty()) {
    return RunLiveMode(args, *setup, std::move(*built), std::move(rules_summary),
                       std::move(*tenant_plans));
  }

  engine::RunOptions options;
  options.worker = setup->worker;
  options.startup = built->startup;
  options.input = args.read_path;
  options.threads = args.threads;
  if (auto shard = ParseShard(args.shard); !shard) {
    PrintError(shard.error());
    return 1;
  } else {
    std::tie(options.shard_index, options.shard_count) = *shard;
  }
  options.tenants = setup->tenants;
  options.tenant_plans = std::move(*tenant_plans);
  if (!setup->tenants.empty() && args.threads > 1) {
    fmt::print(stderr,
               "vigil: tenant accounting of a capture runs with one packet thread; "
               "-z {} runs without it\n",
               args.threads);
  }
  options.worker.inline_mode = args.simulate_ips;
  options.log_dir = args.log_dir;
  options.alert_fast = args.alert_mode == "fast" || args.alert_mode == "both";
  options.eve_json = args.alert_mode == "json" || args.alert_mode == "both";
  auto outcome = engine::RunOffline(*built->plan, options);
  if (!outcome) {
    PrintError(outcome.error());
    return 1;
  }
  if (outcome->error) {
    PrintError(*outcome->error);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace vigil::cli

int main(int argc, char** argv) {
  // `vigil bpf ...`: the eBPF runtime's own command (bpf_command.h).
  if (argc > 1 && std::string_view(argv[1]) == "bpf") {
    return vigil::cli::RunBpfCommand(argc - 1, argv + 1);
  }
  // `vigil ctl ...`: the control socket's client (control/ctl_command.h).
  if (argc > 1 && std::string_view(argv[1]) == "ctl") {
    return vigil::control::RunCtlCommand(argc - 1, argv + 1);
  }
  vigil::cli::Args args;
  CLI::App app{
      "vigil: intrusion prevention engine (Snort/Suricata rules, Pigasus-style detection)"};
  app.set_version_flag("--version", std::string("vigil ") + VIGIL_VERSION);
  app.add_option("-r,--read", args.read_path, "capture file (pcap/pcapng) or directory of them");
  app.add_option("-R,--rules", args.rule_files, "rule file (repeatable)");
  app.add_option("-l,--log-dir", args.log_dir, "directory for alert_fast.txt, eve.json, stats.json")
      ->capture_default_str();
  app.add_option("-A,--alert-mode", args.alert_mode, "alert outputs")
      ->check(CLI::IsMember({"fast", "json", "both", "none"}))
      ->capture_default_str();
  app.add_option("-z,--threads", args.threads,
                 "packet threads (Snort's -z); flows are spread over them by address pair")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("-i,--interface", args.interfaces,
                 "capture live: IFACE to monitor (IDS), or A:B to run inline between two "
                 "interfaces (IPS); repeatable");
  app.add_option("--capture", args.capture, "live capture backend")
      ->check(CLI::IsMember({"afpacket", "afxdp"}))
      ->capture_default_str();
  auto* fail_open = app.add_flag("--fail-open", args.fail_open,
                                 "inline overload: forward what a worker cannot inspect");
  bool fail_closed = false;
  app.add_flag("--fail-closed", fail_closed,
               "inline overload: drop what a worker cannot inspect (the default)")
      ->excludes(fail_open);
  app.add_flag("--busy-poll", args.busy_poll,
               "live: workers spin on their rings instead of sleeping (lower latency, a whole "
               "core each)");
  app.add_option("--user", args.user, "live: switch to this user once the interfaces are open");
  app.add_option("--stats-interval", args.stats_interval,
                 "live: rewrite stats.json every SECONDS (0: at exit only)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--ring-blocks", args.ring_blocks,
                 "live: blocks in each worker's receive ring per interface")
      ->check(CLI::Range(2, 1 << 16))
      ->capture_default_str();
  app.add_option("--ring-block-kb", args.ring_block_kb,
                 "live: size of a ring block in KiB; a frame larger than a block is truncated "
                 "(and not forwarded)")
      ->check(CLI::Range(4, 1 << 16))
      ->capture_default_str();
  app.add_option("--unix-socket", args.unix_socket,
                 "live: control socket for `vigil ctl` (JSON commands as Suricata's "
                 "unix-command; mode 0660); without PATH, " +
                     std::string(vigil::control::kDefaultSocket))
      ->expected(0, 1)
      ->default_str(vigil::control::kDefaultSocket);
  app.add_option("--http", args.http,
                 "live: serve Prometheus /metrics and the dashboard (/) on ADDR:PORT");
  app.add_option("--shard", args.shard,
                 "read on only the flows whose symmetric address-pair hash falls in share I of "
                 "N (I/N, 0-based): N runs split a capture, or N processes an interface (the "
                 "kernel filters; AF_PACKET), without splitting a flow");
  app.add_option("--eve-output", args.eve_outputs,
                 "live: EVE alert records also to redis://HOST:PORT/KEY[?mode=list|channel] or "
                 "kafka://BROKERS/TOPIC (bounded queue; drops counted; reconnects); repeatable");
  app.add_flag("-T,--test", args.test_only, "load the configuration and rules, report, and exit");
  app.add_option("-c,--config", args.config_path, "YAML configuration (Suricata layout)");
  app.add_option("--threshold-file", args.threshold_path,
                 "threshold.config: suppress, threshold, event_filter, rate_filter lines");
  app.add_option("--set", args.settings,
                 "KEY=VALUE setting, as Suricata's --set (stream.midstream, stream.ttl-limit, "
                 "threshold-file, packet-alert-max); repeatable");
  app.add_flag("--simulate-ips", args.simulate_ips,
               "act as inline on a capture (Suricata's flag): drop and reject rules block");
  app.add_option("-k,--checksum-mode", args.checksum_mode,
                 "accepted for Suricata compatibility; vigil counts bad checksums and never "
                 "discards a packet for one")
      ->check(CLI::IsMember({"all", "none", "auto"}));
  app.add_option("--cache-dir", args.cache_dir,
                 "where compiled detection databases are kept between runs")
      ->capture_default_str();
  app.add_flag("--no-cache", args.no_cache, "compile every database; read and write no cache");
  app.add_option("--cache-max-mb", args.cache_max_mb,
                 "cache size; least recently used databases are evicted beyond it")
      ->capture_default_str();
  app.add_flag("-v,--verbose", args.verbose, "print the start-up phases");
  app.add_flag("--dump-rules", args.dump_rules,
               "print every loaded rule in canonical form, one per line, and exit");
  try {
    app.parse(argc, argv);
    bool live = !args.interfaces.empty();
    if (!args.test_only && !args.dump_rules && args.read_path.empty() && !live) {
      throw CLI::RequiredError(
          "-r (a capture to read) or -i (an interface) is required unless -T is given");
    }
    if (!args.read_path.empty() && live) {
      throw CLI::ValidationError("-r and -i", "read a capture or an interface, not both");
    }
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 1;
  }
  return vigil::cli::Run(args);
}

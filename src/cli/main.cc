// The `vigil` command: Snort/Suricata-style command line over the engine.
//
//   vigil -r capture.pcap -R rules/local.rules -l out     # alerts in out/alert_fast.txt, eve.json
//   vigil -T -R rules/*.rules                             # check rules, report each failure
//
// Exit status: 0 on success, 1 on any error (bad arguments, unreadable capture, failed rules
// under -T).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "detect/detector.h"
#include "engine/config.h"
#include "engine/offline_run.h"
#include "rules/classification.h"
#include "rules/rule_file.h"
#include "rules/variables.h"

namespace vigil::cli {
namespace {

struct Args {
  std::string read_path;
  std::vector<std::string> rule_files;
  std::string log_dir = ".";
  std::string alert_mode = "both";
  bool test_only = false;
  std::string config_path;
};

void PrintError(const base::Error& e) { fmt::print(stderr, "vigil: {}\n", e.ToString()); }

int Run(const Args& args) {
  rules::Variables vars;
  rules::ClassificationTable classifications = rules::ClassificationTable::Default();
  std::vector<std::string> rule_files;
  if (!args.config_path.empty()) {
    auto config = engine::Config::Load(args.config_path);
    if (!config) {
      PrintError(config.error());
      return 1;
    }
    for (const auto& [name, value] : config->address_vars) {
      if (auto s = vars.SetAddress(name, value); !s) {
        PrintError(base::Error{s.error().message, args.config_path});
        return 1;
      }
    }
    for (const auto& [name, value] : config->port_vars) {
      if (auto s = vars.SetPort(name, value); !s) {
        PrintError(base::Error{s.error().message, args.config_path});
        return 1;
      }
    }
    if (!config->classification_file.empty()) {
      auto table = rules::ClassificationTable::LoadFile(config->classification_file);
      if (!table) {
        PrintError(table.error());
        return 1;
      }
      classifications = std::move(*table);
    }
    rule_files = config->rule_files;
  }
  rule_files.insert(rule_files.end(), args.rule_files.begin(), args.rule_files.end());

  rules::LoadReport report;
  for (const std::string& f : rule_files) rules::LoadRuleFile(f, vars, report);
  for (const base::Error& e : report.failures) fmt::print(stderr, "{}\n", e.ToString());
  std::string tally = fmt::format("rules: loaded={} failed={} disabled={}", report.loaded(),
                                  report.failures.size(), report.disabled());
  if (args.test_only) {
    fmt::print("{}\n", tally);
    return report.failures.empty() ? 0 : 1;
  }
  fmt::print(stderr, "{}\n", tally);

  auto plan = detect::DetectionPlan::Build(std::move(report.rules), classifications);
  if (!plan) {
    PrintError(plan.error());
    return 1;
  }
  engine::RunOptions options;
  options.input = args.read_path;
  options.log_dir = args.log_dir;
  options.alert_fast = args.alert_mode == "fast" || args.alert_mode == "both";
  options.eve_json = args.alert_mode == "json" || args.alert_mode == "both";
  auto outcome = engine::RunOffline(**plan, options);
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
  app.add_flag("-T,--test", args.test_only, "load the configuration and rules, report, and exit");
  app.add_option("-c,--config", args.config_path, "YAML configuration (Suricata layout)");
  try {
    app.parse(argc, argv);
    if (!args.test_only && args.read_path.empty()) {
      throw CLI::RequiredError("-r (a capture to read) is required unless -T is given");
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

// Rule loading: every .rules file of each shipped ruleset (../shared/rules, run from the
// repository root) through LoadRuleFile — reading, joining lines, lexing, parsing into typed
// options — with Snort's default variables. Figures are per ruleset and per rule.
//
//   build-rules-rel/bench/rules_bench                       # all four rulesets
//   build-rules-rel/bench/rules_bench --benchmark_filter=et_open_suricata_2024
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "rules/rule_file.h"
#include "rules/variables.h"

namespace vigil::bench {
namespace {

void BM_ParseRuleset(benchmark::State& state, const std::string& dir) {
  auto found = rules::RuleFilesIn(dir);
  const std::vector<std::string> files = found ? std::move(*found) : std::vector<std::string>{};
  if (files.empty()) {
    state.SkipWithError(("no .rules files in " + dir).c_str());
    return;
  }
  rules::Variables vars;
  // suricata.yaml's defaults, so that `!$HOME_NET` does not negate `any`.
  (void)vars.SetAddress("HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]");
  (void)vars.SetAddress("EXTERNAL_NET", "!$HOME_NET");
  size_t rules = 0;
  size_t failures = 0;
  for (auto _ : state) {
    rules::LoadReport report;
    for (const std::string& f : files) rules::LoadRuleFile(f, vars, report);
    rules = report.loaded();
    failures = report.failures.size();
    benchmark::DoNotOptimize(report.rules.data());
  }
  state.counters["rules"] = double(rules);
  state.counters["failed"] = double(failures);
  state.counters["rules_per_s"] =
      benchmark::Counter(double(rules), benchmark::Counter::kIsIterationInvariantRate);
}

const bool kRegistered = [] {
  for (const char* name : {"snort3-community", "snort2.9-community", "et-open-suricata-2024",
                           "et-open-snort2.9-2017"}) {
    std::string label = name;
    std::replace_if(
        label.begin(), label.end(), [](char c) { return c == '-' || c == '.'; }, '_');
    benchmark::RegisterBenchmark(("BM_ParseRuleset/" + label).c_str(), BM_ParseRuleset,
                                 std::string("../shared/rules/") + name)
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace
}  // namespace vigil::bench

BENCHMARK_MAIN();

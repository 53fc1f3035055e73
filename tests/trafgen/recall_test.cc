// Ground truth against the whole program: trafgen traffic with attacks built from every
// snort3-community rule it can attack (content and flow options on the packet payload, TCP attacks
// inside a full session, UDP replies after their request), written to a pcap and read by the
// `vigil` command as a user runs it. Every injected attack must be reported by its rule on its
// packet: recall 100%, counted per rule. The per-rule table goes to
// BUILD/tests/trafgen/recall-snort3-community.tsv (sid, injected, found).
//
// Reads ../shared/rules/snort3-community; skips with a message when it is absent.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "detect/support.h"
#include "rules/rule_file.h"
#include "rules/variables.h"
#include "trafgen/trafgen.h"

namespace vigil::trafgen {
namespace {

namespace fs = std::filesystem;

const fs::path kRules = fs::path(VIGIL_SOURCE_DIR) / ".." / "shared" / "rules" /
                        "snort3-community" / "snort3-community.rules";

int RunShell(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(RecallTest, VigilFindsEveryInjectedSnort3CommunityAttack) {
  if (!fs::exists(kRules)) GTEST_SKIP() << "needs " << kRules;
  rules::Variables vars;
  rules::LoadReport report;
  report.support_check = detect::UnsupportedReason;  // what vigil evaluates, as trafgen's CLI
  rules::LoadRuleFile(kRules.string(), vars, report);
  ASSERT_GT(report.rules.size(), 1000u);

  Options o;
  o.seed = 17;
  o.flows = 6000;  // a fifth are attacks: every usable rule about twice
  o.concurrency = 300;
  o.ipv6_fraction = 0.2;
  o.attack_rules = report.rules;
  o.attack_rate = 0.2;
  const fs::path dir = fs::path(VIGIL_BINARY_DIR) / "tests" / "trafgen" / "recall";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path pcap = dir / "attacks.pcap";
  auto sink = PcapSink::Open(pcap.string());
  ASSERT_TRUE(sink) << sink.error().ToString();
  auto summary = Generate(o, **sink);
  ASSERT_TRUE(summary) << summary.error().ToString();
  ASSERT_TRUE((*sink)->Close());

  std::map<uint32_t, std::pair<uint64_t, uint64_t>> per_rule;  // sid -> injected, found
  size_t usable = 0;
  for (const RuleAttackStatus& s : summary->rules) {
    if (!s.usable) continue;
    ++usable;
    per_rule[s.sid] = {0, 0};
  }
  // Content-and-flow rules of the set: hundreds (660 at the time of writing).
  EXPECT_GT(usable, 500u);

  const std::string vigil = (fs::path(VIGIL_BINARY_DIR) / "src" / "cli" / "vigil").string();
  ASSERT_EQ(RunShell("'" + vigil + "' -r '" + pcap.string() + "' -R '" + kRules.string() +
                     "' -l '" + dir.string() + "' >'" + (dir / "vigil.log").string() + "' 2>&1"),
            0)
      << "see " << (dir / "vigil.log");

  std::set<std::pair<uint64_t, uint32_t>> alerts;  // (pcap_cnt, sid)
  std::ifstream eve(dir / "eve.json");
  for (std::string line; std::getline(eve, line);) {
    nlohmann::json e = nlohmann::json::parse(line);
    if (e.value("event_type", "") != "alert") continue;
    alerts.emplace(e["pcap_cnt"].get<uint64_t>(), e["alert"]["signature_id"].get<uint32_t>());
  }
  uint64_t found = 0;
  for (const GroundTruth& g : summary->ground_truth) {
    auto& [injected, hit] = per_rule[g.sid];
    ++injected;
    if (alerts.count({g.pcap_cnt, g.sid})) {
      ++hit;
      ++found;
    } else {
      ADD_FAILURE() << "sid " << g.sid << " injected in packet " << g.pcap_cnt << " not reported";
    }
  }
  std::ofstream table(dir.parent_path() / "recall-snort3-community.tsv");
  table << "sid\tinjected\tfound\n";
  size_t rules_injected = 0;
  for (const auto& [sid, counts] : per_rule) {
    table << sid << '\t' << counts.first << '\t' << counts.second << '\n';
    rules_injected += counts.first > 0;
  }
  std::cout << "snort3-community: " << usable << " rules attackable, " << rules_injected
            << " injected, " << summary->ground_truth.size() << " attacks, " << found
            << " reported (recall " << 100.0 * double(found) / double(summary->ground_truth.size())
            << "%); per rule: " << (dir.parent_path() / "recall-snort3-community.tsv") << "\n";
  EXPECT_EQ(rules_injected, usable);
  EXPECT_EQ(found, summary->ground_truth.size());
  fs::remove(pcap);
}

}  // namespace
}  // namespace vigil::trafgen

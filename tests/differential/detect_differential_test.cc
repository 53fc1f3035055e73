// Differential test of the detection engine on real traffic and real rules: the Detector (port
// groups, fast-pattern scan, address index, candidate filtering) must report exactly what
// evaluating every enabled rule on every packet reports (detect::MatchRule, the brute-force
// reference). Any difference is a lost or invented alert.
//
// Reads ../shared/pcaps/mixed-traffic.pcap and ../shared/rules/<ruleset>/*.rules; skips with a
// message when they are absent. When rules × packets is large, every k-th packet is compared so
// the test stays within a few seconds; the counts go to the test log.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "decode/decoder.h"
#include "detect/detector.h"
#include "engine/decoded_capture.h"
#include "rules/classification.h"
#include "rules/rule_file.h"
#include "rules/variables.h"

namespace vigil::tests {
namespace {

namespace fs = std::filesystem;

const fs::path kShared = fs::path(VIGIL_SOURCE_DIR) / ".." / "shared";
constexpr double kMaxEvaluations = 3e8;  // brute-force rule evaluations per ruleset

// The decoded capture; empty when it cannot be read (the test then skips).
const engine::DecodedCapture& MixedTraffic() {
  static engine::DecodedCapture t = [] {
    auto c = engine::DecodedCapture::Load((kShared / "pcaps" / "mixed-traffic.pcap").string());
    return c ? std::move(*c) : engine::DecodedCapture{};
  }();
  return t;
}

class DetectDifferentialTest : public ::testing::TestWithParam<const char*> {};

TEST_P(DetectDifferentialTest, DetectorEqualsEveryRuleOnEveryPacket) {
  fs::path dir = kShared / "rules" / GetParam();
  const engine::DecodedCapture& traffic = MixedTraffic();
  if (!fs::exists(dir) || traffic.packets.empty()) {
    GTEST_SKIP() << "needs " << dir << " and ../shared/pcaps/mixed-traffic.pcap";
  }
  rules::Variables vars;
  rules::LoadReport report;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".rules") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) rules::LoadRuleFile(f, vars, report);
  auto plan =
      detect::DetectionPlan::Build(std::move(report.rules), rules::ClassificationTable::Default());
  ASSERT_TRUE(plan) << plan.error().ToString();
  auto detector = detect::Detector::Create(**plan);
  ASSERT_TRUE(detector);

  size_t n_rules = (*plan)->rule_count();
  size_t step = std::max<size_t>(
      1, size_t(double(n_rules) * double(traffic.packets.size()) / kMaxEvaluations) + 1);
  size_t compared = 0, alerts = 0, mismatches = 0;
  std::vector<detect::Alert> found;
  for (size_t i = 0; i < traffic.packets.size(); i += step) {
    const packet::Packet& p = traffic.packets[i];
    found.clear();
    (*detector)->Inspect(p, found);
    std::vector<uint32_t> got;
    for (const auto& a : found) got.push_back(uint32_t(a.rule - &(*plan)->rule(0)));
    std::vector<uint32_t> want;
    if (p.ip_version != 0) {
      for (uint32_t r = 0; r < n_rules; ++r) {
        const detect::CompiledRule& cr = (*plan)->rule(r);
        if (cr.rule.action == rules::Action::kPass || cr.rule.action == rules::Action::kSdrop) {
          continue;
        }
        if (detect::MatchRule(cr, p)) want.push_back(r);
      }
    }
    // Pass rules suppress; the reference applies the same precedence.
    bool passed = false;
    for (uint32_t r = 0; r < n_rules && p.ip_version != 0; ++r) {
      const detect::CompiledRule& cr = (*plan)->rule(r);
      if (cr.rule.action == rules::Action::kPass && detect::MatchRule(cr, p)) passed = true;
    }
    if (passed) want.clear();
    ++compared;
    alerts += want.size();
    if (got != want) {
      if (++mismatches <= 5) {
        ADD_FAILURE() << "packet " << p.number << ": detector found " << got.size()
                      << " rules, reference " << want.size();
      }
    }
  }
  std::cout << GetParam() << ": " << n_rules << " enabled rules, " << compared
            << " packets compared (every " << step << "), " << alerts << " alerts, " << mismatches
            << " mismatches\n";
  EXPECT_EQ(mismatches, 0u);
}

INSTANTIATE_TEST_SUITE_P(Rulesets, DetectDifferentialTest,
                         ::testing::Values("snort3-community", "et-open-suricata-2024"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           std::replace(n.begin(), n.end(), '.', '_');
                           return n;
                         });

}  // namespace
}  // namespace vigil::tests

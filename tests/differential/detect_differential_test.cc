// Differential test of the detection engine on real traffic and real rules: the Detector (port
// groups, fast-pattern scan, address index, candidate filtering) must report exactly what
// evaluating every enabled rule on every packet reports (detect::MatchRule, the brute-force
// reference). Any difference is a lost or invented alert. Rules are loaded with the detector's
// own support check, so every rule it evaluates is compared; each packet is inspected outside a
// flow and inside an established one.
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
#include "detect/support.h"
#include "engine/decoded_capture.h"
#include "rules/classification.h"
#include "rules/rule_file.h"
#include "rules/variables.h"

namespace vigil::tests {
namespace {

namespace fs = std::filesystem;

const fs::path kShared = fs::path(VIGIL_SOURCE_DIR) / ".." / "shared";
constexpr double kMaxEvaluations = 1e8;  // brute-force rule evaluations per ruleset

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
  report.support_check = detect::UnsupportedReason;  // every rule the detector evaluates
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
  std::unique_ptr<detect::EventFilter> filter = (*plan)->event_filter().NewWorkerFilter();
  // Each packet is inspected twice: outside any flow, and as part of an established flow (in the
  // direction its ports suggest), so that flow:established / to_server rules are compared too.
  constexpr int kContexts = 2;
  size_t step = std::max<size_t>(1, size_t(double(kContexts) * double(n_rules) *
                                           double(traffic.packets.size()) / kMaxEvaluations) +
                                        1);
  size_t compared = 0, mismatches = 0;
  size_t alerts[kContexts] = {0, 0};
  std::vector<detect::Alert> found;
  for (size_t i = 0; i < traffic.packets.size(); i += step) {
    const packet::Packet& p = traffic.packets[i];
    for (int context = 0; context < kContexts; ++context) {
      detect::FlowContext flow;
      if (context == 1) {
        flow = {.has_flow = true, .established = true, .to_server = p.dst_port <= p.src_port};
      }
      found.clear();
      (void)(*detector)->Inspect(p, flow, {}, found);
      std::vector<uint32_t> got;
      for (const auto& a : found) got.push_back(uint32_t(a.rule - &(*plan)->rule(0)));
      // Alerts come grouped by action (the action order), each group in rule order.
      std::sort(got.begin(), got.end());
      detect::MatchInput in = detect::MatchInput::OfPacket(p, &flow);
      std::vector<uint32_t> want;
      bool passed = false;  // pass rules suppress; the reference applies the same precedence
      for (uint32_t r = 0; r < n_rules && p.ip_version != 0; ++r) {
        const detect::CompiledRule& cr = (*plan)->rule(r);
        if (!detect::MatchRule(cr, in)) continue;
        // Thresholds and detection_filter as the Detector applies them: its own counters, fed the
        // same matches in the same order.
        detect::FilterVerdict v = filter->OnMatch(r, p, detect::CaptureTimeNs(p));
        if (!v.matched) continue;
        rules::Action action = v.action.value_or(cr.rule.action);
        if (action == rules::Action::kPass) passed = true;
        if (action != rules::Action::kPass && action != rules::Action::kSdrop && v.alert &&
            !cr.flowbits.noalert) {
          want.push_back(r);
        }
      }
      if (passed) want.clear();
      ++compared;
      alerts[context] += want.size();
      if (got != want) {
        if (++mismatches <= 5) {
          ADD_FAILURE() << "packet " << p.number << (context ? " in a flow" : "")
                        << ": detector found " << got.size() << " rules, reference " << want.size();
        }
      }
    }
  }
  std::cout << GetParam() << ": " << n_rules << " enabled rules, " << compared
            << " inspections compared (every " << step << " packet, with and without a flow), "
            << alerts[0] << " alerts without a flow, " << alerts[1] << " in a flow, " << mismatches
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

// How matches take effect (Detector::Inspect): action order, pass, drop, sdrop, IP-only rules
// once per flow direction, and flow-scope verdicts.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "detect/detector.h"
#include "rules/parser.h"
#include "rules/variables.h"

namespace vigil::detect {
namespace {

struct TestPacket {
  std::string payload;
  packet::Packet p;
  explicit TestPacket(std::string data, const char* src = "10.0.0.1", uint16_t sport = 40000)
      : payload(std::move(data)) {
    p.ip_version = 4;
    p.src_ip = *base::IpAddress::Parse(src);
    p.dst_ip = *base::IpAddress::Parse("192.168.0.5");
    p.ip_proto = packet::kProtoTcp;
    p.has_tcp = true;
    p.src_port = sport;
    p.dst_port = 80;
    p.payload = reinterpret_cast<const uint8_t*>(payload.data());
    p.payload_len = uint32_t(payload.size());
  }
};

std::unique_ptr<const DetectionPlan> Plan(const std::vector<std::string>& texts,
                                          PlanOptions options = {}) {
  rules::Variables vars;
  std::vector<rules::Rule> rs;
  for (const auto& t : texts) {
    auto r = rules::ParseRule(t, vars);
    EXPECT_TRUE(r) << t;
    if (r) rs.push_back(*r);
  }
  auto plan = DetectionPlan::Build(std::move(rs), rules::ClassificationTable::Default(), options);
  EXPECT_TRUE(plan);
  return plan ? std::move(*plan) : nullptr;
}

struct Outcome {
  std::vector<uint32_t> sids;  // in the order they took effect
  Verdict verdict;
};

Outcome InspectOne(Detector& d, const packet::Packet& p, const FlowContext& flow = {}) {
  std::vector<Alert> alerts;
  Outcome o;
  o.verdict = d.Inspect(p, flow, {}, alerts);
  for (const Alert& a : alerts) o.sids.push_back(a.rule->rule.sid);
  return o;
}

const std::vector<std::string> kThree = {
    R"(alert tcp any any -> any any (content:"evil"; sid:1;))",
    R"(pass tcp any any -> any any (content:"evil"; sid:2;))",
    R"(drop tcp any any -> any any (content:"evil"; sid:3;))",
};

TEST(DetectorActionsTest, DefaultOrderPassFirstSilencesEverything) {
  auto plan = Plan(kThree);
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  Outcome o = InspectOne(**d, TestPacket("an evil payload").p);
  EXPECT_TRUE(o.sids.empty());
  EXPECT_FALSE(o.verdict.drop);
  EXPECT_EQ((*d)->stats().passed, 1u);
}

TEST(DetectorActionsTest, DropBeforePassDropsAndPassIsNotApplied) {
  PlanOptions options;
  options.action_order = {ActionClass::kDrop, ActionClass::kPass, ActionClass::kReject,
                          ActionClass::kAlert};
  auto plan = Plan(kThree, options);
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  Outcome o = InspectOne(**d, TestPacket("an evil payload").p);
  EXPECT_EQ(o.sids, std::vector<uint32_t>{3});  // the alert rule comes after the pass: silenced
  EXPECT_TRUE(o.verdict.drop);
  EXPECT_FALSE(o.verdict.pass_flow);
  EXPECT_EQ((*d)->stats().passed, 0u);
}

TEST(DetectorActionsTest, DropAlertPassOrderAlertsBothBeforeThePass) {
  PlanOptions options;
  options.action_order = {ActionClass::kDrop, ActionClass::kAlert, ActionClass::kReject,
                          ActionClass::kPass};
  auto plan = Plan(kThree, options);
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  Outcome o = InspectOne(**d, TestPacket("an evil payload").p);
  EXPECT_EQ(o.sids, (std::vector<uint32_t>{3, 1}));
  EXPECT_TRUE(o.verdict.drop);
}

TEST(DetectorActionsTest, SdropDropsWithoutAlertAndBadOrderIsRefused) {
  auto plan = Plan({R"(sdrop tcp any any -> any any (content:"evil"; sid:7;))",
                    R"(alert tcp any any -> any any (content:"evil"; sid:8;))"});
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  Outcome o = InspectOne(**d, TestPacket("evil").p);
  EXPECT_EQ(o.sids, std::vector<uint32_t>{8});
  EXPECT_TRUE(o.verdict.drop);

  PlanOptions twice;
  twice.action_order = {ActionClass::kDrop, ActionClass::kDrop, ActionClass::kReject,
                        ActionClass::kAlert};
  rules::Variables vars;
  std::vector<rules::Rule> none;
  EXPECT_FALSE(DetectionPlan::Build(none, rules::ClassificationTable::Default(), twice));
}

TEST(DetectorActionsTest, PacketAlertMaxKeepsTheFirstAlertsAndStillApplies) {
  const std::vector<std::string> rules = {
      R"(alert tcp any any -> any any (content:"evil"; sid:1;))",
      R"(alert tcp any any -> any any (content:"evil"; sid:2;))",
      R"(drop tcp any any -> any any (content:"evil"; sid:3;))",
      R"(alert tcp any any -> any any (content:"evil"; sid:4;))",
  };
  PlanOptions options;
  options.packet_alert_max = 2;
  // Default order: the drop takes effect first, so it is kept and the last alert rule goes.
  auto plan = Plan(rules, options);
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  Outcome o = InspectOne(**d, TestPacket("evil").p);
  EXPECT_EQ(o.sids, (std::vector<uint32_t>{3, 1}));
  EXPECT_TRUE(o.verdict.drop);
  EXPECT_EQ((*d)->stats().alerts, 2u);
  EXPECT_EQ((*d)->stats().alerts_discarded, 2u);

  // Alerts before drops: the discarded drop's action still takes effect.
  options.action_order = {ActionClass::kAlert, ActionClass::kPass, ActionClass::kDrop,
                          ActionClass::kReject};
  auto alert_first = Plan(rules, options);
  auto d2 = Detector::Create(*alert_first);
  ASSERT_TRUE(d2);
  o = InspectOne(**d2, TestPacket("evil").p);
  EXPECT_EQ(o.sids, (std::vector<uint32_t>{1, 2}));
  EXPECT_TRUE(o.verdict.drop);
  EXPECT_EQ((*d2)->stats().alerts_discarded, 2u);

  // The default (15) reports all four.
  auto all = Plan(rules);
  auto d3 = Detector::Create(*all);
  ASSERT_TRUE(d3);
  EXPECT_EQ(InspectOne(**d3, TestPacket("evil").p).sids.size(), 4u);
  EXPECT_EQ((*d3)->stats().alerts_discarded, 0u);
}

TEST(DetectorActionsTest, IpOnlyRulesFireOncePerFlowDirection) {
  auto plan = Plan({R"(alert tcp 10.0.0.0/8 any -> any any (sid:1;))",
                    R"(alert tcp !192.168.0.0/16 any -> any any (sid:2;))",
                    R"(alert tcp any any -> any 80 (sid:3;))"});
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  TestPacket tp("x");
  FlowContext first{.has_flow = true, .first_in_direction = true};
  FlowContext later{.has_flow = true, .first_in_direction = false};
  // sid 1: IP-only, first packet of the direction only; sid 2 negates an address, so it is
  // evaluated on every packet; sid 3 names a port, so it is a packet rule.
  EXPECT_EQ(InspectOne(**d, tp.p, first).sids, (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(InspectOne(**d, tp.p, later).sids, (std::vector<uint32_t>{2, 3}));
  // Without a flow there is no direction to remember: every packet.
  EXPECT_EQ(InspectOne(**d, tp.p).sids, (std::vector<uint32_t>{1, 2, 3}));
}

TEST(DetectorActionsTest, ScopeOfPassAndDrop) {
  auto plan = Plan({R"(pass tcp 10.0.0.9 any -> any any (sid:1;))",
                    R"(drop tcp any any -> any any (content:"evil"; sid:2;))",
                    R"(pass tcp any any -> any any (flags:S; sid:3;))"});
  auto d = Detector::Create(*plan);
  ASSERT_TRUE(d);
  FlowContext flow{.has_flow = true, .first_in_direction = true};
  // IP-only pass: the flow.
  Outcome a = InspectOne(**d, TestPacket("hello", "10.0.0.9").p, flow);
  EXPECT_TRUE(a.verdict.pass_flow);
  // A payload drop on a packet the stream did not take: the packet only.
  Outcome b = InspectOne(**d, TestPacket("evil").p, flow);
  EXPECT_TRUE(b.verdict.drop);
  EXPECT_FALSE(b.verdict.drop_flow);
  // ... and on stream data: the flow.
  FlowContext streamed = flow;
  streamed.reassembled = true;
  streamed.payload_in_stream = true;
  Outcome c = InspectOne(**d, TestPacket("evil").p, streamed);
  EXPECT_TRUE(c.verdict.drop_flow);
  EXPECT_EQ(c.sids, std::vector<uint32_t>{2});
}

}  // namespace
}  // namespace vigil::detect

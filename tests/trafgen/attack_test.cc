// trafgen's attacks: payloads built from rule contents, header values picked from address and port
// expressions, and a ground truth that the detector independently confirms.
#include "trafgen/attack.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <string>

#include "decode/decoder.h"
#include "detect/content_match.h"
#include "detect/detector.h"
#include "io/pcap_reader.h"
#include "rules/classification.h"
#include "rules/rule_file.h"
#include "rules/variables.h"
#include "trafgen/trafgen.h"

namespace vigil::trafgen {
namespace {

rules::Rule ParseOne(const std::string& text) {
  auto parsed = rules::ParseRuleText(text, rules::Variables());
  EXPECT_TRUE(parsed) << text << ": " << parsed.error().ToString();
  EXPECT_EQ(parsed->size(), 1u);
  return parsed->front();
}

// The rule enabled whatever the parser's default support check said (BuildAttack's own checks).
rules::Rule Enabled(rules::Rule r) {
  r.enabled = true;
  return r;
}

std::vector<const rules::ContentOption*> Contents(const rules::Rule& r) {
  std::vector<const rules::ContentOption*> out;
  for (const rules::Option& o : r.options) {
    if (const auto* c = std::get_if<rules::ContentOption>(&o)) out.push_back(c);
  }
  return out;
}

// Rules whose contents can be satisfied: the built payload must satisfy them per the matcher.
TEST(AttackTest, PayloadSatisfiesContentLayouts) {
  const char* kRules[] = {
      R"(alert tcp any any -> any any (content:"GET"; sid:1;))",
      R"(alert tcp any any -> any any (content:"abc"; offset:5; depth:3; sid:2;))",
      R"(alert tcp any any -> any any (content:"USER"; depth:4; content:"root"; distance:1; within:10; sid:3;))",
      R"(alert tcp any any -> any any (content:"abcd"; content:"cdef"; distance:-2; within:4; sid:4;))",
      R"(alert tcp any any -> any any (content:"SeLeCt"; nocase; content:"from"; nocase; distance:0; sid:5;))",
      R"(alert tcp any any -> any any (content:"login"; content:!"password"; sid:6;))",
      R"(alert tcp any any -> any any (content:"|00 01 02 FF|"; offset:2; content:"x|0d 0a|"; distance:3; within:6; sid:7;))",
      R"(alert tcp any any -> any any (content:"AAAA"; depth:6; content:"AAB"; depth:7; sid:8;))",
      R"(alert udp any any -> any 53 (content:"|01 00 00 01|"; offset:2; depth:4; content:"evil"; distance:1; sid:9;))",
      R"(alert tcp any any -> any any (content:"zz"; offset:100; content:"yy"; offset:2; depth:4; sid:10;))",
  };
  for (const char* text : kRules) {
    rules::Rule r = ParseOne(text);
    auto attack = BuildAttack(r);
    ASSERT_TRUE(attack) << text << ": " << attack.error().message;
    auto contents = Contents(r);
    EXPECT_TRUE(
        detect::MatchContents(contents, attack->payload.data(), uint32_t(attack->payload.size())))
        << text;
    EXPECT_LE(attack->payload.size(), kMaxAttackPayload);
  }
}

// A flow option picks who sends the attack and puts a TCP attack in an established session.
TEST(AttackTest, FlowOptionChoosesTheSendingSide) {
  auto build = [](const char* text) { return BuildAttack(Enabled(ParseOne(text))); };
  auto to_client =
      build(R"(alert tcp any any -> any any (flow:established,to_client; content:"x"; sid:1;))");
  ASSERT_TRUE(to_client) << to_client.error().message;
  EXPECT_TRUE(to_client->server_sends);
  EXPECT_TRUE(to_client->needs_flow);
  EXPECT_FALSE(to_client->udp);
  // The direction wins over the port heuristic (source port 80 alone would make it the server).
  auto to_server = build(R"(alert tcp any 80 -> any any (flow:to_server; content:"x"; sid:2;))");
  ASSERT_TRUE(to_server) << to_server.error().message;
  EXPECT_FALSE(to_server->server_sends);
  // An `ip` rule that needs an established flow is attacked over TCP.
  auto ip = build(R"(alert ip any any -> any any (flow:established; content:"x"; sid:3;))");
  ASSERT_TRUE(ip) << ip.error().message;
  EXPECT_FALSE(ip->udp);
  // A UDP reply: the generator sends the client's request first (trafgen.cc).
  auto udp = build(R"(alert udp any 53 -> any any (flow:to_client; content:"x"; sid:4;))");
  ASSERT_TRUE(udp) << udp.error().message;
  EXPECT_TRUE(udp->udp);
  EXPECT_TRUE(udp->server_sends);
}

TEST(AttackTest, ImpossibleOrUnsupportedRulesGiveReasons) {
  struct Case {
    const char* rule;
    const char* reason;  // a substring of the reason
  };
  const Case kCases[] = {
      {R"(alert tcp any any -> any any (content:"abcd"; depth:4; content:"xyz"; offset:1; depth:3; sid:1;))",
       "does not fit"},
      {R"(alert tcp any any -> any any (content:"abc"; content:!"abc"; sid:2;))", "negated"},
      {R"(alert tcp any any -> any any (content:"ab"; content:"cd"; distance:-1; within:2; sid:3;))",
       "does not fit"},
      {R"(alert icmp any any -> any any (content:"x"; sid:4;))", "icmp"},
      {R"(alert tcp any any -> any any (content:!"x"; sid:5;))", "no positive content"},
      {R"(alert tcp any any -> any any (pcre:"/x/"; content:"x"; sid:6;))", "other than content"},
      {R"(alert tcp any any -> any any (http_uri; content:"x"; sid:7;))", "buffer"},
      {R"(pass tcp any any -> any any (content:"x"; sid:8;))", "pass"},
      {R"(alert tcp any any -> any any (content:"x"; offset:1500; sid:9;))", "does not fit"},
      {R"(alert tcp any any -> any any (flow:not_established; content:"x"; sid:11;))",
       "not_established"},
      {R"(alert tcp any any -> any any (flow:established,only_stream; content:"x"; sid:12;))",
       "only_stream"},
      {R"(alert udp any any -> any any (flow:established,to_server; content:"x"; sid:13;))",
       "established on udp"},
  };
  for (const Case& c : kCases) {
    auto parsed = rules::ParseRuleText(c.rule, rules::Variables());
    if (!parsed) {
      ADD_FAILURE() << c.rule << ": " << parsed.error().ToString();
      continue;
    }
    // BuildAttack's own checks, whatever support check the loader applies.
    rules::Rule r = parsed->front();
    r.enabled = true;
    auto attack = BuildAttack(r);
    ASSERT_FALSE(attack) << c.rule;
    EXPECT_NE(attack.error().message.find(c.reason), std::string::npos)
        << c.rule << ": " << attack.error().message;
  }
  rules::Rule disabled = ParseOne(R"(alert tcp any any -> any any (content:"x"; sid:10;))");
  disabled.enabled = false;
  disabled.disabled_reason = "unsupported keyword flow";
  auto attack = BuildAttack(disabled);
  ASSERT_FALSE(attack);
  EXPECT_EQ(attack.error().message, "disabled: unsupported keyword flow");
}

TEST(AttackTest, PickedPortsAndAddressesMatchTheirExpressions) {
  rules::Variables vars;
  ASSERT_TRUE(vars.SetAddress("HOME_NET", "[192.168.0.0/16,!192.168.1.0/24]"));
  ASSERT_TRUE(vars.SetAddress("EXTERNAL_NET", "!$HOME_NET"));
  const char* kPorts[] = {"any",   "80",          "[80,8080]",   "!80",          "1024:",
                          ":1023", "[1:100,!50]", "$HTTP_PORTS", "!$HTTP_PORTS", "[!1:65534]"};
  const char* kAddresses[] = {
      "any",           "$HOME_NET",   "$EXTERNAL_NET",    "10.1.2.3", "[10.0.0.0/8,!10.1.0.0/16]",
      "2001:db8::/32", "!10.0.0.0/8", "[1.2.3.4,5.6.7.8]"};
  const Subnet pools[] = {*ParseSubnet("10.0.0.0/8"), *ParseSubnet("fd00::/64")};
  Rng rng(17);
  for (const char* text : kPorts) {
    auto expr = rules::ParsePort(text, vars);
    ASSERT_TRUE(expr) << text;
    for (int i = 0; i < 20; ++i) {
      auto port = PickPort(*expr, rng, 40000);
      ASSERT_TRUE(port) << text;
      EXPECT_TRUE(expr->Matches(*port)) << text << " " << *port;
    }
  }
  for (const char* text : kAddresses) {
    auto expr = rules::ParseAddress(text, vars);
    ASSERT_TRUE(expr) << text;
    for (int i = 0; i < 20; ++i) {
      auto a = PickAddress(*expr, rng, pools, 0);
      ASSERT_TRUE(a) << text;
      EXPECT_TRUE(expr->Matches(*a)) << text << " " << a->ToString();
    }
  }
  // The family is honoured, and an unsatisfiable family gives nullopt, never a wrong address.
  auto v4_only = rules::ParseAddress("10.0.0.0/8", vars);
  EXPECT_FALSE(PickAddress(*v4_only, rng, pools, 6));
  auto a = PickAddress(*rules::ParseAddress("any", vars), rng, pools, 6);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_v6());
  EXPECT_TRUE(a->InPrefix(pools[1].network, 64));  // from the preferred pool
  // A port list that excludes every port.
  rules::PortExpr none;
  none.kind = rules::PortExpr::Kind::kRange;
  none.negated = true;
  none.lo = 0;
  none.hi = 65535;
  EXPECT_FALSE(PickPort(none, rng, 80));
}

TEST(AttackTest, RandomAddressStaysInSubnet) {
  Rng rng(2);
  for (const char* text : {"10.20.0.0/16", "192.168.1.0/30", "fd00:1:2::/48", "8.8.8.8/32"}) {
    auto s = ParseSubnet(text);
    ASSERT_TRUE(s) << text;
    for (int i = 0; i < 50; ++i) {
      base::IpAddress a = RandomAddress(rng, *s);
      EXPECT_TRUE(a.InPrefix(s->network, s->prefix_len)) << text << " " << a.ToString();
      if (std::string(text) == "192.168.1.0/30") {
        EXPECT_NE(a.ToString(), "192.168.1.0");
        EXPECT_NE(a.ToString(), "192.168.1.3");
      }
    }
  }
  EXPECT_FALSE(ParseSubnet("10.0.0.0/33"));
  EXPECT_FALSE(ParseSubnet("10.0.0/8"));
  EXPECT_FALSE(ParseSubnet("10.0.0.0/"));
}

constexpr const char* kRules = R"(
alert tcp $EXTERNAL_NET any -> $HOME_NET [80,8080] (msg:"a"; content:"/etc/passwd"; sid:1001; rev:1;)
alert tcp $HOME_NET 80 -> $EXTERNAL_NET any (msg:"b"; content:"uid="; depth:4; content:"gid="; distance:0; within:20; sid:1002; rev:1;)
alert udp any any -> any 53 (msg:"c"; content:"|00 01 00 00|"; offset:4; depth:4; content:"evil"; nocase; distance:1; sid:1003; rev:1;)
alert ip any any -> any any (msg:"d"; content:"MAGIC-TOKEN"; content:!"benign"; sid:1004; rev:1;)
alert tcp any any -> any ![0:1023] (msg:"e"; content:"cmd.exe"; nocase; sid:1005; rev:1;)
alert tcp any any <> 10.9.9.0/24 any (msg:"f"; content:"bidir"; sid:1006; rev:1;)
alert tcp any any -> any any (msg:"g"; content:"abcd"; depth:4; content:"xyz"; offset:1; depth:3; sid:1007; rev:1;)
alert icmp any any -> any any (msg:"h"; content:"ping"; sid:1008; rev:1;)
pass tcp any any -> any any (msg:"i"; content:"whitelisted"; sid:1009; rev:1;)
alert tcp any any -> any any (msg:"j"; content:"whitelisted"; sid:1010; rev:1;)
)";

// The ground truth is re-checked from the pcap alone: each entry's packet, decoded, is matched by
// its rule, and the full Detector reports that rule on that packet.
TEST(AttackTest, GroundTruthIsConfirmedByTheDetector) {
  rules::Variables vars;
  ASSERT_TRUE(vars.SetAddress("HOME_NET", "10.0.0.0/8"));
  ASSERT_TRUE(vars.SetAddress("EXTERNAL_NET", "!$HOME_NET"));
  rules::LoadReport report;
  rules::LoadRuleText(kRules, vars, "<test>", report);
  ASSERT_TRUE(report.failures.empty()) << report.failures.front().ToString();
  ASSERT_EQ(report.rules.size(), 10u);

  Options o;
  o.seed = 99;
  o.flows = 300;
  o.concurrency = 32;
  o.ipv6_fraction = 0.2;
  o.attack_rules = report.rules;
  o.attack_rate = 0.25;
  std::string dir = "/tmp/vigil-trafgen-attack-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/a.pcap";
  auto sink = PcapSink::Open(path);
  ASSERT_TRUE(sink);
  auto summary = Generate(o, **sink);
  ASSERT_TRUE(summary) << summary.error().ToString();
  ASSERT_TRUE((*sink)->Close());

  // Which rules were usable, and why the others were not.
  std::map<uint32_t, RuleAttackStatus> status;
  for (const RuleAttackStatus& s : summary->rules) status[s.sid] = s;
  for (uint32_t sid : {1001u, 1002u, 1003u, 1004u, 1005u, 1006u}) {
    EXPECT_TRUE(status[sid].usable) << sid << ": " << status[sid].skip_reason;
    EXPECT_GT(status[sid].injected, 0u) << sid;
  }
  EXPECT_NE(status[1007].skip_reason.find("does not fit"), std::string::npos);
  EXPECT_NE(status[1008].skip_reason.find("icmp"), std::string::npos);
  EXPECT_NE(status[1009].skip_reason.find("pass"), std::string::npos);
  ASSERT_GT(summary->ground_truth.size(), 40u);
  // sid 1010's attack contains "whitelisted", which the pass rule 1009 also matches, so the alert
  // could never happen: the pass-rule check rejects the rule instead of writing false truth.
  EXPECT_FALSE(status[1010].usable);
  EXPECT_NE(status[1010].skip_reason.find("pass rule 1:1009"), std::string::npos)
      << status[1010].skip_reason;
  EXPECT_EQ(status[1010].injected, 0u);

  // Independent check: read the pcap, decode, evaluate with a DetectionPlan built from the rules.
  auto plan = detect::DetectionPlan::Build(report.rules, rules::ClassificationTable::Default());
  ASSERT_TRUE(plan) << plan.error().ToString();
  auto detector = detect::Detector::Create(**plan);
  ASSERT_TRUE(detector);
  std::map<uint64_t, std::vector<uint32_t>> alerts_at;  // packet number -> sids alerted
  std::map<uint64_t, std::vector<uint32_t>> matched_at;
  auto reader = io::PcapReader::Open(path);
  ASSERT_TRUE(reader);
  decode::Decoder decoder;
  packet::Batch batch;
  while (true) {
    batch.Clear();
    auto n = (*reader)->ReadBatch(batch);
    ASSERT_TRUE(n);
    if (*n == 0) break;
    decoder.DecodeBatch(batch);
    for (packet::Packet& p : batch) {
      std::vector<detect::Alert> alerts;
      (*detector)->Inspect(p, alerts);
      for (const detect::Alert& a : alerts) alerts_at[p.number].push_back(a.rule->rule.sid);
      for (size_t i = 0; i < (*plan)->rule_count(); ++i) {
        if (detect::MatchRule((*plan)->rule(i), p)) {
          matched_at[p.number].push_back((*plan)->rule(i).rule.sid);
        }
      }
    }
  }
  EXPECT_EQ(decoder.stats().TotalAnomalies(), 0u);
  for (const GroundTruth& g : summary->ground_truth) {
    EXPECT_EQ(g.gid, 1u);
    const auto& m = matched_at[g.pcap_cnt];
    EXPECT_NE(std::find(m.begin(), m.end(), g.sid), m.end()) << "packet " << g.pcap_cnt;
    const auto& a = alerts_at[g.pcap_cnt];
    EXPECT_NE(std::find(a.begin(), a.end(), g.sid), a.end()) << "packet " << g.pcap_cnt;
  }
  // The background traffic does not trip these rules: every alert is in the ground truth.
  size_t alerts = 0;
  for (const auto& [number, sids] : alerts_at) alerts += sids.size();
  EXPECT_EQ(alerts, summary->ground_truth.size());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vigil::trafgen

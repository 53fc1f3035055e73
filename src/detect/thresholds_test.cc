#include "detect/thresholds.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "rules/parser.h"

namespace vigil::detect {
namespace {

using rules::Action;

const rules::Variables& Vars() {
  static const rules::Variables vars = [] {
    rules::Variables v;
    EXPECT_TRUE(v.SetAddress("HOME_NET", "10.0.0.0/8"));
    return v;
  }();
  return vars;
}

rules::Rule ParseOrDie(const std::string& options, uint32_t sid, uint32_t gid = 1) {
  std::string text = "alert tcp any any -> any any (" + options + " sid:" + std::to_string(sid) +
                     "; gid:" + std::to_string(gid) + ";)";
  auto r = rules::ParseRule(text, Vars());
  EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().ToString());
  return r ? *r : rules::Rule{};
}

rules::ThresholdConfig Config(const std::string& text) {
  rules::ThresholdConfig c;
  rules::LoadThresholdText(text, Vars(), "threshold.config", c);
  EXPECT_TRUE(c.failures.empty()) << c.failures[0].ToString();
  return c;
}

packet::Packet Packet(const std::string& src, const std::string& dst) {
  packet::Packet p;
  p.src_ip = *base::IpAddress::Parse(src);
  p.dst_ip = *base::IpAddress::Parse(dst);
  p.ip_version = p.src_ip.is_v4() ? 4 : 6;
  return p;
}

int64_t Ns(double seconds) { return int64_t(std::llround(seconds * 1e9)); }

const char* const A = "192.0.2.1";
const char* const B = "192.0.2.2";
const char* const C = "192.0.2.3";
const char* const D1 = "198.51.100.1";
const char* const D2 = "198.51.100.2";

struct Event {
  double t;  // seconds
  const char* src;
  const char* dst;
  uint32_t rule = 0;  // index in the plan
};

struct Outcome {
  std::vector<int> alerts;   // event indexes with alert
  std::vector<int> matched;  // event indexes with matched
  std::map<int, Action> actions;
};

Outcome RunEvents(EventFilter& filter, const std::vector<Event>& events) {
  Outcome out;
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    FilterVerdict v = filter.OnMatch(e.rule, Packet(e.src, e.dst), Ns(e.t));
    EXPECT_TRUE(v.matched || !v.alert) << "an alert implies a match, event " << i;
    if (v.alert) out.alerts.push_back(int(i));
    if (v.matched) out.matched.push_back(int(i));
    if (v.action) out.actions[int(i)] = *v.action;
  }
  return out;
}

std::vector<int> All(size_t n) {
  std::vector<int> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = int(i);
  return v;
}

// One rule (sid 10, gid 1), an optional threshold.config, a sequence of matches.
struct SeqCase {
  std::string name;
  std::string options;  // the rule's options
  std::string config;   // threshold.config text
  std::vector<Event> events;
  std::vector<int> alerts;
  std::vector<int> matched;  // empty: every event
};

TEST(EventFilter, SequencesOfMatches) {
  const std::vector<SeqCase> cases = {
      {"limit by_src: first 2 per window; window inclusive; per-source counters",
       "threshold:type limit,track by_src,count 2,seconds 10;",
       "",
       {{0, A, D1},
        {1, A, D1},
        {2, B, D1},
        {2, A, D1},
        {3, B, D1},
        {4, B, D1},
        {10, A, D1},    // 10 - 0 <= 10: still the first window
        {10.5, A, D1},  // a new window
        {11, A, D1},
        {12, A, D1}},
       {0, 1, 2, 4, 7, 8},
       {}},
      {"threshold by_src: every 3rd in the window, restarting after each alert",
       "threshold:type threshold,track by_src,count 3,seconds 10;",
       "",
       {{0, A, D1},
        {1, A, D1},
        {2, A, D1},
        {3, A, D1},
        {4, A, D1},
        {5, A, D1},
        {9, A, D1},
        {10, A, D1},
        {10.5, A, D1},  // new window: count 1
        {11, A, D1},
        {12, A, D1}},
       {2, 5, 10},
       {2, 5, 10}},
      {"both by_dst: once at the count, silent after, nothing before",
       "threshold:type both,track by_dst,count 3,seconds 10;",
       "",
       {{0, A, D1},
        {1, B, D1},
        {2, C, D1},
        {3, A, D1},
        {4, A, D2},
        {11, A, D1},
        {12, A, D1},
        {13, A, D1},
        {14, A, D1}},
       {2, 7},
       {2, 3, 7, 8}},
      {"detection_filter by_src: every match past the count",
       "detection_filter:track by_src,count 2,seconds 10;",
       "",
       {{0, A, D1},
        {1, A, D1},
        {2, A, D1},
        {3, A, D1},
        {3, B, D1},
        {11, A, D1},
        {12, A, D1},
        {13, A, D1}},
       {2, 3, 7},
       {2, 3, 7}},
      {"by_both: both directions of a pair share a counter",
       "threshold:type limit,track by_both,count 1,seconds 100;",
       "",
       {{0, A, B}, {1, B, A}, {2, A, C}, {3, C, A}, {4, B, C}},
       {0, 2, 4},
       {}},
      {"by_rule: one counter for every address",
       "threshold:type limit,track by_rule,count 2,seconds 100;",
       "",
       {{0, A, D1}, {1, B, D2}, {2, C, D1}, {101.5, C, D2}},
       {0, 1, 3},
       {}},
      {"IPv6 addresses are tracked too",
       "threshold:type limit,track by_src,count 1,seconds 100;",
       "",
       {{0, "2001:db8::1", "2001:db8::9"},
        {1, "2001:db8::1", "2001:db8::9"},
        {2, "2001:db8::2", "2001:db8::9"}},
       {0, 2},
       {}},
      {"type threshold with count 1 alerts on every match",
       "threshold:type threshold,track by_src,count 1,seconds 10;",
       "",
       {{0, A, D1}, {0, A, D1}, {1, A, D1}},
       {0, 1, 2},
       {}},
      {"detection_filter runs before threshold; the threshold counts only what passed it",
       "threshold:type limit,track by_src,count 1,seconds 100; "
       "detection_filter:track by_src,count 1,seconds 100;",
       "",
       {{0, A, D1}, {1, A, D1}, {2, A, D1}, {3, A, D1}},
       {1},
       {1, 2, 3}},
      // suppress
      {"suppress by_src CIDR",
       "",
       "suppress gen_id 1, sig_id 10, track by_src, ip 10.0.0.0/8\n",
       {{0, "10.1.1.1", D1}, {1, B, D1}, {2, B, "10.1.1.1"}},
       {1, 2},
       {}},
      {"suppress by_dst list",
       "",
       "suppress gen_id 1, sig_id 10, track by_dst, ip [1.2.3.4, 5.6.0.0/16]\n",
       {{0, A, "5.6.7.8"}, {1, A, "1.2.3.4"}, {2, A, "1.2.3.5"}, {3, "1.2.3.4", D1}},
       {2, 3},
       {}},
      {"suppress by_either",
       "",
       "suppress gen_id 1, sig_id 10, track by_either, ip 172.16.0.0/12\n",
       {{0, "172.16.1.1", D1}, {1, A, "172.20.1.1"}, {2, A, D1}},
       {2},
       {}},
      {"suppress by a variable",
       "",
       "suppress gen_id 1, sig_id 10, track by_src, ip $HOME_NET\n",
       {{0, "10.9.9.9", D1}, {1, "11.0.0.1", D1}},
       {1},
       {}},
      {"suppress without track: never alerts, always matches",
       "",
       "suppress gen_id 1, sig_id 10\n",
       {{0, A, D1}, {1, B, D2}},
       {},
       {}},
      {"whole-rule suppress makes the rule noalert: no counting, every match applies",
       "detection_filter:track by_src,count 1,seconds 100;",
       "suppress gen_id 1, sig_id 10\n",
       {{0, A, D1}, {1, A, D1}},
       {},
       {}},
      {"flowbits:noalert: the same",
       "flowbits:set,x; flowbits:noalert; threshold:type threshold,track by_src,count 2,seconds 9;",
       "",
       {{0, A, D1}, {1, A, D1}},
       {},
       {}},
      {"Suricata's noalert keyword: the same",
       "noalert; detection_filter:track by_src,count 5,seconds 100;",
       "",
       {{0, A, D1}, {1, A, D1}},
       {},
       {}},
      {"suppress gen_id 0 sig_id 0 applies to every rule",
       "",
       "suppress gen_id 0, sig_id 0, track by_src, ip 10.0.0.0/8\n",
       {{0, "10.0.0.1", D1}, {1, A, D1}},
       {1},
       {}},
      {"suppress gen_id 1 sig_id 0 applies to the generator's rules",
       "",
       "suppress gen_id 1, sig_id 0, track by_src, ip 10.0.0.0/8\n",
       {{0, "10.0.0.1", D1}},
       {},
       {}},
      {"suppress of another generator does not apply",
       "",
       "suppress gen_id 3, sig_id 0, track by_src, ip 10.0.0.0/8\n"
       "suppress gen_id 1, sig_id 11\n",
       {{0, "10.0.0.1", D1}},
       {0},
       {}},
      {"suppressed matches are not counted by the threshold",
       "threshold:type limit,track by_rule,count 1,seconds 100;",
       "suppress gen_id 1, sig_id 10, track by_src, ip 10.0.0.0/8\n",
       {{0, "10.0.0.1", D1}, {1, B, D1}, {2, B, D1}},
       {1},
       {}},
      // precedence of threshold.config thresholds
      {"an exact threshold line replaces the rule's threshold",
       "threshold:type limit,track by_src,count 1,seconds 100;",
       "threshold gen_id 1, sig_id 10, type limit, track by_src, count 3, seconds 60\n",
       {{0, A, D1}, {1, A, D1}, {2, A, D1}, {3, A, D1}},
       {0, 1, 2},
       {}},
      {"event_filter is the same; the last exact line wins",
       "threshold:type limit,track by_src,count 1,seconds 100;",
       "event_filter gen_id 1, sig_id 10, type limit, track by_src, count 3, seconds 60\n"
       "threshold gen_id 1, sig_id 10, type limit, track by_src, count 2, seconds 60\n",
       {{0, A, D1}, {1, A, D1}, {2, A, D1}},
       {0, 1},
       {}},
      {"an exact threshold line replaces a lone detection_filter",
       "detection_filter:track by_src,count 5,seconds 100;",
       "threshold gen_id 1, sig_id 10, type limit, track by_src, count 1, seconds 60\n",
       {{0, A, D1}, {1, A, D1}},
       {0},
       {}},
      {"with both options, the exact line replaces the threshold and keeps the detection_filter",
       "detection_filter:track by_src,count 1,seconds 100; "
       "threshold:type limit,track by_src,count 1,seconds 100;",
       "threshold gen_id 1, sig_id 10, type limit, track by_src, count 2, seconds 60\n",
       {{0, A, D1}, {1, A, D1}, {2, A, D1}, {3, A, D1}},
       {1, 2},
       {1, 2, 3}},
      {"a wildcard line does not replace the rule's own threshold",
       "threshold:type limit,track by_src,count 1,seconds 100;",
       "threshold gen_id 0, sig_id 0, type limit, track by_src, count 3, seconds 60\n",
       {{0, A, D1}, {1, A, D1}},
       {0},
       {}},
      {"a wildcard line applies to a rule without one; the first wildcard wins",
       "",
       "threshold gen_id 1, sig_id 0, type limit, track by_src, count 2, seconds 60\n"
       "threshold gen_id 0, sig_id 0, type limit, track by_src, count 1, seconds 60\n",
       {{0, A, D1}, {1, A, D1}, {2, A, D1}},
       {0, 1},
       {}},
      {"a wildcard of another generator does not apply",
       "",
       "threshold gen_id 2, sig_id 0, type limit, track by_src, count 1, seconds 60\n",
       {{0, A, D1}, {1, A, D1}},
       {0, 1},
       {}},
  };
  for (const SeqCase& c : cases) {
    SCOPED_TRACE(c.name);
    rules::Rule rule = ParseOrDie(c.options, 10);
    rules::ThresholdConfig config = Config(c.config);
    auto filter = EventFilter::Build({&rule}, &config);
    ASSERT_TRUE(filter.has_value()) << filter.error().ToString();
    Outcome out = RunEvents(**filter, c.events);
    EXPECT_EQ(out.alerts, c.alerts);
    EXPECT_EQ(out.matched, c.matched.empty() ? All(c.events.size()) : c.matched);
    EXPECT_TRUE(out.actions.empty());
  }
}

TEST(EventFilter, RuleWithoutFiltersCostsNothing) {
  rules::Rule plain = ParseOrDie("content:\"x\";", 1);
  rules::Rule limited = ParseOrDie("threshold:type limit,track by_src,count 1,seconds 10;", 2);
  auto filter = EventFilter::Build({&plain, &limited}, nullptr);
  ASSERT_TRUE(filter.has_value());
  EventFilter& f = **filter;
  EXPECT_FALSE(f.HasFilter(0));
  EXPECT_TRUE(f.HasFilter(1));
  EXPECT_FALSE(f.HasFilter(2));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(f.OnMatch(0, Packet(A, D1), Ns(i)), (FilterVerdict{true, true, std::nullopt}));
  }
  EXPECT_EQ(f.OnMatch(7, Packet(A, D1), 0),
            (FilterVerdict{true, true, std::nullopt}));  // past the plan
  EXPECT_EQ(f.entries(), 0u);
  EXPECT_TRUE(f.warnings().empty());
}

TEST(EventFilter, BackoffAlertsOnCountTimesPowersOfTheMultiplier) {
  rules::Rule one = ParseOrDie("threshold:type backoff,track by_flow,count 1,multiplier 2;", 1);
  rules::Rule three = ParseOrDie("threshold:type backoff,track by_flow,count 3,multiplier 10;", 2);
  auto filter = EventFilter::Build({&one, &three}, nullptr);
  ASSERT_TRUE(filter.has_value());
  std::vector<int> alerts_one, alerts_three;
  for (int i = 1; i <= 400; ++i) {
    FilterVerdict a = (*filter)->OnMatch(0, Packet(A, D1), Ns(i), /*flow_id=*/7);
    FilterVerdict b = (*filter)->OnMatch(1, Packet(A, D1), Ns(i), /*flow_id=*/7);
    EXPECT_TRUE(a.matched && b.matched) << "backoff never un-matches (drops apply)";
    if (a.alert) alerts_one.push_back(i);
    if (b.alert) alerts_three.push_back(i);
  }
  EXPECT_EQ(alerts_one, (std::vector<int>{1, 2, 4, 8, 16, 32, 64, 128, 256}));
  EXPECT_EQ(alerts_three, (std::vector<int>{3, 30, 300}));
}

TEST(EventFilter, ByFlowCountsEachFlowApartAndSkipsPacketsWithoutOne) {
  rules::Rule limited = ParseOrDie("threshold:type limit,track by_flow,count 1,seconds 60;", 1);
  auto filter = EventFilter::Build({&limited}, nullptr);
  ASSERT_TRUE(filter.has_value());
  EventFilter& f = **filter;
  // Same addresses, two flows: each gets its own first alert.
  EXPECT_TRUE(f.OnMatch(0, Packet(A, D1), Ns(1), 1).alert);
  EXPECT_FALSE(f.OnMatch(0, Packet(A, D1), Ns(2), 1).alert);
  EXPECT_TRUE(f.OnMatch(0, Packet(A, D1), Ns(3), 2).alert);
  EXPECT_FALSE(f.OnMatch(0, Packet(A, D1), Ns(4), 2).alert);
  // No flow: not counted, every match alerts.
  EXPECT_TRUE(f.OnMatch(0, Packet(A, D1), Ns(5)).alert);
  EXPECT_TRUE(f.OnMatch(0, Packet(A, D1), Ns(6)).alert);
  EXPECT_EQ(f.entries(), 2u);
  // threshold.config accepts by_flow too.
  rules::Rule plain = ParseOrDie("content:\"x\";", 9);
  rules::ThresholdConfig c =
      Config("threshold gen_id 1, sig_id 9, type both, track by_flow, count 2, seconds 60\n");
  auto cfg = EventFilter::Build({&plain}, &c);
  ASSERT_TRUE(cfg.has_value());
  EXPECT_FALSE((*cfg)->OnMatch(0, Packet(A, D1), Ns(1), 5).matched);
  EXPECT_TRUE((*cfg)->OnMatch(0, Packet(A, D1), Ns(2), 5).alert);
  EXPECT_FALSE((*cfg)->OnMatch(0, Packet(A, D1), Ns(3), 6).matched);  // another flow starts over
}

TEST(EventFilter, NoalertRulesAreNeverCounted) {
  rules::Rule setter = ParseOrDie(
      "flowbits:set,x; flowbits:noalert; detection_filter:track by_src,count 1,seconds 10;", 1);
  rules::Rule quiet = ParseOrDie("noalert;", 2);
  auto filter = EventFilter::Build({&setter, &quiet}, nullptr);
  ASSERT_TRUE(filter.has_value());
  EXPECT_TRUE((*filter)->HasFilter(0));
  EXPECT_TRUE((*filter)->HasFilter(1));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*filter)->OnMatch(0, Packet(A, D1), Ns(i)),
              (FilterVerdict{true, false, std::nullopt}));
    EXPECT_EQ((*filter)->OnMatch(1, Packet(A, D1), Ns(i)),
              (FilterVerdict{true, false, std::nullopt}));
  }
  EXPECT_EQ((*filter)->entries(), 0u);
}

TEST(EventFilter, PacketsWithoutIpAreNotThresholded) {
  rules::Rule limited = ParseOrDie("threshold:type limit,track by_rule,count 1,seconds 10;", 10);
  rules::Rule silenced = ParseOrDie("", 11);
  rules::ThresholdConfig config = Config("suppress gen_id 1, sig_id 11\n");
  auto filter = EventFilter::Build({&limited, &silenced}, &config);
  ASSERT_TRUE(filter.has_value());
  packet::Packet no_ip;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*filter)->OnMatch(0, no_ip, Ns(i)), (FilterVerdict{true, true, std::nullopt}));
    EXPECT_EQ((*filter)->OnMatch(1, no_ip, Ns(i)), (FilterVerdict{true, false, std::nullopt}));
  }
  EXPECT_EQ((*filter)->entries(), 0u);
}

TEST(EventFilter, RateFilterChangesTheActionForTimeout) {
  rules::Rule rule = ParseOrDie("", 20);
  rules::ThresholdConfig config = Config(
      "rate_filter gen_id 1, sig_id 20, track by_src, count 3, seconds 10, new_action drop, "
      "timeout 5\n");
  auto filter = EventFilter::Build({&rule}, &config);
  ASSERT_TRUE(filter.has_value());
  const std::vector<Event> events = {
      {0, A, D1},    // 0 count 1
      {1, A, D1},    // 1 count 2
      {2, A, D1},    // 2 count 3
      {3, A, D1},    // 3 count 4 > 3: drop, active since second 3
      {3.5, B, D1},  // 4 B has its own counter
      {4, A, D1},    // 5 drop
      {8, A, D1},    // 6 drop (8 - 3 = 5 <= 5)
      {8.9, A, D1},  // 7 drop (whole seconds: 8 - 3)
      {9, A, D1},    // 8 9 - 3 > 5: ends, not counted
      {9.5, A, D1},  // 9 still the window of t=0 (9.5 <= 10): count 5 > 3: drop since 9
      {14, A, D1},   // 10 drop (14 - 9 = 5)
      {15, A, D1},   // 11 ends
      {30, A, D1},   // 12 a new window: count 1
      {31, A, D1},   // 13 count 2
  };
  Outcome out = RunEvents(**filter, events);
  EXPECT_EQ(out.alerts, All(events.size()));  // rate_filter never withholds the alert
  EXPECT_EQ(out.matched, All(events.size()));
  std::map<int, Action> expected = {{3, Action::kDrop}, {5, Action::kDrop}, {6, Action::kDrop},
                                    {7, Action::kDrop}, {9, Action::kDrop}, {10, Action::kDrop}};
  EXPECT_EQ(out.actions, expected);
}

TEST(EventFilter, RateFilterPrecedenceAndApplyTo) {
  rules::Rule own = ParseOrDie("threshold:type limit,track by_src,count 100,seconds 10;", 30);
  rules::Rule plain = ParseOrDie("", 31);
  rules::Rule narrowed = ParseOrDie("", 32);
  rules::Rule configured = ParseOrDie("", 33);
  rules::Rule own2 = ParseOrDie("detection_filter:track by_src,count 100,seconds 10;", 34);
  rules::ThresholdConfig config = Config(
      "rate_filter gen_id 1, sig_id 30, track by_rule, count 1, seconds 10, new_action drop, "
      "timeout 60\n"
      "rate_filter gen_id 1, sig_id 0, track by_rule, count 1, seconds 10, new_action reject, "
      "timeout 60\n"
      "rate_filter gen_id 1, sig_id 32, track by_src, count 1, seconds 10, new_action pass, "
      "timeout 60, apply_to [10.0.0.0/8]\n"
      "threshold gen_id 1, sig_id 33, type limit, track by_rule, count 2, seconds 100\n");
  auto filter = EventFilter::Build({&own, &plain, &narrowed, &configured, &own2}, &config);
  ASSERT_TRUE(filter.has_value());
  EventFilter& f = **filter;
  // A rule's own threshold / detection_filter wins over an exact and a wildcard rate_filter.
  std::vector<std::string> warnings;
  for (const auto& w : f.warnings()) warnings.push_back(w.ToString());
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("rate_filter gen_id 1, sig_id 30: the rule has its own"),
            std::string::npos)
      << warnings[0];
  EXPECT_EQ(f.warnings()[0].line, 1u);
  EXPECT_NE(warnings[1].find("rate_filter gen_id 1, sig_id 0: not applied to 1 rule(s)"),
            std::string::npos)
      << warnings[1];
  for (int i = 0; i < 3; ++i) EXPECT_EQ(f.OnMatch(0, Packet(A, D1), Ns(i)).action, std::nullopt);
  // The wildcard applies to a plain rule: the second match exceeds count 1.
  EXPECT_EQ(f.OnMatch(1, Packet(A, D1), Ns(0)).action, std::nullopt);
  EXPECT_EQ(f.OnMatch(1, Packet(B, D2), Ns(1)).action, Action::kReject);
  // apply_to limits the exact rate_filter of sid 32 to sources in 10.0.0.0/8.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(f.OnMatch(2, Packet(A, D1), Ns(i)).action, std::nullopt);
  EXPECT_EQ(f.OnMatch(2, Packet("10.0.0.1", D1), Ns(3)).action, std::nullopt);
  EXPECT_EQ(f.OnMatch(2, Packet("10.0.0.1", D1), Ns(4)).action, Action::kPass);
  // A config threshold and the wildcard rate_filter both apply: limit first, then the rate.
  EXPECT_EQ(f.OnMatch(3, Packet(A, D1), Ns(0)), (FilterVerdict{true, true, std::nullopt}));
  EXPECT_EQ(f.OnMatch(3, Packet(A, D1), Ns(1)), (FilterVerdict{true, true, Action::kReject}));
  // Past the limit the match is silent and the rate_filter is not consulted.
  EXPECT_EQ(f.OnMatch(3, Packet(A, D1), Ns(2)), (FilterVerdict{true, false, std::nullopt}));
}

TEST(EventFilter, WarnsAboutEntriesThatCannotApply) {
  rules::Rule own = ParseOrDie("detection_filter:track by_src,count 2,seconds 10;", 1);
  rules::Rule other = ParseOrDie("", 2);
  rules::ThresholdConfig config = Config(
      "suppress gen_id 1, sig_id 999\n"
      "threshold gen_id 0, sig_id 5, type limit, track by_src, count 1, seconds 60\n"
      "threshold gen_id 0, sig_id 0, type limit, track by_src, count 1, seconds 60\n"
      "rate_filter gen_id 7, sig_id 3, track by_src, count 1, seconds 1, new_action drop, "
      "timeout 1\n");
  auto filter = EventFilter::Build({&own, &other}, &config);
  ASSERT_TRUE(filter.has_value());
  std::vector<std::pair<uint32_t, std::string>> got;
  for (const auto& w : (*filter)->warnings()) got.emplace_back(w.line, w.message);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].first, 1u);
  EXPECT_NE(got[0].second.find("suppress gen_id 1, sig_id 999: no such rule"), std::string::npos);
  EXPECT_EQ(got[1].first, 2u);
  EXPECT_NE(got[1].second.find("a sig_id needs a gen_id"), std::string::npos);
  EXPECT_EQ(got[2].first, 4u);
  EXPECT_NE(got[2].second.find("rate_filter gen_id 7, sig_id 3: no such rule"), std::string::npos);
  EXPECT_EQ(got[3].first, 3u);
  EXPECT_NE(got[3].second.find("not applied to 1 rule(s)"), std::string::npos);
  // The wildcard applies to rule 2 only; rule 1 keeps its detection_filter.
  EXPECT_EQ((*filter)->OnMatch(1, Packet(A, D1), 0).alert, true);
  EXPECT_EQ((*filter)->OnMatch(1, Packet(A, D1), 1).alert, false);
  EXPECT_EQ((*filter)->OnMatch(0, Packet(A, D1), 0).matched, false);
}

TEST(EventFilter, BuildFailsOnBadInput) {
  rules::Rule rule = ParseOrDie("", 1);
  EXPECT_FALSE(EventFilter::Build({&rule, nullptr}, nullptr).has_value());
  EXPECT_FALSE(EventFilter::Build({&rule}, nullptr, {.max_entries = 0}).has_value());
  EXPECT_TRUE(EventFilter::Build({}, nullptr).has_value());
}

TEST(EventFilter, FullTableEvictsTheOldestWindowAndCounts) {
  rules::Rule rule = ParseOrDie("threshold:type limit,track by_src,count 1,seconds 100;", 1);
  // Two counters fit: every new source evicts the oldest one, so every match is a first match.
  {
    auto filter = EventFilter::Build({&rule}, nullptr, {.max_entries = 2});
    ASSERT_TRUE(filter.has_value());
    std::vector<Event> events = {{0, A, D1}, {1, B, D1}, {2, C, D1},
                                 {3, A, D1}, {4, B, D1}, {5, C, D1}};
    Outcome out = RunEvents(**filter, events);
    EXPECT_EQ(out.alerts, All(6));
    EXPECT_EQ((*filter)->entries(), 2u);
    EXPECT_EQ((*filter)->evictions(), 4u);
  }
  // With room for three, the same matches are limited.
  {
    auto filter = EventFilter::Build({&rule}, nullptr, {.max_entries = 3});
    ASSERT_TRUE(filter.has_value());
    std::vector<Event> events = {{0, A, D1}, {1, B, D1}, {2, C, D1},
                                 {3, A, D1}, {4, B, D1}, {5, C, D1}};
    Outcome out = RunEvents(**filter, events);
    EXPECT_EQ(out.alerts, (std::vector<int>{0, 1, 2}));
    EXPECT_EQ((*filter)->evictions(), 0u);
  }
}

TEST(EventFilter, EvictionFollowsWindowStartsNotInsertion) {
  rules::Rule rule = ParseOrDie("threshold:type limit,track by_src,count 1,seconds 10;", 1);
  auto filter = EventFilter::Build({&rule}, nullptr, {.max_entries = 2});
  ASSERT_TRUE(filter.has_value());
  std::vector<Event> events = {
      {0, A, D1},   // 0 A's window starts at 0
      {5, B, D1},   // 1 B's at 5
      {11, A, D1},  // 2 A's window restarts at 11: A is now the newest
      {12, C, D1},  // 3 full: evicts B (window from 5), not A
      {13, A, D1},  // 4 A kept: second match in its window, silent
      {14, B, D1},  // 5 B was evicted: a first match again; evicts A (11) before C (12)
      {15, C, D1},  // 6 C kept: silent
  };
  Outcome out = RunEvents(**filter, events);
  EXPECT_EQ(out.alerts, (std::vector<int>{0, 1, 2, 3, 5}));
  EXPECT_EQ((*filter)->evictions(), 2u);
}

TEST(EventFilter, ManyKeysChurnThroughABoundedTable) {
  rules::Rule rule = ParseOrDie("threshold:type limit,track by_src,count 1,seconds 1000000;", 1);
  auto filter = EventFilter::Build({&rule}, nullptr, {.max_entries = 1000});
  ASSERT_TRUE(filter.has_value());
  EventFilter& f = **filter;
  auto src = [](uint32_t i) {
    return std::to_string(10 + i / 65536) + "." + std::to_string(i / 256 % 256) + "." +
           std::to_string(i % 256) + ".1";
  };
  for (uint32_t i = 0; i < 5000; ++i) {
    ASSERT_TRUE(f.OnMatch(0, Packet(src(i), D1), Ns(i)).alert) << i;
  }
  EXPECT_EQ(f.entries(), 1000u);
  EXPECT_EQ(f.evictions(), 4000u);
  // The last 1000 sources are all still found (second match: silent), in any order.
  for (uint32_t i = 4999; i >= 4000; --i) {
    ASSERT_FALSE(f.OnMatch(0, Packet(src(i), D1), Ns(6000)).alert) << i;
  }
  EXPECT_EQ(f.evictions(), 4000u);
  // An evicted one starts over, and evicts one of them.
  EXPECT_TRUE(f.OnMatch(0, Packet(src(0), D1), Ns(6001)).alert);
  EXPECT_EQ(f.evictions(), 4001u);
}

TEST(EventFilter, WorkerFiltersShareRulesNotCounters) {
  rules::Rule rule = ParseOrDie("threshold:type limit,track by_rule,count 1,seconds 100;", 1);
  auto first = EventFilter::Build({&rule}, nullptr);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE((*first)->OnMatch(0, Packet(A, D1), 0).alert);
  EXPECT_FALSE((*first)->OnMatch(0, Packet(A, D1), 1).alert);
  std::unique_ptr<EventFilter> second = (*first)->NewWorkerFilter();
  EXPECT_TRUE(second->HasFilter(0));
  EXPECT_EQ(second->entries(), 0u);
  EXPECT_TRUE(second->OnMatch(0, Packet(A, D1), 2).alert);
  EXPECT_FALSE(second->OnMatch(0, Packet(A, D1), 3).alert);
}

TEST(EventFilter, ExtremeCaptureTimesSaturate) {
  packet::Packet p = Packet(A, D1);
  p.ts = {3, 5};
  EXPECT_EQ(CaptureTimeNs(p), 3'000'000'005);
  p.ts = {INT64_MAX / 1000, 0};
  EXPECT_EQ(CaptureTimeNs(p), INT64_MAX);
  p.ts = {INT64_MIN / 1000, 0};
  EXPECT_EQ(CaptureTimeNs(p), INT64_MIN);
  p.ts = {9'223'372'036, 854'775'807};  // exactly INT64_MAX nanoseconds
  EXPECT_EQ(CaptureTimeNs(p), INT64_MAX);
  p.ts = {9'223'372'036, 854'775'808};
  EXPECT_EQ(CaptureTimeNs(p), INT64_MAX);

  rules::Rule rule = ParseOrDie("threshold:type limit,track by_src,count 1,seconds 10;", 40);
  rules::Rule rated = ParseOrDie("", 41);
  rules::ThresholdConfig config = Config(
      "rate_filter gen_id 1, sig_id 41, track by_src, count 1, seconds 10, new_action drop, "
      "timeout 1\n");
  auto filter = EventFilter::Build({&rule, &rated}, &config);
  ASSERT_TRUE(filter.has_value());
  EventFilter& f = **filter;
  EXPECT_TRUE(f.OnMatch(0, Packet(A, D1), INT64_MIN).alert);
  EXPECT_TRUE(f.OnMatch(0, Packet(A, D1), INT64_MAX).alert);  // far past the window
  EXPECT_FALSE(f.OnMatch(0, Packet(A, D1), 0).alert);  // earlier than the window start: in it
  EXPECT_EQ(f.OnMatch(1, Packet(A, D1), INT64_MIN).action, std::nullopt);
  EXPECT_EQ(f.OnMatch(1, Packet(A, D1), INT64_MIN + 1).action, Action::kDrop);
  EXPECT_EQ(f.OnMatch(1, Packet(A, D1), INT64_MAX).action, std::nullopt);  // timeout over
}

// ---------------------------------------------------------------------------------------------
// Differential: the filter against a naive reference that keeps every timestamp of every key and
// recomputes each answer from the whole history.

struct RefCounter {
  enum Kind { kLimit, kThreshold, kBoth, kDetection, kRate } kind;
  std::string track;  // by_src by_dst by_both by_rule
  uint32_t count;
  uint32_t seconds;
  std::string new_action;  // rate only
  uint32_t timeout = 0;
};

std::string RefKey(const std::string& track, const std::string& src, const std::string& dst) {
  if (track == "by_src") return "s" + src;
  if (track == "by_dst") return "d" + dst;
  if (track == "by_both") return "p" + std::min(src, dst) + "," + std::max(src, dst);
  return "r";
}

// 0 no match, 1 alert, 2 silent; from the positions of the history in its windows.
int RefCount(const RefCounter& c, const std::vector<int64_t>& history) {
  const int64_t window = int64_t(c.seconds) * 1'000'000'000;
  int64_t start = history[0];
  uint64_t position = 0;
  for (int64_t t : history) {
    if (position == 0 || t - start > window) {
      start = t;
      position = 1;
    } else {
      ++position;
    }
  }
  switch (c.kind) {
    case RefCounter::kLimit:
      return position <= c.count ? 1 : 2;
    case RefCounter::kThreshold:
      return position % c.count == 0 ? 1 : 0;
    case RefCounter::kBoth:
      return position == c.count ? 1 : position > c.count ? 2 : 0;
    case RefCounter::kDetection:
      return position > c.count ? 1 : 0;
    case RefCounter::kRate:
      break;
  }
  return 1;
}

// Whether the rate_filter's new action holds for the last match of `history`, replaying it.
bool RefRate(const RefCounter& c, const std::vector<int64_t>& history) {
  const int64_t window = int64_t(c.seconds) * 1'000'000'000;
  auto second = [](int64_t ns) { return int64_t(std::floor(double(ns) / 1e9)); };
  int64_t start = 0, since = 0;
  uint64_t count = 0;
  bool active = false, holds = false;
  for (size_t i = 0; i < history.size(); ++i) {
    int64_t t = history[i];
    holds = false;
    if (i == 0) {
      start = t;
      count = 1;
    } else if (active) {
      if (second(t) - since > int64_t(c.timeout)) {
        active = false;
      } else {
        holds = true;
      }
    } else if (t - start <= window) {
      if (++count > c.count) {
        active = true;
        since = second(t);
        holds = true;
      }
    } else {
      start = t;
      count = 1;
    }
  }
  return holds;
}

TEST(EventFilter, MatchesANaiveReferenceOnRandomSequences) {
  std::mt19937 rng(20240605);
  const char* const kTypes[] = {"limit", "threshold", "both"};
  const char* const kTracks[] = {"by_src", "by_dst", "by_both", "by_rule"};
  const char* const kSources[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::1"};
  const char* const kDests[] = {"198.51.100.1", "198.51.100.2", "192.0.2.1"};
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  size_t alerts = 0, silent = 0, nomatch = 0, actions = 0;
  for (int trial = 0; trial < 60; ++trial) {
    // Six rules: a threshold, a detection_filter, both, or none (then maybe a rate_filter).
    std::vector<rules::Rule> rules;
    std::vector<std::vector<RefCounter>> counters;
    std::string config;
    for (uint32_t r = 0; r < 6; ++r) {
      std::vector<RefCounter> mine;
      std::string options;
      int shape = pick(5);
      if (shape == 1 || shape == 3) {  // detection_filter first (it runs first)
        RefCounter c{RefCounter::kDetection, kTracks[pick(4)], uint32_t(1 + pick(4)),
                     uint32_t(1 + pick(5))};
        options += "detection_filter:track " + c.track + ",count " + std::to_string(c.count) +
                   ",seconds " + std::to_string(c.seconds) + "; ";
        mine.push_back(c);
      }
      if (shape == 2 || shape == 3) {
        int type = pick(3);
        RefCounter c{RefCounter::Kind(type), kTracks[pick(4)], uint32_t(1 + pick(4)),
                     uint32_t(1 + pick(5))};
        options += std::string("threshold:type ") + kTypes[type] + ",track " + c.track + ",count " +
                   std::to_string(c.count) + ",seconds " + std::to_string(c.seconds) + "; ";
        mine.push_back(c);
      }
      if (shape == 4) {
        RefCounter c{RefCounter::kRate,     kTracks[pick(4)], uint32_t(1 + pick(4)),
                     uint32_t(1 + pick(5)), "drop",           uint32_t(pick(4))};
        config += "rate_filter gen_id 1, sig_id " + std::to_string(r + 1) + ", track " + c.track +
                  ", count " + std::to_string(c.count) + ", seconds " + std::to_string(c.seconds) +
                  ", new_action drop, timeout " + std::to_string(c.timeout) + "\n";
        mine.push_back(c);
      }
      rules.push_back(ParseOrDie(options, r + 1));
      counters.push_back(mine);
    }
    rules::ThresholdConfig cfg = Config(config);
    std::vector<const rules::Rule*> ptrs;
    for (const auto& r : rules) ptrs.push_back(&r);
    auto filter = EventFilter::Build(ptrs, &cfg);
    ASSERT_TRUE(filter.has_value());
    ASSERT_TRUE((*filter)->warnings().empty());

    std::map<std::string, std::vector<int64_t>> history;  // (rule, counter, key) -> times
    int64_t now = 0;
    for (int step = 0; step < 1500; ++step) {
      // Steps of 0 to 1.5 s, half of them whole seconds so windows end exactly on matches.
      int64_t step_ns = pick(2) == 0
                            ? int64_t(pick(3)) * 500'000'000
                            : std::uniform_int_distribution<int64_t>(0, 1'500'000'000)(rng);
      now += step_ns;
      uint32_t r = uint32_t(pick(6));
      std::string src = kSources[pick(4)], dst = kDests[pick(3)];
      FilterVerdict got = (*filter)->OnMatch(r, Packet(src, dst), now);

      FilterVerdict want;
      for (size_t k = 0; k < counters[r].size(); ++k) {
        const RefCounter& c = counters[r][k];
        auto& h =
            history[std::to_string(r) + "/" + std::to_string(k) + "/" + RefKey(c.track, src, dst)];
        h.push_back(now);
        if (c.kind == RefCounter::kRate) {
          if (RefRate(c, h)) want.action = Action::kDrop;
          continue;
        }
        int result = RefCount(c, h);
        if (result == 0) want = {false, false, std::nullopt};
        if (result == 2) want = {true, false, std::nullopt};
        if (result != 1) break;
      }
      ASSERT_EQ(got, want) << "trial " << trial << " step " << step << " rule " << r << " "
                           << rules::ToText(rules[r]) << " src " << src << " dst " << dst << " t "
                           << now;
      alerts += want.alert;
      silent += want.matched && !want.alert;
      nomatch += !want.matched;
      actions += want.action.has_value();
    }
  }
  // The sequences exercise every outcome.
  EXPECT_GT(alerts, 1000u);
  EXPECT_GT(silent, 1000u);
  EXPECT_GT(nomatch, 1000u);
  EXPECT_GT(actions, 100u);
}

}  // namespace
}  // namespace vigil::detect

namespace vigil::detect {
namespace {

// A reload builds a new plan in which rules may have moved, been added or changed: counters go on
// for the same rule and settings, and only for them.
TEST(EventFilter, CarryCountersKeepsWindowsOfTheSameRulesAcrossPlans) {
  rules::Rule limited = ParseOrDie("threshold:type limit,track by_src,count 1,seconds 60;", 2);
  rules::Rule changed = ParseOrDie("threshold:type limit,track by_src,count 1,seconds 60;", 3);
  auto before = EventFilter::Build({&limited, &changed}, nullptr);
  ASSERT_TRUE(before.has_value());
  std::shared_ptr<EventFilter> old = (*before)->NewSharedFilter();
  EXPECT_TRUE(old->OnMatch(0, Packet(A, D1), Ns(1)).alert);
  EXPECT_TRUE(old->OnMatch(1, Packet(A, D1), Ns(1)).alert);

  // The new plan: a new rule first (indices move), sid 2 unchanged, sid 3 with another count.
  rules::Rule added = ParseOrDie("threshold:type limit,track by_src,count 1,seconds 60;", 9);
  rules::Rule changed_now = ParseOrDie("threshold:type limit,track by_src,count 2,seconds 60;", 3);
  auto after = EventFilter::Build({&added, &limited, &changed_now}, nullptr);
  ASSERT_TRUE(after.has_value());
  std::shared_ptr<EventFilter> now = (*after)->NewSharedFilter();
  now->CarryCounters(*old);
  EXPECT_EQ(now->entries(), 1u) << "only sid 2's counter has a match in the new plan";
  EXPECT_FALSE(now->OnMatch(1, Packet(A, D1), Ns(2)).alert) << "sid 2's window goes on";
  EXPECT_TRUE(now->OnMatch(0, Packet(A, D1), Ns(2)).alert) << "sid 9 is new";
  EXPECT_TRUE(now->OnMatch(2, Packet(A, D1), Ns(2)).alert) << "sid 3 changed: counts afresh";
  EXPECT_TRUE(now->OnMatch(1, Packet(A, D1), Ns(62)).alert) << "and the window still ends";
}

}  // namespace
}  // namespace vigil::detect

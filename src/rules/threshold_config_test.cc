#include "rules/threshold_config.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil::rules {
namespace {

ThresholdConfig Load(const std::string& text) {
  static Variables vars = [] {
    Variables v;
    EXPECT_TRUE(v.SetAddress("HOME_NET", "10.0.0.0/8"));
    return v;
  }();
  ThresholdConfig c;
  LoadThresholdText(text, vars, "threshold.config", c);
  return c;
}

TEST(ThresholdConfig, ParsesEveryLineKind) {
  ThresholdConfig c = Load(
      "# Suricata / Snort threshold.config\n"
      "suppress gen_id 1, sig_id 2003614\n"
      "suppress gen_id 1, sig_id 2003615, track by_src, ip 217.110.97.128/25\n"
      "suppress gen_id 1,sig_id 7,track by_either,ip [1.2.3.4, 5.6.7.0/24]\n"
      "suppress gen_id 1, sig_id 8, track by_dst, ip $HOME_NET\n"
      "threshold gen_id 1, sig_id 10, type limit, track by_src, count 1, seconds 60\n"
      "event_filter gen_id 1, sig_id 11, seconds 5, count 3, track by_dst, type both\n"
      "rate_filter gen_id 135, sig_id 1, track by_src, count 100, seconds 1, new_action drop, "
      "timeout 10\n"
      "rate_filter gen_id 1, sig_id 12, track by_rule, count 5, seconds 2, new_action sdrop, "
      "timeout 0, apply_to [10.1.0.0/16]\n");
  ASSERT_TRUE(c.failures.empty()) << c.failures[0].ToString();
  ASSERT_EQ(c.suppressions.size(), 4u);
  EXPECT_EQ(c.suppressions[0].sid, 2003614u);
  EXPECT_FALSE(c.suppressions[0].track.has_value());
  EXPECT_EQ(c.suppressions[1].track, Track::kBySrc);
  ASSERT_TRUE(c.suppressions[1].ip.has_value());
  EXPECT_TRUE(c.suppressions[1].ip->Matches(*base::IpAddress::Parse("217.110.97.200")));
  EXPECT_FALSE(c.suppressions[1].ip->Matches(*base::IpAddress::Parse("217.110.97.1")));
  EXPECT_EQ(c.suppressions[2].track, Track::kByEither);
  EXPECT_TRUE(c.suppressions[2].ip->Matches(*base::IpAddress::Parse("5.6.7.9")));
  EXPECT_TRUE(c.suppressions[3].ip->Matches(*base::IpAddress::Parse("10.9.9.9")));
  EXPECT_EQ(c.suppressions[3].line, 5u);
  ASSERT_EQ(c.thresholds.size(), 2u);
  EXPECT_EQ(c.thresholds[0],
            (ThresholdEntry{false, 1, 10, ThresholdOption::Type::kLimit, Track::kBySrc, 1, 60, 6}));
  EXPECT_EQ(c.thresholds[1],
            (ThresholdEntry{true, 1, 11, ThresholdOption::Type::kBoth, Track::kByDst, 3, 5, 7}));
  ASSERT_EQ(c.rate_filters.size(), 2u);
  EXPECT_EQ(c.rate_filters[0].gid, 135u);
  EXPECT_EQ(c.rate_filters[0].new_action, Action::kDrop);
  EXPECT_EQ(c.rate_filters[0].timeout, 10u);
  EXPECT_FALSE(c.rate_filters[0].apply_to.has_value());
  EXPECT_EQ(c.rate_filters[1].track, Track::kByRule);
  EXPECT_EQ(c.rate_filters[1].new_action, Action::kSdrop);
  ASSERT_TRUE(c.rate_filters[1].apply_to.has_value());
  EXPECT_EQ(c.size(), 8u);
}

TEST(ThresholdConfig, EachBadLineIsOneFailureWithItsColumn) {
  struct Case {
    std::string line;
    std::string marker;  // the error's column is that of this text in `line`; "" = one past end
    std::string message;
  };
  const Case cases[] = {
      {"supress gen_id 1, sig_id 2", "supress", "expected suppress, threshold"},
      {"suppress gen_id 1", "", "suppress needs 'sig_id ...'"},
      {"suppress gen_id x, sig_id 2", "x,", "gen_id must be an integer"},
      {"suppress gen_id 1, sig_id 99999999999", "99999999999", "sig_id must be an integer"},
      {"suppress gen_id 1, sig_id 2, track by_src", "track", "needs 'ip ...'"},
      {"suppress gen_id 1, sig_id 2, ip 1.2.3.4", "ip", "needs 'track"},
      {"suppress gen_id 1, sig_id 2, track by_rule, ip 1.2.3.4", "by_rule", "track must be one of"},
      {"suppress gen_id 1, sig_id 2, track by_src, ip 1.2.3.4/40", "40", "invalid prefix length"},
      {"suppress gen_id 1, sig_id 2, track by_src, ip $NOPE", "$NOPE", "undefined"},
      {"suppress gen_id 1, sig_id 2, bogus 3", "bogus", "unknown suppress argument 'bogus'"},
      {"suppress gen_id 1, gen_id 1, sig_id 2", "gen_id 1, sig", "'gen_id' given twice"},
      {"suppress gen_id 1,, sig_id 2", ", sig", "empty argument"},
      {"threshold gen_id 1, sig_id 2, type limit, track by_src, count 1", "", "needs 'seconds"},
      {"threshold gen_id 1, sig_id 2, type sometimes, track by_src, count 1, seconds 1",
       "sometimes", "type must be limit, threshold or both"},
      {"threshold gen_id 1, sig_id 2, type limit, track by_src, count 0, seconds 1", "0,",
       "count must be an integer from 1"},
      {"event_filter gen_id 1, sig_id 2, type limit, track by_ip, count 1, seconds 1", "by_ip",
       "track must be one of"},
      {"rate_filter gen_id 1, sig_id 2, track by_src, count 1, seconds 1, new_action block, "
       "timeout 1",
       "block", "new_action must be"},
      {"rate_filter gen_id 1, sig_id 2, track by_src, count 1, seconds 1, new_action drop", "",
       "needs 'timeout"},
      {"rate_filter gen_id 1, sig_id 2, track by_src, count 1, seconds 1, new_action drop, "
       "timeout",
       "timeout", "timeout needs a value"},
  };
  for (const Case& c : cases) {
    ThresholdConfig config = Load("# header\n" + c.line + "\n" + "suppress gen_id 1, sig_id 1\n");
    ASSERT_EQ(config.failures.size(), 1u) << c.line;
    EXPECT_EQ(config.suppressions.size() + config.thresholds.size() + config.rate_filters.size(),
              1u)
        << "the good line after the bad one still loads: " << c.line;
    const base::Error& e = config.failures[0];
    EXPECT_EQ(e.file, "threshold.config");
    EXPECT_EQ(e.line, 2u);
    size_t col = c.marker.empty() ? c.line.size() + 1 : c.line.find(c.marker) + 1;
    EXPECT_EQ(e.column, col) << c.line << "\n" << e.ToString();
    EXPECT_NE(e.message.find(c.message), std::string::npos) << c.line << "\n" << e.ToString();
  }
}

TEST(ThresholdConfig, MissingFileIsOneFailure) {
  Variables vars;
  ThresholdConfig c;
  LoadThresholdFile("/nonexistent/threshold.config", vars, c);
  ASSERT_EQ(c.failures.size(), 1u);
  EXPECT_EQ(c.failures[0].file, "/nonexistent/threshold.config");
}

}  // namespace
}  // namespace vigil::rules

#include "rules/rule_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace vigil::rules {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the test's temporary directory, removed afterwards.
class RuleFileTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) /
           ("vigil_rules_" +
            std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

  fs::path dir_;
  Variables vars_;
};

// A ruleset folder: its .rules files, sorted; other files and subfolders left out; a folder that
// cannot be read is an error naming it.
TEST_F(RuleFileTest, RuleFilesInListsTheFoldersRuleFilesSorted) {
  const std::string b = Write("b.rules", "");
  const std::string a = Write("a.rules", "");
  Write("notes.txt", "");
  Write("sub/c.rules", "");
  auto files = RuleFilesIn(dir_.string());
  ASSERT_TRUE(files) << files.error().ToString();
  EXPECT_EQ(*files, (std::vector<std::string>{a, b}));
  auto missing = RuleFilesIn((dir_ / "absent").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("absent"), std::string::npos) << missing.error().message;
}

TEST_F(RuleFileTest, CommentsBlankLinesAndContinuations) {
  std::string path = Write("a.rules",
                           "# a comment\n"
                           "\n"
                           "   \t\n"
                           "# alert tcp any any -> any any (msg:\"commented out\"; sid:9;)\n"
                           "  #alert tcp any any -> any any (sid:10;)\n"
                           "alert tcp any any -> any any (msg:\"one\"; sid:1;)\n"
                           "alert tcp any any -> any any \\\n"
                           "  (msg:\"two\"; \\\n"
                           "   content:\"x\"; sid:2;)\r\n"
                           "alert tcp any any -> any any (msg:\"three\"; sid:3;)");
  LoadReport report;
  LoadRuleFile(path, vars_, report);
  ASSERT_TRUE(report.failures.empty()) << report.failures[0].ToString();
  ASSERT_EQ(report.loaded(), 3u);
  EXPECT_EQ(report.rules[0].sid, 1u);
  EXPECT_EQ(report.rules[0].line, 6u);
  EXPECT_EQ(report.rules[0].file, path);
  EXPECT_EQ(report.rules[1].msg, "two");
  EXPECT_EQ(report.rules[1].line, 7u);  // a continued rule is at its first line
  EXPECT_EQ(report.rules[2].line, 10u);
  EXPECT_EQ(report.disabled(), 0u);
  EXPECT_EQ(report.enabled(), 3u);
}

TEST_F(RuleFileTest, ErrorColumnCountsInTheJoinedText) {
  std::string path = Write("a.rules",
                           "alert tcp any any -> any any \\\n"
                           "(msg:\"x\"; contnet:\"y\"; sid:1;)\n");
  LoadReport report;
  LoadRuleFile(path, vars_, report);
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_EQ(report.failures[0].line, 1u);
  // "alert tcp any any -> any any " is 29 characters, then "(msg:\"x\"; " is 10 more.
  EXPECT_EQ(report.failures[0].column, 40u);
  EXPECT_EQ(report.failures[0].ToString(), path + ":1:40: unknown rule option 'contnet'");
}

TEST_F(RuleFileTest, FailuresDoNotStopTheFile) {
  std::string path = Write("a.rules",
                           "alert tcp any any -> any any (sid:1;)\n"
                           "alert tcp any any -> any any (bogus; sid:2;)\n"
                           "alert tcp any any -> any any (flow:established; sid:3;)\n"
                           "ipvar HOME_NET any\n"
                           "alert tcp any any -> any any (sid:4;)\n");
  LoadReport report;
  LoadRuleFile(path, vars_, report);
  EXPECT_EQ(report.loaded(), 3u);
  EXPECT_EQ(report.disabled(), 1u);  // the default support check: flow is no payload content
  EXPECT_EQ(report.enabled(), 2u);
  EXPECT_EQ(report.rules[1].disabled_reason, "unsupported keyword flow");

  LoadReport parse_only;
  parse_only.support_check = nullptr;
  LoadRuleFile(path, vars_, parse_only);
  EXPECT_EQ(parse_only.disabled(), 0u);  // the parser itself disables nothing
  ASSERT_EQ(report.failures.size(), 2u);
  EXPECT_EQ(report.failures[0].line, 2u);
  EXPECT_EQ(report.failures[1].line, 4u);
  EXPECT_NE(report.failures[1].message.find("'ipvar' is not supported"), std::string::npos);
}

TEST_F(RuleFileTest, SupportCheckDisablesWithItsReason) {
  std::string path = Write("a.rules",
                           "alert tcp any any -> any any (sid:1;)\n"
                           "alert tcp any any -> any any (flow:established; sid:3;)\n"
                           "alert tcp any any -> any any (flow:established; sid:3; rev:2;)\n");
  LoadReport report;
  std::vector<uint32_t> checked;
  report.support_check = [&checked](const Rule& r) -> std::optional<std::string> {
    checked.push_back(r.sid);
    if (r.options.empty()) return std::nullopt;
    return "unsupported keyword " + OptionKeyword(r.options[0]);
  };
  LoadRuleFile(path, vars_, report);
  EXPECT_EQ(checked, (std::vector<uint32_t>{1, 3, 3}));
  ASSERT_EQ(report.loaded(), 2u);
  EXPECT_TRUE(report.rules[0].enabled);
  EXPECT_FALSE(report.rules[1].enabled);
  EXPECT_EQ(report.rules[1].disabled_reason, "unsupported keyword flow");
  EXPECT_EQ(report.rules[1].rev, 2u);  // the duplicate with the higher rev, still disabled
  EXPECT_EQ(report.disabled(), 1u);
  EXPECT_EQ(report.duplicates.size(), 1u);
}

TEST_F(RuleFileTest, IncludeIsRelativeToTheIncludingFile) {
  Write("sub/b.rules",
        "alert tcp any any -> any any (sid:2;)\n"
        "include ../c.rules\n");
  Write("c.rules", "alert tcp any any -> any any (sid:3;)\n");
  std::string a = Write("a.rules",
                        "alert tcp any any -> any any (sid:1;)\n"
                        "include sub/b.rules\n"
                        "alert tcp any any -> any any (sid:4;)\n");
  LoadReport report;
  LoadRuleFile(a, vars_, report);
  ASSERT_TRUE(report.failures.empty()) << report.failures[0].ToString();
  ASSERT_EQ(report.loaded(), 4u);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(report.rules[i].sid, i + 1);
  EXPECT_EQ(fs::path(report.rules[1].file).filename(), "b.rules");
  EXPECT_EQ(report.rules[1].line, 1u);
}

TEST_F(RuleFileTest, IncludeCycleAndMissingFilesAreFailures) {
  std::string a = Write("a.rules",
                        "include b.rules\n"
                        "include missing.rules\n"
                        "include $RULE_PATH/x.rules\n"
                        "include\n"
                        "alert tcp any any -> any any (sid:1;)\n");
  Write("b.rules",
        "alert tcp any any -> any any (sid:2;)\n"
        "include a.rules\n");
  LoadReport report;
  LoadRuleFile(a, vars_, report);
  EXPECT_EQ(report.loaded(), 2u);
  ASSERT_EQ(report.failures.size(), 4u);
  EXPECT_NE(report.failures[0].message.find("include cycle"), std::string::npos);
  EXPECT_EQ(fs::path(report.failures[0].file).filename(), "b.rules");
  EXPECT_EQ(report.failures[0].line, 2u);
  EXPECT_NE(report.failures[1].message.find("missing.rules"), std::string::npos);
  EXPECT_EQ(report.failures[1].line, 2u);
  EXPECT_NE(report.failures[2].message.find("variables in include paths"), std::string::npos);
  EXPECT_EQ(report.failures[2].column, 9u);
  EXPECT_NE(report.failures[3].message.find("include needs a file path"), std::string::npos);

  LoadReport missing;
  LoadRuleFile((dir_ / "nope.rules").string(), vars_, missing);
  EXPECT_EQ(missing.loaded(), 0u);
  ASSERT_EQ(missing.failures.size(), 1u);
  EXPECT_EQ(missing.failures[0].file, (dir_ / "nope.rules").string());
  EXPECT_NE(missing.failures[0].message.find("No such file"), std::string::npos);
}

TEST_F(RuleFileTest, SelfIncludeIsACycle) {
  std::string a = Write("a.rules", "include ./a.rules\nalert tcp any any -> any any (sid:1;)\n");
  LoadReport report;
  LoadRuleFile(a, vars_, report);
  EXPECT_EQ(report.loaded(), 1u);
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_NE(report.failures[0].message.find("include cycle"), std::string::npos);
}

TEST_F(RuleFileTest, DuplicatesKeepTheHigherRev) {
  std::string a = Write("a.rules",
                        "alert tcp any any -> any any (msg:\"old\"; sid:5; rev:1;)\n"
                        "alert tcp any any -> any any (msg:\"other gid\"; gid:2; sid:5; rev:1;)\n"
                        "alert tcp any any -> any any (msg:\"new\"; sid:5; rev:3;)\n"
                        "alert tcp any any -> any any (msg:\"older\"; sid:5; rev:2;)\n"
                        "alert tcp any any -> any any (msg:\"same\"; sid:5; rev:3;)\n");
  LoadReport report;
  LoadRuleFile(a, vars_, report);
  EXPECT_TRUE(report.failures.empty());
  ASSERT_EQ(report.loaded(), 2u);
  EXPECT_EQ(report.rules[0].msg, "new");  // replaced in place
  EXPECT_EQ(report.rules[0].line, 3u);
  EXPECT_EQ(report.rules[1].msg, "other gid");
  ASSERT_EQ(report.duplicates.size(), 3u);
  EXPECT_EQ(report.duplicates[0].message,
            "duplicate rule 1:5: " + a + ":1 (rev 1) and " + a + ":3 (rev 3); keeping " + a + ":3");
  EXPECT_EQ(report.duplicates[0].line, 3u);
  EXPECT_EQ(report.duplicates[1].message,
            "duplicate rule 1:5: " + a + ":3 (rev 3) and " + a + ":4 (rev 2); keeping " + a + ":3");
  EXPECT_NE(report.duplicates[2].message.find("keeping " + a + ":3"), std::string::npos);
}

// Files are parsed largest first, on several threads, and merged in the order given: the rules'
// order and which duplicate wins do not depend on the files' sizes.
TEST_F(RuleFileTest, FilesMergeInTheGivenOrderWhateverTheirSizes) {
  std::string small = Write("small.rules",
                            "alert tcp any any -> any any (msg:\"small\"; sid:1; rev:1;)\n"
                            "alert tcp any any -> any any (msg:\"dup first\"; sid:9; rev:1;)\n");
  std::string big;
  for (int i = 0; i < 300; ++i) {
    big +=
        "alert tcp any any -> any any (msg:\"big\"; sid:" + std::to_string(100 + i) + "; rev:1;)\n";
  }
  big += "alert tcp any any -> any any (msg:\"dup second\"; sid:9; rev:1;)\n";
  std::string large = Write("large.rules", big);
  LoadReport report;
  LoadRuleFiles({small, large}, vars_, report, 2);
  EXPECT_TRUE(report.failures.empty());
  ASSERT_EQ(report.loaded(), 302u);
  EXPECT_EQ(report.rules[0].msg, "small");
  EXPECT_EQ(report.rules[1].msg, "dup first");  // the earlier file's, rev being equal
  EXPECT_EQ(report.rules[2].sid, 100u);
  EXPECT_EQ(report.rules.back().sid, 399u);
  ASSERT_EQ(report.duplicates.size(), 1u);
  EXPECT_NE(report.duplicates[0].message.find("keeping " + small + ":2"), std::string::npos);
}

TEST(ParseRuleText, ReturnsRulesOrTheFirstFailure) {
  Variables vars;
  auto ok = ParseRuleText(
      "alert tcp any any -> any any (sid:1;)\n"
      "alert udp any any -> any 53 (content:\"a\"; \\\n nocase; sid:2;)\n",
      vars);
  ASSERT_TRUE(ok) << ok.error().ToString();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_TRUE(std::get<ContentOption>((*ok)[1].options[0]).nocase);
  EXPECT_EQ((*ok)[1].file, "<text>");

  auto bad = ParseRuleText(
      "alert tcp any any -> any any (sid:1;)\nalert tcp any any -> any any (sid:x;)\n", vars,
      "mem");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().ToString(),
            "mem:2:35: sid must be an integer from 1 to 4294967295, found 'x'");
}

TEST(ParseRuleText, TrailingBackslashOnTheLastLineJoinsNothing) {
  Variables vars;
  for (const char* text : {"alert tcp any any -> any any (sid:1;) \\",
                           "alert tcp any any -> any any (sid:1;)\\", "\\", "#\\"}) {
    auto r = ParseRuleText(text, vars);
    ASSERT_TRUE(r) << text << ": " << r.error().ToString();
    EXPECT_EQ(r->size(), text[0] == 'a' ? 1u : 0u) << text;
  }
}

}  // namespace
}  // namespace vigil::rules

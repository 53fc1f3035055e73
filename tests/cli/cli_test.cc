// The `vigil` command as a user runs it: exit codes, -T reporting, error lines.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace vigil::tests {
namespace {

namespace fs = std::filesystem;

struct Output {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

Output Vigil(const std::string& args) {
  std::string cmd =
      "'" + (fs::path(VIGIL_BINARY_DIR) / "src/cli/vigil").string() + "' " + args + " 2>&1";
  Output o;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
  int status = pclose(p);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

fs::path Temp(const std::string& name, const std::string& text) {
  fs::path dir = fs::temp_directory_path() / "vigil_cli_test";
  fs::create_directories(dir);
  fs::path p = dir / name;
  std::ofstream(p) << text;
  return p;
}

TEST(CliTest, CheckModeReportsEachFailedRuleAndTally) {
  fs::path rules = Temp("mixed.rules",
                        "# a comment\n"
                        "alert tcp any any -> any 80 (msg:\"ok\"; content:\"GET\"; sid:1;)\n"
                        "alert tcp any any -> any 80 (msg:\"bad\"; contnet:\"x\"; sid:2;)\n"
                        "\n"
                        "alert tcp any any -> any 80 (msg:\"ok2\"; content:\"POST\"; sid:3;)\n"
                        "alert tcpx any any -> any 80 (msg:\"bad proto\"; sid:4;)\n");
  Output o = Vigil("-T -R '" + rules.string() + "'");
  EXPECT_EQ(o.exit_code, 1) << o.out;
  EXPECT_NE(o.out.find(rules.string() + ":3:"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find(rules.string() + ":6:"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("rules: loaded=2 failed=2 disabled=0"), std::string::npos) << o.out;
}

TEST(CliTest, CheckModeSucceedsOnGoodRules) {
  fs::path rules = Temp("good.rules",
                        "alert udp any any -> any 53 (msg:\"dns\"; content:\"|00 01|\"; sid:9;)\n");
  Output o = Vigil("-T -R '" + rules.string() + "'");
  EXPECT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("rules: loaded=1 failed=0 disabled=0"), std::string::npos) << o.out;
}

TEST(CliTest, CheckModeTabulatesDisabledRulesByReason) {
  fs::path rules = Temp("disabled.rules",
                        "alert tcp any any -> any 80 (msg:\"a\"; tag:session,10,packets; sid:1;)\n"
                        "alert tcp any any -> any 80 (msg:\"b\"; tag:host,5,seconds,src; sid:2;)\n"
                        "alert tcp any any -> any 80 (msg:\"c\"; flowint:n,+,1; sid:3;)\n"
                        "alert tcp any any -> any 80 (msg:\"d\"; content:\"x\"; sid:4;)\n");
  Output o = Vigil("-T -R '" + rules.string() + "'");
  EXPECT_EQ(o.exit_code, 0) << o.out;
  size_t table = o.out.find("disabled rules by reason:");
  ASSERT_NE(table, std::string::npos) << o.out;
  size_t tag = o.out.find("2  unsupported keyword tag", table);
  size_t flowint = o.out.find("1  unsupported keyword flowint", table);
  EXPECT_NE(tag, std::string::npos) << o.out;
  EXPECT_NE(flowint, std::string::npos) << o.out;
  EXPECT_LT(tag, flowint) << "sorted by count";
  EXPECT_NE(o.out.find("rules: loaded=4 failed=0 disabled=3"), std::string::npos) << o.out;
}

TEST(CliTest, DumpRulesPrintsCanonicalRulesThatReadBack) {
  fs::path rules = Temp("dump.rules",
                        "alert tcp $EXTERNAL_NET any -> $HOME_NET 80 (msg:\"x\"; "
                        "content:\"GET\"; nocase; depth:3; sid:7; rev:2;)\n"
                        "alert udp any any -> any 53 (msg:\"y\"; flowint:n,+,1; sid:8;)\n");
  Output o = Vigil("--dump-rules -R '" + rules.string() + "'");
  EXPECT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("sid:7;"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("sid:8;"), std::string::npos) << o.out;  // disabled rules are dumped too
  // The dump is itself a rule file that loads to the same rules.
  fs::path dumped = Temp("dumped.rules", "");
  {
    std::ofstream out(dumped);
    std::istringstream lines(o.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("alert ")) out << line << "\n";
    }
  }
  Output again = Vigil("--dump-rules -R '" + dumped.string() + "'");
  EXPECT_EQ(again.exit_code, 0) << again.out;
  auto rule_lines = [](const std::string& text) {
    std::vector<std::string> v;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("alert ")) v.push_back(line);
    }
    return v;
  };
  EXPECT_EQ(rule_lines(again.out), rule_lines(o.out));
  EXPECT_EQ(rule_lines(o.out).size(), 2u);
}

TEST(CliTest, ThresholdFileErrorsNameTheLine) {
  fs::path rules =
      Temp("t.rules", "alert tcp any any -> any 80 (msg:\"x\"; content:\"GET\"; sid:1;)\n");
  fs::path thresholds = Temp("threshold.config",
                             "suppress gen_id 1, sig_id 1, track by_src, ip 10.0.0.1\n"
                             "threshold gen_id 1, sig_id 1, type nonsense, track by_src, "
                             "count 1, seconds 60\n");
  Output o = Vigil("-T -R '" + rules.string() + "' --threshold-file '" + thresholds.string() + "'");
  EXPECT_EQ(o.exit_code, 1) << o.out;
  EXPECT_NE(o.out.find(thresholds.string() + ":2:"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find(thresholds.string() + ":1:"), std::string::npos) << o.out;
}

TEST(CliTest, MissingReadPathIsAnError) {
  Output o = Vigil("-R /dev/null");
  EXPECT_EQ(o.exit_code, 1) << o.out;
  EXPECT_NE(o.out.find("-r"), std::string::npos) << o.out;
}

TEST(CliTest, UnknownOptionIsAnError) {
  Output o = Vigil("--no-such-option");
  EXPECT_EQ(o.exit_code, 1) << o.out;
}

TEST(CliTest, MissingCaptureNamesTheFile) {
  Output o =
      Vigil("-r /nonexistent/x.pcap -l " + (fs::temp_directory_path() / "vigil_cli_out").string());
  EXPECT_EQ(o.exit_code, 1) << o.out;
  EXPECT_NE(o.out.find("/nonexistent/x.pcap"), std::string::npos) << o.out;
}

TEST(CliTest, VersionAndHelpExitZero) {
  Output v = Vigil("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("vigil "), std::string::npos);
  Output h = Vigil("--help");
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("-r"), std::string::npos);
}

}  // namespace
}  // namespace vigil::tests

// --shard I/N on a capture: three shards' alerts together are one whole run's, on
// mixed-traffic.pcap with the Snort 3 community rules. Rules whose detection_filter or
// threshold counts across flows (by_src / by_dst) are the exception: a shard sees only its
// flows' share of the count, so they may alert less in the shards (never more, and never on a
// packet the whole run did not see). Skips without ../shared.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

std::vector<std::string> Lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(ShardTest, ShardsTogetherAlertAsOneRun) {
  const fs::path src = VIGIL_SOURCE_DIR;
  const fs::path pcap = src / "../shared/pcaps/mixed-traffic.pcap";
  const fs::path rules = src / "../shared/rules/snort3-community/snort3-community.rules";
  if (!fs::exists(pcap) || !fs::exists(rules)) GTEST_SKIP() << "no ../shared pcaps or rules";
  const fs::path vigil = fs::path(VIGIL_BINARY_DIR) / "src/cli/vigil";
  const fs::path dir = fs::temp_directory_path() / ("vigil_shard_" + std::to_string(getpid()));
  fs::remove_all(dir);
  auto run = [&](const std::string& name, const std::string& extra) {
    fs::create_directories(dir / name);
    const std::string cmd = vigil.string() + " -r " + pcap.string() + " -R " + rules.string() +
                            " -A fast -l " + (dir / name).string() + " " + extra + " 2>/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return Lines(dir / name / "alert_fast.txt");
  };
  std::vector<std::string> whole = run("whole", "");
  std::vector<std::string> shards;
  for (int i = 0; i < 3; ++i) {
    auto part = run("shard" + std::to_string(i), "--shard " + std::to_string(i) + "/3");
    EXPECT_LT(part.size(), whole.size()) << "shard " << i << " holds everything";
    shards.insert(shards.end(), part.begin(), part.end());
  }
  const std::string bad = vigil.string() + " -r " + pcap.string() + " -R " + rules.string() +
                          " -l " + dir.string() + " --shard 3/3 2>/dev/null";
  EXPECT_NE(std::system(bad.c_str()), 0) << "I must be below N";
  // Rules whose counting spans flows (detection_filter, threshold).
  std::set<std::string> cross_flow;
  {
    std::ifstream in(rules);
    const std::regex sid(R"(sid:\s*(\d+))");
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if ((line.find("detection_filter") != std::string::npos ||
           line.find("threshold") != std::string::npos) &&
          std::regex_search(line, m, sid)) {
        cross_flow.insert("[1:" + m[1].str() + ":");
      }
    }
  }
  auto split = [&](const std::vector<std::string>& lines) {
    std::multiset<std::string> exact, counted;
    for (const std::string& l : lines) {
      bool cf = std::any_of(cross_flow.begin(), cross_flow.end(),
                            [&](const std::string& id) { return l.find(id) != std::string::npos; });
      (cf ? counted : exact).insert(l);
    }
    return std::pair{exact, counted};
  };
  auto [whole_exact, whole_counted] = split(whole);
  auto [shard_exact, shard_counted] = split(shards);
  ASSERT_GT(whole_exact.size(), 1000u);
  EXPECT_TRUE(whole_exact == shard_exact)
      << whole_exact.size() << " alerts in one run, " << shard_exact.size() << " in the shards";
  EXPECT_LE(shard_counted.size(), whole_counted.size());
  EXPECT_TRUE(std::includes(whole_counted.begin(), whole_counted.end(), shard_counted.begin(),
                            shard_counted.end()));
  fs::remove_all(dir);
}

}  // namespace

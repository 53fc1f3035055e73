// Golden end-to-end tests: each folder tests/e2e/<case>/ holds input.pcap, test.rules and
// expected.json; this runs the real `vigil` binary on the case and compares what it reports.
//
// expected.json:
//   {
//     "description": "what the case shows",
//     "exit_code": 0,                          // optional, default 0
//     "stderr_contains": ["offset 24"],        // optional
//     "alerts": [ {"pcap_cnt": 4, "gid": 1, "sid": 1000001, "rev": 1}, ... ],
//     "counters": {"stream.ttl_mismatch": 1}   // optional: values in stats.json
//   }
// A case folder may also hold vigil.yaml, passed with -c (e.g. host-os-policy for overlaps).
// Alerts compare as a multiset of (pcap_cnt, gid, sid, rev), read from eve.json; alert_fast.txt
// must have one line per alert.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace vigil::tests {
namespace {

namespace fs = std::filesystem;
using AlertKey = std::tuple<uint64_t, uint32_t, uint32_t, uint32_t>;  // pcap_cnt, gid, sid, rev

fs::path CasesDir() { return fs::path(VIGIL_SOURCE_DIR) / "tests" / "e2e"; }
fs::path VigilBinary() { return fs::path(VIGIL_BINARY_DIR) / "src" / "cli" / "vigil"; }

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(CasesDir())) {
    if (e.is_directory() && fs::exists(e.path() / "expected.json")) {
      names.push_back(e.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RunResult {
  int exit_code = -1;
  std::string stderr_text;
};

RunResult RunVigil(const fs::path& case_dir, const fs::path& out_dir) {
  fs::create_directories(out_dir);
  fs::path err = out_dir / "stderr.txt";
  std::string cmd = "TZ=UTC '" + VigilBinary().string() + "' -r '" +
                    (case_dir / "input.pcap").string() + "' -R '" +
                    (case_dir / "test.rules").string() + "' -l '" + out_dir.string() + "' -A both";
  if (fs::exists(case_dir / "vigil.yaml"))
    cmd += " -c '" + (case_dir / "vigil.yaml").string() + "'";
  cmd += " >/dev/null 2>'" + err.string() + "'";
  RunResult r;
  int status = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.stderr_text = ReadAll(err);
  return r;
}

class E2eTest : public ::testing::TestWithParam<std::string> {};

TEST_P(E2eTest, MatchesExpected) {
  fs::path case_dir = CasesDir() / GetParam();
  nlohmann::json expected = nlohmann::json::parse(ReadAll(case_dir / "expected.json"));
  fs::path out = fs::temp_directory_path() / ("vigil_e2e_" + GetParam());
  fs::remove_all(out);
  RunResult r = RunVigil(case_dir, out);

  EXPECT_EQ(r.exit_code, expected.value("exit_code", 0)) << r.stderr_text;
  for (const auto& s : expected.value("stderr_contains", nlohmann::json::array())) {
    EXPECT_NE(r.stderr_text.find(s.get<std::string>()), std::string::npos)
        << "stderr lacks '" << s.get<std::string>() << "':\n"
        << r.stderr_text;
  }

  std::vector<AlertKey> want;
  for (const auto& a : expected.at("alerts")) {
    want.emplace_back(a.at("pcap_cnt").get<uint64_t>(), a.value("gid", 1u),
                      a.at("sid").get<uint32_t>(), a.value("rev", 0u));
  }
  std::vector<AlertKey> got;
  std::istringstream eve(ReadAll(out / "eve.json"));
  for (std::string line; std::getline(eve, line);) {
    auto j = nlohmann::json::parse(line);
    ASSERT_EQ(j.at("event_type"), "alert");
    const auto& a = j.at("alert");
    got.emplace_back(j.at("pcap_cnt").get<uint64_t>(), a.at("gid").get<uint32_t>(),
                     a.at("signature_id").get<uint32_t>(), a.at("rev").get<uint32_t>());
  }
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want) << r.stderr_text;

  std::istringstream fast(ReadAll(out / "alert_fast.txt"));
  size_t fast_lines = 0;
  for (std::string line; std::getline(fast, line);) ++fast_lines;
  EXPECT_EQ(fast_lines, got.size());
  ASSERT_TRUE(fs::exists(out / "stats.json"));
  if (expected.contains("counters")) {
    nlohmann::json stats = nlohmann::json::parse(ReadAll(out / "stats.json"));
    for (const auto& [name, value] : expected.at("counters").items()) {
      ASSERT_TRUE(stats.at("counters").contains(name)) << "stats.json lacks " << name;
      EXPECT_EQ(stats.at("counters").at(name), value) << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, E2eTest, ::testing::ValuesIn(CaseNames()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vigil::tests

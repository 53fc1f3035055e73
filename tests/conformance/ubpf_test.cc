// uBPF's own test vectors (github.com/iovisor/ubpf, tests/) through vigil, with uBPF's test helpers
// (TestHelpers()), on the checked interpreter and then on the fast interpreter and the JIT. Every
// vector runs except those listed in ubpf_skipped.txt, each with its reason; a `refused` entry
// asserts that vigil refuses the program although uBPF runs it, an `accepted` one that vigil runs a
// program uBPF refuses. The test also asserts that the list names only vectors that exist and
// covers every vector vigil cannot read.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "ebpf/test_vector.h"

#ifndef VIGIL_SOURCE_DIR
#define VIGIL_SOURCE_DIR "."
#endif

namespace vigil::ebpf {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot = "../shared/testdata/ubpf-tests";

struct SkipEntry {
  std::string kind;
  std::string reason;
};

std::string Trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t\r") + 1);
  return s;
}

std::map<std::string, SkipEntry> SkipList() {
  std::map<std::string, SkipEntry> out;
  std::ifstream in(fs::path(VIGIL_SOURCE_DIR) / "tests/conformance/ubpf_skipped.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t a = line.find('|'), b = line.find('|', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    out[Trim(line.substr(0, a))] = {Trim(line.substr(a + 1, b - a - 1)), Trim(line.substr(b + 1))};
  }
  return out;
}

std::vector<std::string> Vectors() {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(kRoot, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().extension() == ".data") {
      out.push_back(fs::relative(it->path(), kRoot).generic_string());
    }
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) out.push_back("missing");
  return out;
}

std::string CaseName(const testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  if (n.ends_with(".data")) n.resize(n.size() - 5);
  std::replace_if(
      n.begin(), n.end(), [](char c) { return !std::isalnum(uint8_t(c)); }, '_');
  return n;
}

class Ubpf : public testing::TestWithParam<std::string> {};

TEST_P(Ubpf, Vector) {
  const fs::path path = kRoot / GetParam();
  if (!fs::exists(path)) GTEST_SKIP() << "test data not found: " << fs::absolute(kRoot);
  static const auto skips = SkipList();
  auto skip = skips.find(GetParam());
  auto v = ParseTestVector(path);
  ASSERT_TRUE(v) << v.error().ToString();
  if (skip != skips.end() && skip->second.kind == "skip") {
    GTEST_SKIP() << skip->second.reason;
  }
  ASSERT_TRUE(v->unsupported.empty())
      << "vector needs '" << v->unsupported[0] << "' and is not in ubpf_skipped.txt";
  auto out = RunTestVector(*v, TestHelpers());
  if (skip != skips.end() && skip->second.kind == "refused") {
    EXPECT_TRUE(out.refused) << skip->second.reason << "; got " << out.detail;
    return;
  }
  if (skip != skips.end() && skip->second.kind == "accepted") {
    EXPECT_FALSE(out.refused || out.run_failed) << skip->second.reason << "; got " << out.detail;
    return;
  }
  EXPECT_TRUE(out.passed) << out.detail;
  // The same vector on the fast interpreter and the JIT, when it ran to its expected result.
  if (out.passed && !out.refused && !out.run_failed && v->result) {
    for (Engine engine : {Engine::kInterpreter, Engine::kJit}) {
      auto fast = RunTestVector(*v, TestHelpers(), engine);
      EXPECT_TRUE(fast.passed) << (engine == Engine::kJit ? "JIT: " : "interpreter: ")
                               << fast.detail;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(UbpfTests, Ubpf, testing::ValuesIn(Vectors()), CaseName);

TEST(UbpfSkipList, NamesExistingVectorsWithReasons) {
  if (!fs::exists(kRoot)) GTEST_SKIP() << "test data not found: " << fs::absolute(kRoot);
  const auto skips = SkipList();
  ASSERT_FALSE(skips.empty()) << "ubpf_skipped.txt not found or empty";
  for (const auto& [name, entry] : skips) {
    EXPECT_TRUE(fs::exists(kRoot / name)) << name;
    EXPECT_TRUE(entry.kind == "skip" || entry.kind == "refused" || entry.kind == "accepted")
        << name;
    EXPECT_FALSE(entry.reason.empty()) << name;
  }
}

}  // namespace
}  // namespace vigil::ebpf

// The bpf_conformance suite (github.com/Alan-Jowett/bpf_conformance) as one test case per vector:
// every positive vector must give its expected r0 (or its expected error) through vigil's
// assembler, load-time check and checked interpreter, and the same r0 through the fast
// interpreter and the JIT; every negative vector must be refused or
// give a result other than the one it claims. The vectors live outside the repository, in
// ../shared/testdata.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "ebpf/test_vector.h"

namespace vigil::ebpf {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot = "../shared/testdata/bpf_conformance";

std::vector<std::string> Vectors(const char* sub) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kRoot / sub, ec)) {
    if (e.path().extension() == ".data") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) out.push_back("missing");  // one case that skips with a message
  return out;
}

std::string CaseName(const testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  std::replace_if(
      n.begin(), n.end(), [](char c) { return !std::isalnum(uint8_t(c)); }, '_');
  return n;
}

class Positive : public testing::TestWithParam<std::string> {};
class Negative : public testing::TestWithParam<std::string> {};

TEST_P(Positive, GivesExpectedResult) {
  const fs::path path = kRoot / "tests" / (GetParam() + ".data");
  if (!fs::exists(path)) GTEST_SKIP() << "test data not found: " << fs::absolute(kRoot);
  auto v = ParseTestVector(path);
  ASSERT_TRUE(v) << v.error().ToString();
  auto out = RunTestVector(*v, TestHelpers());
  EXPECT_TRUE(out.passed) << out.detail;
  // The fast interpreter and the JIT (no bounds checks, no step limit) must compute the same r0:
  // one corpus for every engine. Vectors that expect an error may fault in fast mode, so only
  // vectors that ran to a result are repeated.
  if (out.passed && !out.refused && !out.run_failed && v->result) {
    for (Engine engine : {Engine::kInterpreter, Engine::kJit}) {
      auto fast = RunTestVector(*v, TestHelpers(), engine);
      EXPECT_TRUE(fast.passed) << (engine == Engine::kJit ? "JIT: " : "interpreter: ")
                               << fast.detail;
      EXPECT_EQ(fast.r0, out.r0);
    }
  }
}

TEST_P(Negative, IsRefusedOrDiffers) {
  const fs::path path = kRoot / "negative" / (GetParam() + ".data");
  if (!fs::exists(path)) GTEST_SKIP() << "test data not found: " << fs::absolute(kRoot);
  auto v = ParseTestVector(path);
  if (!v) SUCCEED() << "unreadable: " << v.error().ToString();
  if (!v) return;
  auto out = RunTestVector(*v, TestHelpers());
  const bool ran_as_claimed = !out.refused && !out.run_failed && v->result && out.r0 == *v->result;
  EXPECT_FALSE(ran_as_claimed) << "vigil accepted a negative vector: " << out.detail;
  // Every vector that is structurally invalid (raw words, or an assembly error) must be refused
  // with a message, not merely give another result.
  if (v->has_raw || v->asm_text.find("%r50") != std::string::npos) {
    EXPECT_TRUE(out.refused) << out.detail;
    EXPECT_FALSE(out.detail.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(BpfConformance, Positive, testing::ValuesIn(Vectors("tests")), CaseName);
INSTANTIATE_TEST_SUITE_P(BpfConformance, Negative, testing::ValuesIn(Vectors("negative")),
                         CaseName);

}  // namespace
}  // namespace vigil::ebpf

// The committed captures are exactly what the code in captures.cc builds.
#include "tests/e2e/captures.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace vigil::tests {
namespace {

namespace fs = std::filesystem;

std::string Bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(TestCapturesTest, CommittedFilesMatchTheirGenerator) {
  fs::path fresh = fs::temp_directory_path() / "vigil_captures_test";
  fs::remove_all(fresh);
  ASSERT_TRUE(WriteTestCaptures(fresh.string()));
  fs::path committed = fs::path(VIGIL_SOURCE_DIR) / "tests";
  int compared = 0;
  for (const auto& e : fs::recursive_directory_iterator(fresh)) {
    if (!e.is_regular_file()) continue;
    fs::path rel = fs::relative(e.path(), fresh);
    ASSERT_TRUE(fs::exists(committed / rel)) << rel << " is not committed; run make_test_captures";
    EXPECT_EQ(Bytes(e.path()), Bytes(committed / rel))
        << rel << " differs from its generator; run: build/tests/make_test_captures tests";
    ++compared;
  }
  EXPECT_GE(compared, 12);
}

}  // namespace
}  // namespace vigil::tests

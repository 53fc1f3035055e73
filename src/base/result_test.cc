#include "base/result.h"

#include <gtest/gtest.h>

namespace vigil::base {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return MakeError("odd");
  return x / 2;
}

TEST(ResultTest, CarriesValueOrError) {
  auto ok = Half(8);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 4);
  auto bad = Half(3);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "odd");
}

TEST(ResultTest, StatusDefaultsToSuccess) {
  Status s;
  EXPECT_TRUE(s);
  Status f = MakeError("no");
  EXPECT_FALSE(f);
  EXPECT_EQ(f.error().message, "no");
}

TEST(ErrorTest, FormatsLocation) {
  EXPECT_EQ((Error{"bad", "a.rules", 3, 7}).ToString(), "a.rules:3:7: bad");
  EXPECT_EQ((Error{"bad", "a.rules", 3}).ToString(), "a.rules:3: bad");
  EXPECT_EQ((Error{"cut", "x.pcap", 0, 0, 24}).ToString(), "x.pcap: offset 24: cut");
  EXPECT_EQ((Error{"plain"}).ToString(), "plain");
}

}  // namespace
}  // namespace vigil::base

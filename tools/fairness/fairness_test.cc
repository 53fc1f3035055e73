#include "fairness/fairness.h"

#include <gtest/gtest.h>

namespace vigil::fairness {
namespace {

TEST(FairShares, WeightsOverBackloggedTenantsOnly) {
  const uint32_t weights[] = {1, 2, 1};
  const bool all[] = {true, true, true};
  EXPECT_EQ(FairShares(weights, all), (std::vector<double>{0.25, 0.5, 0.25}));
  // An idle tenant's share goes to the others by weight.
  const bool second_idle[] = {true, false, true};
  EXPECT_EQ(FairShares(weights, second_idle), (std::vector<double>{0.5, 0.0, 0.5}));
  const bool none[] = {false, false, false};
  EXPECT_EQ(FairShares(weights, none), (std::vector<double>{0, 0, 0}));
}

TEST(JainIndex, OneWhenEqualOneOverNWhenOneTakesAll) {
  EXPECT_DOUBLE_EQ(JainIndex(std::vector<double>{0.9, 0.9, 0.9}), 1.0);
  EXPECT_DOUBLE_EQ(JainIndex(std::vector<double>{3.0, 0, 0}), 1.0 / 3);
  // (1 + 0.5)² / (2 × 1.25) = 0.9
  EXPECT_DOUBLE_EQ(JainIndex(std::vector<double>{1.0, 0.5}), 0.9);
  EXPECT_DOUBLE_EQ(JainIndex(std::vector<double>{}), 1.0);
  EXPECT_DOUBLE_EQ(JainIndex(std::vector<double>{0, 0}), 1.0);
}

TEST(Median, OddEvenEmpty) {
  EXPECT_EQ(Median({3, 1, 2}), 2);
  EXPECT_EQ(Median({4, 1, 3, 2}), 2.5);
  EXPECT_EQ(Median({}), 0);
}

}  // namespace
}  // namespace vigil::fairness

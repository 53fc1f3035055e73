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

TEST(SplitCpu, BusyTimeInProportionToWorkAlone) {
  // 1 s of CPU, 0.1 s of it idle; costs alone explain 0.855 s of the 0.9 s busy (95%).
  const double work[] = {0.3, 0.3, 0.255};
  const double refusals[] = {0, 0, 0.045};
  const CpuSplit s = SplitCpu(1.0, 0.1, work, refusals);
  ASSERT_EQ(s.share.size(), 3u);
  EXPECT_NEAR(s.share[0], 0.9 * 0.3 / 0.855, 1e-12);
  EXPECT_NEAR(s.share[2], 0.9 * 0.255 / 0.855, 1e-12);
  EXPECT_NEAR(s.share[0] + s.share[1] + s.share[2], 0.9, 1e-12);
  EXPECT_NEAR(s.used, 0.9, 1e-12);
  EXPECT_NEAR(s.inspecting, 0.9 * 0.81 / 0.855, 1e-12);  // refusals are not inspection
  EXPECT_NEAR(s.coverage, 0.95, 1e-12);
  // Costs that all read 10% low change the coverage, not the shares.
  const double low[] = {0.27, 0.27, 0.2295};
  const double low_refusals[] = {0, 0, 0.0405};
  const CpuSplit t = SplitCpu(1.0, 0.1, low, low_refusals);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(t.share[i], s.share[i], 1e-12);
  EXPECT_NEAR(t.coverage, 0.855, 1e-12);
}

TEST(SplitCpu, NoWorkOrNoCpuGivesZeros) {
  const double none[] = {0, 0};
  const CpuSplit s = SplitCpu(1.0, 0.2, none, none);
  EXPECT_EQ(s.share, (std::vector<double>{0, 0}));
  EXPECT_EQ(s.used, 0);
  const double work[] = {1, 1};
  EXPECT_EQ(SplitCpu(0, 0, work, none).used, 0);
  // Idle time beyond the CPU time (clocks read apart) leaves nothing busy, not less.
  EXPECT_EQ(SplitCpu(1.0, 1.5, work, none).used, 0);
}

TEST(Median, OddEvenEmpty) {
  EXPECT_EQ(Median({3, 1, 2}), 2);
  EXPECT_EQ(Median({4, 1, 3, 2}), 2.5);
  EXPECT_EQ(Median({}), 0);
}

}  // namespace
}  // namespace vigil::fairness

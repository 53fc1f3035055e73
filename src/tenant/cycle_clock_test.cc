#include "tenant/cycle_clock.h"

#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace vigil::tenant {
namespace {

TEST(CycleClockTest, CalibrationAgreesWithASecondCalibration) {
  auto first = CycleClock::Calibrate();
  auto second = CycleClock::Calibrate(std::chrono::milliseconds(25));
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_TRUE(second) << second.error().ToString();
  double ratio = static_cast<double>(first->cycles_per_second()) /
                 static_cast<double>(second->cycles_per_second());
  std::printf("calibrated %llu and %llu cycles/s (bounds %.2g, %.2g), invariant TSC: %s\n",
              static_cast<unsigned long long>(first->cycles_per_second()),
              static_cast<unsigned long long>(second->cycles_per_second()), first->error_bound(),
              second->error_bound(), first->invariant() ? "yes" : "no");
  EXPECT_NEAR(ratio, 1.0, 0.02);
  // The documented bound is what the calibration achieves on a quiet core; a loaded one may
  // widen it, but never to a percent.
  EXPECT_LT(first->error_bound(), 0.01);
}

TEST(CycleClockTest, CalibratedRateMeasuresAnIndependentIntervalWithinTwoPercent) {
  auto clock = CycleClock::Calibrate();
  ASSERT_TRUE(clock) << clock.error().ToString();
  // Pairs read as tightly as the calibration reads them, so that a preemption between the two
  // reads on this shared machine does not count as disagreement between the clocks.
  ClockPair start = ReadClockPair();
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  ClockPair end = ReadClockPair();
  double measured_ns = static_cast<double>(clock->ToNanoseconds(end.cycles - start.cycles));
  double reference_ns = static_cast<double>(end.ns - start.ns);
  EXPECT_NEAR(measured_ns / reference_ns, 1.0, 0.02)
      << "TSC says " << measured_ns << " ns, CLOCK_MONOTONIC " << reference_ns << " ns";
}

TEST(CycleClockTest, NowNeverGoesBackwardsOnOneThread) {
  uint64_t previous = CycleClock::Now();
  uint64_t first = previous;
  int backwards = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    uint64_t now = CycleClock::Now();
    backwards += now < previous ? 1 : 0;
    previous = now;
  }
  EXPECT_EQ(backwards, 0);
  EXPECT_GT(previous, first);
}

TEST(CycleClockTest, RejectsAWindowTooShortToBoundTheError) {
  auto clock = CycleClock::Calibrate(std::chrono::microseconds(100));
  ASSERT_FALSE(clock);
  EXPECT_NE(clock.error().message.find("shorter than 1 ms"), std::string::npos);
}

TEST(CycleClockTest, ConvertsWithoutOverflow) {
  CycleClock clock = CycleClock::WithRate(3'000'000'000u);
  EXPECT_EQ(clock.ToNanoseconds(3'000'000'000u), 1'000'000'000u);
  EXPECT_EQ(clock.ToNanoseconds(3), 1u);
  EXPECT_EQ(clock.ToCycles(std::chrono::milliseconds(1)), 3'000'000u);
  EXPECT_EQ(clock.ToCycles(std::chrono::nanoseconds(-5)), 0u);
  EXPECT_DOUBLE_EQ(clock.ToSeconds(1'500'000'000u), 0.5);
  // A day of cycles would overflow a 64-bit product with 1e9; the 128-bit intermediate does not.
  uint64_t day = 86'400ull * 3'000'000'000u;
  EXPECT_EQ(clock.ToNanoseconds(day), 86'400ull * 1'000'000'000u);
  EXPECT_EQ(clock.ToCycles(std::chrono::hours(24)), day);
}

// Linux derives its nonstop_tsc flag from the same CPUID bit, so the two must agree; where
// /proc/cpuinfo is not there the test has nothing to compare against.
TEST(CycleClockTest, InvariantBitAgreesWithTheKernel) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  if (!cpuinfo) GTEST_SKIP() << "no /proc/cpuinfo";
  std::string line;
  bool kernel_says = false;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) == 0) {
      std::istringstream words(line);
      std::string word;
      while (words >> word) kernel_says |= word == "nonstop_tsc";
      break;
    }
  }
  EXPECT_EQ(HasInvariantTsc(), kernel_says);
}

#if defined(__x86_64__)
// Not a pass/fail timing (the machine is shared) but the figures the header quotes, and a guard
// against a counter that traps to the hypervisor (microseconds per read).
TEST(CycleClockTest, ReadCost) {
  constexpr int kReads = 2'000'000;
  // Thread CPU time and the best of five runs: the machine is shared, and time spent preempted
  // is not the read's cost.
  auto time = [&](auto read) {
    double best = 1e9;
    for (int run = 0; run < 5; ++run) {
      uint64_t sink = 0;
      timespec a, b;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
      for (int i = 0; i < kReads; ++i) sink += read();
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
      EXPECT_NE(sink, 0u);
      double elapsed =
          static_cast<double>((b.tv_sec - a.tv_sec) * 1'000'000'000 + (b.tv_nsec - a.tv_nsec));
      best = std::min(best, elapsed / kReads);
    }
    return best;
  };
  double plain = time([] { return __rdtsc(); });
  double fenced = time([] {
    _mm_lfence();
    return __rdtsc();
  });
  double rdtscp = time([] {
    unsigned aux;
    return __rdtscp(&aux);
  });
  std::printf("ns per read: rdtsc %.1f, lfence+rdtsc %.1f, rdtscp %.1f\n", plain, fenced, rdtscp);
  EXPECT_LT(plain, 100.0);
}
#endif

}  // namespace
}  // namespace vigil::tenant

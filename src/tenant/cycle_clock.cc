#include "tenant/cycle_clock.h"

#include <time.h>

#include <algorithm>
#include <string>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace vigil::tenant {

uint64_t MonotonicNanoseconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

ClockPair ReadClockPair() {
  ClockPair best;
  for (int i = 0; i < 16; ++i) {
    uint64_t before = CycleClock::Now();
    uint64_t ns = MonotonicNanoseconds();
    uint64_t after = CycleClock::Now();
    if (after - before < best.gap) best = {before + (after - before) / 2, ns, after - before};
  }
  return best;
}

bool HasInvariantTsc() {
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  // __get_cpuid checks that the extended leaf exists (it answers 0 when it does not).
  if (__get_cpuid(0x80000007u, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (edx & (1u << 8)) != 0;
#else
  return false;
#endif
}

base::Result<CycleClock> CycleClock::Calibrate(std::chrono::nanoseconds window) {
#if !defined(__x86_64__)
  return CycleClock(1'000'000'000u, true, 0.0);
#else
  if (window < std::chrono::milliseconds(1)) {
    return base::MakeError("TSC calibration window " + std::to_string(window.count()) +
                           " ns is shorter than 1 ms: too short to bound the error");
  }
  ClockPair start = ReadClockPair();
  timespec sleep{static_cast<time_t>(window.count() / 1'000'000'000),
                 static_cast<long>(window.count() % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, 0, &sleep, &sleep) != 0) {
  }
  ClockPair end = ReadClockPair();
  if (end.cycles <= start.cycles || end.ns <= start.ns) {
    return base::MakeError("TSC calibration: the time-stamp counter did not advance");
  }
  uint64_t cycles = end.cycles - start.cycles;
  uint64_t ns = end.ns - start.ns;
  auto rate = static_cast<uint64_t>(static_cast<unsigned __int128>(cycles) * 1'000'000'000u / ns);
  // Each pair is uncertain by half its gap in cycles, plus one nanosecond of clock resolution.
  double bound = (static_cast<double>(start.gap + end.gap) / 2.0) / static_cast<double>(cycles) +
                 2.0 / static_cast<double>(ns);
  return CycleClock(rate, HasInvariantTsc(), bound);
#endif
}

CycleClock CycleClock::WithRate(uint64_t cycles_per_second, bool invariant) {
  return CycleClock(std::max<uint64_t>(cycles_per_second, 1), invariant, 0.0);
}

uint64_t CycleClock::ToNanoseconds(uint64_t cycles) const {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(cycles) * 1'000'000'000u /
                               cycles_per_second_);
}

uint64_t CycleClock::ToCycles(std::chrono::nanoseconds duration) const {
  if (duration.count() <= 0) return 0;
  return static_cast<uint64_t>(static_cast<unsigned __int128>(duration.count()) *
                               cycles_per_second_ / 1'000'000'000u);
}

}  // namespace vigil::tenant

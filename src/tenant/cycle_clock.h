// CycleClock: the time-stamp counter (TSC) as the clock that measures what each packet costs.
//
// Every packet's CPU cost is the difference of two Now() readings (arrival, completion), charged
// to its tenant in cycles; the token scheduler hands out cycles too, so the only place seconds
// appear is the period Δt, converted once with the calibrated rate.
//
//   auto clock = tenant::CycleClock::Calibrate();          // once, at start-up (about 10 ms)
//   if (!clock) return clock.error();
//   if (!clock->invariant()) Warn("TSC not invariant: costs are wrong across frequency changes");
//   uint64_t start = tenant::CycleClock::Now();
//   ... process the packet ...
//   scheduler.Charge(tenant, tenant::CycleClock::Now() - start);
//
// Now() is a bare `rdtsc`, not `rdtscp` nor `lfence; rdtsc`. The serializing forms keep later
// instructions from starting before the read (or the read from passing earlier ones), which
// matters when timing a few dozen instructions; a packet costs thousands of cycles, and the
// out-of-order window moves a bare read by at most a few tens of cycles, at both ends alike, so
// the error is small and does not accumulate. The serializing forms cost more per call and stall
// the pipeline twice per packet, which is throughput taken from every tenant. Measured by
// cycle_clock_test (ReadCost: back-to-back reads, thread CPU time, best of five) on the 2-core
// AMD EPYC VM that builds vigil: rdtsc 9.9 ns, lfence+rdtsc 19.5 ns, rdtscp 19.2 ns per read.
// A host whose hypervisor traps rdtsc costs far more, which ReadCost shows at once.
//
// Invariant TSC (CPUID leaf 0x80000007, EDX bit 8) means the counter ticks at a constant rate in
// every P-, C- and T-state and is synchronized across cores, so one rate serves every worker.
// Without it the counter may slow down in deep sleep or with frequency scaling: costs are then
// wrong by the frequency ratio. Calibrate() does not fail for that (a VM often hides the bit
// while its TSC is in fact stable); it reports it in invariant() for the caller to log.
//
// Calibration reads the TSC and CLOCK_MONOTONIC together at the start and the end of a window
// (default 10 ms), each pair taken as the tightest of several tries (a TSC read on each side of
// clock_gettime; the smaller the gap, the better the pair), so a preemption in the window does
// not skew the rate. The error bound is (gap at start + gap at end) / window + 2 ns / window;
// error_bound() returns it for this calibration: 2e-6 with the default 10 ms window on the
// build VM, where two calibrations agree to within 1e-6 (cycle_clock_test).
//
// On a machine without a TSC (not x86-64), Now() reads CLOCK_MONOTONIC in nanoseconds and the
// rate is 1e9 per second, so callers need no second code path.
#pragma once

#include <chrono>
#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "base/result.h"

namespace vigil::tenant {

// CPUID 0x80000007 EDX bit 8 (false on a CPU without that leaf, and on anything but x86-64).
[[nodiscard]] bool HasInvariantTsc();

// CLOCK_MONOTONIC in nanoseconds.
[[nodiscard]] uint64_t MonotonicNanoseconds();

// A TSC reading and a CLOCK_MONOTONIC reading taken together: the TSC is read on each side of
// clock_gettime and the midpoint kept; `gap` (cycles between the two TSC reads) bounds how far
// apart the two clocks were read. The tightest of 16 tries is returned, so an interrupt or a
// preemption between the reads costs a retry, not an error.
struct ClockPair {
  uint64_t cycles = 0;
  uint64_t ns = 0;
  uint64_t gap = UINT64_MAX;
};
[[nodiscard]] ClockPair ReadClockPair();

class CycleClock {
 public:
  // The current cycle count: a few nanoseconds, no system call, no fence (see the header).
  [[nodiscard]] static inline uint64_t Now() {
#if defined(__x86_64__)
    return __rdtsc();
#else
    return MonotonicNanoseconds();
#endif
  }

  // Measures the rate against CLOCK_MONOTONIC over `window` (sleeping in between). Fails when the
  // window is shorter than 1 ms (too short to bound the error) or the counter does not advance.
  [[nodiscard]] static base::Result<CycleClock> Calibrate(
      std::chrono::nanoseconds window = std::chrono::milliseconds(10));

  // A clock with a known rate, for tests and simulations (no hardware read involved).
  [[nodiscard]] static CycleClock WithRate(uint64_t cycles_per_second, bool invariant = true);

  [[nodiscard]] uint64_t cycles_per_second() const { return cycles_per_second_; }
  [[nodiscard]] bool invariant() const { return invariant_; }
  // Relative error bound of the calibrated rate (0 for WithRate).
  [[nodiscard]] double error_bound() const { return error_bound_; }

  // Conversions; 128-bit intermediates, so no overflow for any uint64_t input whose result fits.
  [[nodiscard]] uint64_t ToNanoseconds(uint64_t cycles) const;
  [[nodiscard]] uint64_t ToCycles(std::chrono::nanoseconds duration) const;
  [[nodiscard]] double ToSeconds(uint64_t cycles) const {
    return static_cast<double>(cycles) / static_cast<double>(cycles_per_second_);
  }

 private:
  CycleClock(uint64_t cycles_per_second, bool invariant, double error_bound)
      : cycles_per_second_(cycles_per_second), invariant_(invariant), error_bound_(error_bound) {}

  uint64_t cycles_per_second_;
  bool invariant_;
  double error_bound_;
};

}  // namespace vigil::tenant

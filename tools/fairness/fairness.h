// The arithmetic of the fairness experiment (tools/fairness/main.cc): weighted fair shares, Jain's
// fairness index, and the medians of repeated runs. Separate from the harness so that it can be
// tested without threads, clocks or a detection plan.
//
//   std::vector<double> fair = fairness::FairShares({1, 1, 1}, {true, false, true});  // ½, 0, ½
//   double j = fairness::JainIndex({0.33, 0.34, 0.33});                                // ≈ 1
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vigil::fairness {

// Each tenant's weighted fair share of one CPU when only the `backlogged` ones want it: weight /
// the backlogged tenants' total weight, and 0 for a tenant that is not backlogged (what it does
// not take is the others', as a work-conserving scheduler hands it on). All zeros when no tenant
// is backlogged. Precondition: equal sizes.
[[nodiscard]] std::vector<double> FairShares(std::span<const uint32_t> weights,
                                             std::span<const bool> backlogged);

// Jain's fairness index (Σx)² / (n·Σx²) of `x`, the tenants' allocations each divided by its fair
// share: 1 when all are equal, 1/n when one tenant has everything. 1 for an empty or all-zero
// input (nobody is treated worse than anybody else).
[[nodiscard]] double JainIndex(std::span<const double> x);

// The median of `v` (the mean of the two middle values for an even count); 0 when empty.
[[nodiscard]] double Median(std::vector<double> v);

}  // namespace vigil::fairness

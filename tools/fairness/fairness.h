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

// How a worker's CPU time went, by the independent measure. In: `cpu_s`, the CPU time the worker
// thread(s) got; `idle_s`, of it, polling an empty queue; each tenant's work by costs measured
// alone (`work_s`: packets inspected × cost alone + packets refused × a refusal's cost alone) and
// the refusals' part of it (`refusal_s`). The busy time (cpu − idle) is split among the tenants in
// proportion to their work: costs measured alone are evidence for the proportions, while their
// sum reads a blend of tenants' traffic a few % low (one tenant's packets evict another's cache
// lines), by about as much for each tenant. Precondition: equal sizes.
struct CpuSplit {
  std::vector<double> share;  // each tenant's fraction of cpu_s
  double used = 0;            // Σ share = busy / cpu
  double inspecting = 0;      // of it, on packets inspected rather than refused
  double coverage = 0;        // Σ work / busy: how much of the busy time costs alone explain
};
[[nodiscard]] CpuSplit SplitCpu(double cpu_s, double idle_s, std::span<const double> work_s,
                                std::span<const double> refusal_s);

// The median of `v` (the mean of the two middle values for an even count); 0 when empty.
[[nodiscard]] double Median(std::vector<double> v);

}  // namespace vigil::fairness

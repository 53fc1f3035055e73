#include "fairness/fairness.h"

#include <algorithm>

namespace vigil::fairness {

std::vector<double> FairShares(std::span<const uint32_t> weights,
                               std::span<const bool> backlogged) {
  double total = 0;
  for (size_t i = 0; i < weights.size(); ++i) total += backlogged[i] ? weights[i] : 0;
  std::vector<double> fair(weights.size(), 0.0);
  if (total == 0) return fair;
  for (size_t i = 0; i < weights.size(); ++i) fair[i] = backlogged[i] ? weights[i] / total : 0;
  return fair;
}

double JainIndex(std::span<const double> x) {
  double sum = 0, squares = 0;
  for (double v : x) {
    sum += v;
    squares += v * v;
  }
  if (squares == 0) return 1.0;
  return sum * sum / (static_cast<double>(x.size()) * squares);
}

CpuSplit SplitCpu(double cpu_s, double idle_s, std::span<const double> work_s,
                  std::span<const double> refusal_s) {
  CpuSplit out;
  out.share.assign(work_s.size(), 0.0);
  double work = 0, refusals = 0;
  for (size_t i = 0; i < work_s.size(); ++i) {
    work += work_s[i];
    refusals += refusal_s[i];
  }
  const double busy = std::clamp(cpu_s - idle_s, 0.0, cpu_s);
  if (cpu_s <= 0 || work <= 0) return out;
  for (size_t i = 0; i < work_s.size(); ++i) out.share[i] = busy / cpu_s * work_s[i] / work;
  out.used = busy / cpu_s;
  out.inspecting = out.used * (work - refusals) / work;
  out.coverage = busy > 0 ? work / busy : 0;
  return out;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t mid = v.size() / 2;
  return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

}  // namespace vigil::fairness

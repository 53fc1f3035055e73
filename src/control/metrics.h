// Prometheus text exposition (format 0.0.4) of vigil's counters, for `GET /metrics`.
//
//   Exposition e;
//   AddWorkerCounters(e, view.WorkerCounters(), view.Interfaces(), view.cycles_per_second());
//   e.Add("vigil_alerts_total", MetricType::kCounter, "alerts written", {}, alerts);
//   std::string body = e.Text();
//
// Naming: every engine counter "a.b.c" of worker W becomes `vigil_a_b_c_total{worker="W"}`;
// per-interface capture counters ("capture.IFACE.packets") become
// `vigil_interface_packets_total{interface="IFACE",worker="W"}` and per-tenant ones
// ("tenant.NAME.bytes") `vigil_tenant_bytes_total{tenant="NAME",worker="W"}`, their cycles as
// `vigil_tenant_cpu_seconds_total`. Levels rather than counts (flow.active, memory in use,
// detect.rules) are gauges without the _total suffix. Sums over workers are left to PromQL.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/parallel.h"

namespace vigil::control {

enum class MetricType { kCounter, kGauge };

using Labels = std::vector<std::pair<std::string, std::string>>;

class Exposition {
 public:
  // One sample of family `name` (HELP and TYPE are taken from its first sample).
  void Add(const std::string& name, MetricType type, std::string_view help, const Labels& labels,
           double value);
  // Families in the order of their first sample; each family's samples together.
  [[nodiscard]] std::string Text() const;

 private:
  struct Family {
    MetricType type;
    std::string help;
    std::vector<std::string> samples;
  };
  std::vector<std::string> order_;
  std::map<std::string, Family> families_;
};

// `dotted` as a metric name: "vigil_" + the name with every character outside [a-zA-Z0-9_] as
// '_' ("decode.ipv4.bad_ihl" -> "vigil_decode_ipv4_bad_ihl").
[[nodiscard]] std::string MetricName(std::string_view dotted);
// A label value escaped as the exposition format wants (\\, \", \n).
[[nodiscard]] std::string EscapeLabel(std::string_view value);
// Whether an engine counter is a level (gauge) rather than a count.
[[nodiscard]] bool IsLevel(std::string_view dotted);

// Adds every counter of every worker (worker i at index i), per the naming above.
void AddWorkerCounters(Exposition& e, const std::vector<engine::CounterSum>& workers,
                       const std::vector<std::string>& interfaces, uint64_t cycles_per_second);

// "tenant.NAME.COUNTER" split into {NAME, COUNTER}; false for another name.
bool SplitTenantCounter(std::string_view dotted, std::string_view& tenant,
                        std::string_view& counter);

}  // namespace vigil::control

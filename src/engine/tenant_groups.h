// TenantGroups: multi-tenant detection, as Suricata selects a detection engine per tenant by
// VLAN or device. A tenant whose configuration names its own `rule-files`, or a `policy` other
// than the run's, is inspected by a pipeline of its own — an engine::Worker on its own plan, with
// its own flows and streams — and the rest by the worker's main pipeline:
//
//   tenants:
//     - name: web
//       match: { prefixes: [10.77.0.2/32] }
//       rule-files: [web.rules]   # only these rules for web's traffic
//     - name: lab
//       match: { vlans: [300] }
//       policy: ids               # the run's rules, but alert only: nothing of lab's is dropped
//
//   TenantGroups groups;                                   // per worker
//   groups.Update(table, plans, config, inline_run);       // at start and after each reload
//   stage.Admit(packets, ingress, true, &programs, groups.group_of_tenant());
//   for (size_t g = 0; g <= groups.size(); ++g)            // 0: the main pipeline
//     (g == 0 ? main : groups.worker(g)).Process(stage.group(g), sink);
//
// Policy: "ids" never drops (its matches alert; inline, the packets are forwarded); "ips" drops
// what its drop rules match when the run is inline (beside a link nothing can be dropped). A
// tenant's plans are compiled by the caller (TenantPlan) from its rule files with the run's
// variables; a reload builds them again and Update switches each tenant's pipeline to its new
// plan (Worker::SwapPlan: flows and streams go on), keeping pipelines by tenant name.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "detect/detector.h"
#include "engine/worker.h"
#include "tenant/tenant_table.h"

namespace vigil::engine {

// A tenant's own rules, compiled.
struct TenantPlan {
  std::string tenant;
  std::shared_ptr<const detect::DetectionPlan> plan;
};

class TenantGroups {
 public:
  // (Re)builds the groups for `table` (null: none): one per tenant with its own plan (found in
  // `plans` by name) or a policy other than the run's (`inline_run`: whether the run can drop),
  // on `main_plan` when it has no rules of its own. Fails when a tenant names rule files but
  // `plans` has none for it, or a pipeline cannot be made.
  [[nodiscard]] base::Status Update(const tenant::TenantTable* table,
                                    const std::vector<TenantPlan>& plans,
                                    std::shared_ptr<const detect::DetectionPlan> main_plan,
                                    const WorkerConfig& config, bool inline_run);

  // Groups besides the main pipeline (group 0); 0 when every tenant is inspected by it.
  [[nodiscard]] size_t size() const { return groups_.size(); }
  // Per tenant of the table, its group (0: the main pipeline); empty when size() is 0.
  [[nodiscard]] std::span<const uint8_t> group_of_tenant() const { return group_of_tenant_; }
  // Group g (1..size()): its pipeline, and whether its drops take effect.
  [[nodiscard]] Worker& worker(size_t g) { return *groups_[g - 1].worker; }
  [[nodiscard]] bool may_drop(size_t g) const { return groups_[g - 1].may_drop; }

  // The counters of every group's pipeline (summed into the worker's by name).
  void ForEachStat(const std::function<void(std::string_view, uint64_t)>& f) const;

  static constexpr size_t kMaxGroups = 255;

 private:
  struct Group {
    std::string tenant;
    std::shared_ptr<const detect::DetectionPlan> plan;
    std::unique_ptr<Worker> worker;
    bool may_drop = false;
  };
  std::vector<Group> groups_;
  std::vector<uint8_t> group_of_tenant_;
};

}  // namespace vigil::engine

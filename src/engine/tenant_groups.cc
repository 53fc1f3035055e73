#include "engine/tenant_groups.h"

namespace vigil::engine {

base::Status TenantGroups::Update(const tenant::TenantTable* table,
                                  const std::vector<TenantPlan>& plans,
                                  std::shared_ptr<const detect::DetectionPlan> main_plan,
                                  const WorkerConfig& config, bool inline_run) {
  std::vector<Group> next;
  std::vector<uint8_t> group_of(table != nullptr ? table->size() : 0, 0);
  for (uint32_t t = 0; table != nullptr && t < table->size(); ++t) {
    const tenant::TenantSpec& spec = table->spec(t);
    const bool may_drop = inline_run && spec.policy != "ids";
    std::shared_ptr<const detect::DetectionPlan> plan;
    if (!spec.rule_files.empty()) {
      for (const TenantPlan& p : plans) {
        if (p.tenant == spec.name) plan = p.plan;
      }
      if (plan == nullptr) {
        return base::MakeError("tenant '" + spec.name + "': its rules were not compiled");
      }
    } else if (may_drop == inline_run) {
      continue;  // the run's rules and policy: the main pipeline
    }
    if (next.size() == kMaxGroups) {
      return base::MakeError("tenant '" + spec.name +
                             "': more than 255 tenants with their own "
                             "rules or policy");
    }
    const bool own_plan = plan != nullptr;
    if (!own_plan) plan = main_plan;
    // The tenant's pipeline goes on from the old one of the same name (flows and streams kept).
    Group g{.tenant = spec.name, .plan = plan, .may_drop = may_drop};
    for (Group& old : groups_) {
      // (A pipeline's policy is fixed when it is made: a changed one gets a new pipeline.)
      if (old.tenant != spec.name || old.worker == nullptr || old.may_drop != may_drop) continue;
      auto filter = own_plan ? plan->event_filter().NewSharedFilter() : config.event_filter;
      if (old.plan == plan || old.worker->SwapPlan(*plan, filter)) {
        g.worker = std::move(old.worker);
      }
    }
    if (g.worker == nullptr) {
      WorkerConfig c = config;
      c.inline_mode = may_drop;
      c.alert_only = inline_run && !may_drop;
      if (own_plan) c.event_filter = plan->event_filter().NewSharedFilter();
      auto w = Worker::Create(*plan, c);
      if (!w) return base::MakeError("tenant '" + spec.name + "': " + w.error().ToString());
      g.worker = std::move(*w);
    }
    next.push_back(std::move(g));
    group_of[t] = uint8_t(next.size());
  }
  groups_ = std::move(next);
  group_of_tenant_ = groups_.empty() ? std::vector<uint8_t>{} : std::move(group_of);
  return {};
}

void TenantGroups::ForEachStat(const std::function<void(std::string_view, uint64_t)>& f) const {
  for (const Group& g : groups_) g.worker->ForEachStat(f);
}

}  // namespace vigil::engine

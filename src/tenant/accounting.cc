#include "tenant/accounting.h"

#include <string>

namespace vigil::tenant {

base::Result<TenantAccounting> TenantAccounting::Create(const TenantTable& table,
                                                        const CycleClock& clock) {
  std::vector<TenantShare> shares;
  for (uint32_t t = 0; t < table.size(); ++t) {
    shares.push_back({.weight = table.spec(t).weight, .cap = table.spec(t).cap});
  }
  auto scheduler =
      TokenScheduler::Create(std::move(shares), {.cycles_per_second = clock.cycles_per_second()});
  if (!scheduler) return scheduler.error();
  return TenantAccounting(table, std::move(*scheduler));
}

void TenantAccounting::ForEachStat(const std::function<void(std::string_view, uint64_t)>& f) const {
  for (uint32_t t = 0; t < totals_.size(); ++t) {
    const std::string prefix = "tenant." + table_->spec(t).name + ".";
    const TenantTotals& x = totals_[t];
    f(prefix + "packets", x.packets);
    f(prefix + "bytes", x.bytes);
    f(prefix + "cycles", x.cycles);
    f(prefix + "refused", x.refused);
    f(prefix + "rule_drops", x.rule_drops);
  }
}

}  // namespace vigil::tenant

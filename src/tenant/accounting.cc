#include "tenant/accounting.h"

#include <time.h>

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
  return TenantAccounting(table, std::move(*scheduler), clock.cycles_per_second());
}

void TenantAccounting::Refill(uint64_t now_cycles, uint64_t busy_cycles) {
  busy_ += busy_cycles;
  if (wall_mark_ != 0 && now_cycles - wall_mark_ < scheduler_.period_cycles()) return;
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  const uint64_t cpu_ns = uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
  uint64_t stolen = 0;
  if (wall_mark_ != 0 && now_cycles > wall_mark_) {
    const auto ran = static_cast<uint64_t>(static_cast<double>(cpu_ns - cpu_mark_ns_) *
                                           static_cast<double>(cycles_per_second_) * 1e-9);
    stolen = busy_ > ran ? busy_ - ran : 0;
  }
  busy_ = 0;
  wall_mark_ = now_cycles;
  cpu_mark_ns_ = cpu_ns;
  scheduler_.Refill(now_cycles, stolen);
}

void TenantAccounting::CarryTotals(const TenantAccounting& old) {
  for (uint32_t o = 0; o < old.totals_.size(); ++o) {
    for (uint32_t t = 0; t < totals_.size(); ++t) {
      if (table_->spec(t).name != old.table_->spec(o).name) continue;
      const TenantTotals& from = old.totals_[o];
      TenantTotals& to = totals_[t];
      to.packets += from.packets;
      to.bytes += from.bytes;
      to.cycles += from.cycles;
      to.refused += from.refused;
      to.rule_drops += from.rule_drops;
      to.program_drops += from.program_drops;
      to.program_tx += from.program_tx;
      to.program_redirects += from.program_redirects;
    }
  }
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
    f(prefix + "program_drops", x.program_drops);
    f(prefix + "program_tx", x.program_tx);
    f(prefix + "program_redirects", x.program_redirects);
  }
}

void TenantAccounting::ForEachTokenLevel(
    const std::function<void(std::string_view, uint64_t)>& f) const {
  for (uint32_t t = 0; t < totals_.size(); ++t) {
    const std::string prefix = "tenant." + table_->spec(t).name + ".";
    const TenantCounters c = scheduler_.counters(t);
    f(prefix + "tokens", c.balance > 0 ? uint64_t(c.balance) : 0);
    f(prefix + "debt", c.debt);
    f(prefix + "token_bank", scheduler_.bank(t));
  }
}

}  // namespace vigil::tenant

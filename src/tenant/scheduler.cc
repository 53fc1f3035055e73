#include "tenant/scheduler.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace vigil::tenant {
namespace {

uint64_t MulDiv(uint64_t a, uint64_t b, uint64_t c) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(a) * b / c);
}

uint64_t Fraction(uint64_t value, double fraction) {
  return static_cast<uint64_t>(std::floor(static_cast<double>(value) * fraction));
}

}  // namespace

WaterFillResult WaterFill(std::span<const uint32_t> weights, std::span<uint64_t> room,
                          uint64_t tokens, std::span<uint64_t> grant,
                          std::vector<uint64_t>* trace) {
  std::fill(grant.begin(), grant.end(), 0);
  uint64_t remaining = tokens;
  uint32_t rounds = 0;
  while (remaining > 0) {
    uint64_t total_weight = 0;
    for (size_t i = 0; i < weights.size(); ++i) total_weight += room[i] > 0 ? weights[i] : 0;
    if (total_weight == 0) break;
    if (trace != nullptr) trace->push_back(remaining);
    ++rounds;
    uint64_t handed = 0;
    bool someone_full = false;
    for (size_t i = 0; i < weights.size(); ++i) {
      if (room[i] == 0) continue;
      uint64_t part = MulDiv(remaining, weights[i], total_weight);
      uint64_t take = std::min(part, room[i]);
      someone_full |= take == room[i];
      grant[i] += take;
      room[i] -= take;
      handed += take;
    }
    remaining -= handed;
    if (!someone_full) {
      // Every tenant took its whole part, so what is left is the division remainder, fewer
      // tokens than tenants still wanting, each of which has at least one more token of room
      // (its part was below its room): one each, in index order.
      for (size_t i = 0; i < weights.size() && remaining > 0; ++i) {
        if (room[i] == 0) continue;
        ++grant[i];
        --room[i];
        --remaining;
      }
      break;
    }
  }
  return {remaining, rounds};
}

base::Result<TokenScheduler> TokenScheduler::Create(std::vector<TenantShare> shares,
                                                    SchedulerOptions options) {
  if (shares.empty()) return base::MakeError("tenant scheduler: no tenants");
  if (options.cycles_per_second == 0) {
    return base::MakeError("tenant scheduler: cycles_per_second is not set (calibrate the TSC)");
  }
  if (options.period < std::chrono::microseconds(1) || options.period > std::chrono::seconds(1)) {
    return base::MakeError("tenant scheduler: period " + std::to_string(options.period.count()) +
                           " ns is outside 1 us .. 1 s");
  }
  if (!(options.growth > 0.0 && options.growth <= 1.0)) {
    return base::MakeError("tenant scheduler: growth " + std::to_string(options.growth) +
                           " is outside (0, 1]");
  }
  if (!(options.waiting_growth > 0.0 && options.waiting_growth <= 10.0)) {
    return base::MakeError("tenant scheduler: waiting_growth " +
                           std::to_string(options.waiting_growth) + " is outside (0, 10]");
  }
  if (!(options.bank_periods > 0.0 && options.bank_periods <= 1000.0)) {
    return base::MakeError("tenant scheduler: bank_periods " +
                           std::to_string(options.bank_periods) + " is outside (0, 1000]");
  }
  if (options.max_catch_up_periods == 0) {
    return base::MakeError("tenant scheduler: max_catch_up_periods must be at least 1");
  }
  uint64_t total_weight = 0;
  for (size_t i = 0; i < shares.size(); ++i) {
    const TenantShare& s = shares[i];
    if (s.weight < 1 || s.weight > kMaxWeight) {
      return base::MakeError("tenant scheduler: tenant " + std::to_string(i) + " has weight " +
                             std::to_string(s.weight) + ", outside 1.." +
                             std::to_string(kMaxWeight));
    }
    if (!(s.cap > 0.0 && s.cap <= 1.0)) {
      return base::MakeError("tenant scheduler: tenant " + std::to_string(i) + " has cap " +
                             std::to_string(s.cap) + ", outside (0, 1]");
    }
    total_weight += s.weight;
  }

  TokenScheduler sched;
  sched.options_ = options;
  sched.period_cycles_ = std::max<uint64_t>(1, MulDiv(static_cast<uint64_t>(options.period.count()),
                                                      options.cycles_per_second, 1'000'000'000u));
  sched.max_charge_ = sched.period_cycles_ * options.max_catch_up_periods;
  sched.slots_.resize(shares.size());
  sched.tenants_.resize(shares.size());
  sched.weights_.resize(shares.size());
  sched.room_.resize(shares.size());
  sched.grant_.resize(shares.size());
  sched.spent_.resize(shares.size());
  for (size_t i = 0; i < shares.size(); ++i) {
    double fair = static_cast<double>(shares[i].weight) / static_cast<double>(total_weight);
    Tenant& t = sched.tenants_[i];
    t.cap = shares[i].cap;
    t.bank = std::max<uint64_t>(
        1, Fraction(sched.period_cycles_, std::min(fair, t.cap) * options.bank_periods));
    sched.weights_[i] = shares[i].weight;
    sched.slots_[i].balance = static_cast<int64_t>(t.bank);
  }
  sched.total_weight_ = total_weight;
  return sched;
}

bool TokenScheduler::Refill(uint64_t now_cycles, uint64_t stolen_cycles) {
  if (!started_) {
    started_ = true;
    last_refill_ = now_cycles;
    return false;
  }
  uint64_t elapsed = now_cycles - last_refill_;
  if (now_cycles < last_refill_ || elapsed < period_cycles_) return false;
  last_refill_ = now_cycles;
  // Time the worker did not run is no tenant's (see Refill in the header).
  const uint64_t stolen = std::min(stolen_cycles, elapsed);
  elapsed = std::min(elapsed - stolen, period_cycles_ * options_.max_catch_up_periods);
  uint64_t supply = elapsed;
  uint64_t charged = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    spent_[i] = slots_[i].cycles_charged - tenants_[i].charged_mark;
    tenants_[i].charged_mark = slots_[i].cycles_charged;
    charged += spent_[i];
  }
  if (stolen > 0 && charged > 0) {
    const uint64_t refund = std::min(stolen, charged);
    for (size_t i = 0; i < slots_.size(); ++i) {
      const uint64_t back = MulDiv(refund, spent_[i], charged);
      slots_[i].balance += static_cast<int64_t>(back);
      tenants_[i].tokens_refunded += back;
      spent_[i] -= back;
    }
  }
  counters_.cycles_stolen += stolen;

  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    Tenant& t = tenants_[i];
    uint64_t cap = t.cap >= 1.0 ? elapsed : Fraction(elapsed, t.cap);
    const uint64_t spent = spent_[i];
    const bool waiting = s.waiting;
    s.waiting = false;
    t.waiting_periods += waiting ? 1 : 0;
    if (s.balance <= 0) {
      // Backlogged (see Demand in the header): its full part, up to its cap.
      room_[i] = cap;
      continue;
    }
    auto bank = static_cast<int64_t>(t.bank);
    if (s.balance > bank) {
      t.tokens_expired += static_cast<uint64_t>(s.balance - bank);
      s.balance = bank;
    }
    uint64_t want = static_cast<uint64_t>(bank - s.balance);  // idle: back to its bank
    if (spent > 0) {
      // Active but not out of tokens: light, or starved of CPU by others' packets ahead of its
      // own. What it spent plus a little more, so that a starved tenant's part grows back; half
      // again what it spent when its packets were seen waiting in the queue.
      uint64_t margin = Fraction(MulDiv(elapsed, weights_[i], total_weight_), options_.growth);
      if (waiting) margin = std::max(margin, Fraction(spent, options_.waiting_growth));
      want = std::max(want, spent + margin);
    }
    room_[i] = std::min(cap, want);
  }

  WaterFillResult filled = WaterFill(weights_, room_, supply, grant_);
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    Tenant& t = tenants_[i];
    if (s.balance < 0) {
      t.debt_paid += std::min(grant_[i], static_cast<uint64_t>(-s.balance));
    }
    s.balance += static_cast<int64_t>(grant_[i]);
    t.tokens_granted += grant_[i];
  }
  ++counters_.refills;
  counters_.tokens_offered += supply;
  counters_.tokens_unused += filled.unused;
  counters_.last_rounds = filled.rounds;
  return true;
}

TenantCounters TokenScheduler::counters(uint32_t tenant) const {
  const Slot& s = slots_[tenant];
  const Tenant& t = tenants_[tenant];
  return TenantCounters{
      .admitted = s.admitted,
      .refused = s.refused,
      .cycles_charged = s.cycles_charged,
      .refusals_uncharged = s.refusals_uncharged,
      .cycles_unbilled = s.cycles_unbilled,
      .waiting_periods = t.waiting_periods,
      .tokens_granted = t.tokens_granted,
      .tokens_expired = t.tokens_expired,
      .tokens_refunded = t.tokens_refunded,
      .debt_paid = t.debt_paid,
      .balance = s.balance,
      .debt = s.balance < 0 ? static_cast<uint64_t>(-s.balance) : 0,
  };
}

}  // namespace vigil::tenant

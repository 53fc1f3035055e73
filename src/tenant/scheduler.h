// TokenScheduler: work-conserving weighted fair shares of one worker's CPU, in cycles, for
// tenants served run-to-completion (no preemption), after Chaignon et al., "Offloading Security
// Services to the Cloud Infrastructure" (SecSoN'18) and BESS's traffic classes charged in cycles.
//
// One scheduler per worker thread; nothing is shared, nothing locked. The worker asks Admit()
// for each packet on arrival (after the tenant demux, before any tenant work), charges what the
// packet cost when it is done with it, and calls Refill() between batches:
//
//   auto sched = TokenScheduler::Create({{.weight = 1}, {.weight = 2}},
//                                       {.cycles_per_second = clock.cycles_per_second()});
//   for (Packet& p : batch) {
//     uint64_t start = CycleClock::Now();           // this packet's own start, not the batch's
//     uint32_t t = demux.TenantOf(p);
//     if (sched->Admit(t)) {
//       Process(p);                                  // offload chain, IPS, verdict, transmit
//       sched->Charge(t, CycleClock::Now() - start);
//     } else {
//       Drop(p, kNoTokens);
//       sched->ChargeRefused(t, CycleClock::Now() - start);
//     }
//   }
//   sched->Refill(CycleClock::Now());
//
// A worker that runs its stages batch by batch does the same per packet inside the admission
// stage (Admit, and ChargeRefused at once for a refusal) and charges each admitted packet's cost
// when the batch is done; only the order of Admit and ChargeRefused calls matters.
//
// Tokens. Every period Δt the worker has capacity C = Δt × cycles per second. A tenant's balance
// is in cycles: Admit() lets a packet in while the balance is above zero and refuses it otherwise
// (counted, no tenant work spent); Charge() subtracts the measured cost, so a packet that costs
// more than was left drives the balance negative (12 charged with 5 left leaves -7) and that
// debt is paid from the next tokens. Refill() hands out the cycles elapsed since the last
// hand-out (at most `max_catch_up_periods` periods; less the time the worker's thread did not
// run, which is refunded to the charges that measured it) by weighted water-filling: each tenant
// that wants tokens is offered its weight's part of what is left; a tenant that wants less than its
// part takes only what it wants and the rest goes round again to the others by weight (30 tokens
// to hand out, a tenant that wants 2 leaves 8 for the next round, one that then wants 3 of its 4
// leaves 1 for the round after). What nobody wants is counted as unused.
//
// Demand: what each tenant wants at a hand-out, from its balance and what it spent since the
// last one. First, every positive balance above the tenant's bank is cut to it (counted as
// expired); bank = bank_periods × the tenant's weighted fair share of a period, C × weight /
// Σ weights (× cap when capped). Then:
//  - balance <= 0, backlogged: it spent all it had and more would come (anything that arrived
//    after was refused). It wants without limit, up to its cap: its full water-filled part,
//    which pays its debt first.
//  - balance > 0 and marked waiting (MarkWaiting) since the last hand-out: the worker saw its
//    packets in a batch behind which more frames waited in the receive queue, so the worker,
//    not the tenant's traffic, may be what kept it from spending more: behind a flood, a
//    victim's packets wait in the queue (and are lost at its tail) while its tokens last, so it
//    spends less than its part without running out. It wants what it spent plus
//    `waiting_growth` (50%) of that, or the active tenant's margin below if more: a starved
//    tenant's part so grows geometrically, by half again each period, to its fair share, as
//    long as the worker charges no more than about a fifth of its CPU to no tenant (see
//    Stability; scheduler_sim_test, WaitingMarkHoldsWhereTheGrowthMarginDoesNot). Not its full part
//    at once: a light tenant's packets in a queue that a flood overflows wait too, and what it is
//    offered and cannot spend is refused to the others until the queue drains; at half again what
//    it spends, that is at most half its own use (scheduler_sim_test,
//    LightTenantWithTheWaitingMark).
//  - balance > 0 and nothing spent, idle: topped up to its bank, no more. An idle tenant at its
//    bank takes nothing, so its part goes to the others, and it cannot save a burst larger than
//    its bank however long it sleeps.
//  - balance > 0 and something spent, active: it wants what it spent, plus `growth` (5%) of its
//    fair share of the hand-out, or the top-up to its bank if that is more. A light tenant is so
//    given back what it uses with a small margin, and the rest of its part goes to the others.
//    The margin is also there for a starved tenant whose worker cannot say that frames wait
//    (MarkWaiting is never called): topped up to exactly what it spent, it would be offered
//    less every period, the flood more (see Stability); with the margin its part grows back
//    each period until it runs out or reaches its fair share, but only while the margin
//    exceeds the CPU the worker charges to no tenant. The waiting mark does not depend on that.
//
// Stability. Tokens must not promise much more CPU than the tenants can be given, nor much less.
//  - More: cycles the worker charges to no tenant (receiving batches, Refill) are handed out
//    all the same, as the hand-out is the time elapsed. The tokens the CPU cannot honour are
//    left with the slowest spenders; without the waiting mark, `growth` must exceed that
//    fraction of the CPU or the drift described above wins (scheduler_sim_test: a 3,000-cycle
//    batch overhead, ~3% of the CPU, still leaves victims 93% of their share; 12,000 cycles,
//    ~12%, gives the flood 81% of the CPU, the waiting mark a third). What they cannot spend
//    expires at their banks. engine::TenantStage charges the whole batch to its packets.
//  - Less: no part of the hand-out is kept back, because a shortage feeds itself: when every
//    tenant with packets is out of tokens the worker only refuses, and if those refusals were
//    charged they would become debt, shortening the next period's tokens, lengthening the next
//    run of refusals. So ChargeRefused() charges a refused packet only while the worker is
//    still serving someone (a flood pays for refusing its own packets, which is CPU taken from
//    the others, 7% in the simulation) and stops after kFreeRefusalRun refusals in a row.
//
// Cost: Admit(), Charge(), ChargeRefused() and MarkWaiting() touch one 56-byte slot of the tenant
// and one scheduler word, no branch beyond the comparisons, no allocation, no atomic: about 1-3 ns
// (scheduler_test, AdmitChargeCost). Refill() is O(tenants × rounds), no allocation; each round
// hands out only what the last one left, so rounds stay few (2 to 8 measured, up to 1,024
// tenants): about 1 µs for 64 tenants and 10-14 µs for 1,024 on the build VM, once a period.
// Counters are plain integers owned by the worker thread; a stats reader copies them between
// batches (or the worker publishes them), not concurrently.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"

namespace vigil::tenant {

// What a tenant is entitled to.
struct TenantShare {
  // Relative share of the CPU, 1 to kMaxWeight.
  uint32_t weight = 1;
  // The most of each hand-out this tenant may receive, as a fraction of the cycles elapsed
  // (0 < cap <= 1; 1 = no cap). A capped tenant does not get more even when the CPU is idle.
  double cap = 1.0;
};

// Tunables of one worker's scheduler; defaults documented here and nowhere else.
struct SchedulerOptions {
  // The calibrated TSC rate (CycleClock::cycles_per_second()); required.
  uint64_t cycles_per_second = 0;
  // Δt: how often tokens are handed out. Shorter is smoother (a flood gets its tokens in
  // smaller portions) at more Refill work; 1 ms is 30 batches of 1 µs packets.
  std::chrono::nanoseconds period = std::chrono::milliseconds(1);
  // The most positive balance a tenant may carry across a hand-out, in periods of its weighted
  // fair share. It bounds an idle tenant's burst; at least one period's share keeps a light
  // tenant's demand (below its share) met without being refused first.
  double bank_periods = 1.0;
  // A tenant that spent tokens but did not run out is offered what it spent plus this fraction
  // of its fair share of the hand-out (see Demand in the header comment): the room a tenant
  // starved of CPU behind a flood needs to win its share back, and the most a light tenant
  // leaves unused per period. 0 < growth <= 1; it must exceed the fraction of the worker's
  // cycles charged to no tenant.
  double growth = 0.05;
  // A tenant marked waiting that did not run out is offered what it spent plus this fraction
  // of it (or the growth margin if more; see Demand). 0 < waiting_growth <= 10.
  double waiting_growth = 0.5;
  // A Refill() after a longer gap (the worker was idle or stuck) hands out at most this many
  // periods: tenants could not have used the CPU of a time when nothing ran.
  uint32_t max_catch_up_periods = 4;
};

// A tenant's counters, cumulative since Create() except balance and debt.
struct TenantCounters {
  uint64_t admitted = 0;
  uint64_t refused = 0;             // refused on arrival: no tokens
  uint64_t cycles_charged = 0;      // all Charge()s and charged ChargeRefused()s
  uint64_t refusals_uncharged = 0;  // cycles of refusals not charged (runs of refusals)
  uint64_t cycles_unbilled = 0;     // of packets that cost more than the most charged (Charge)
  uint64_t waiting_periods = 0;     // hand-outs at which it was marked waiting
  uint64_t tokens_granted = 0;      // all it received from hand-outs
  uint64_t tokens_expired = 0;      // cut off by the bank before hand-outs
  uint64_t tokens_refunded = 0;     // charges given back: time the worker did not run (Refill)
  uint64_t debt_paid = 0;           // part of tokens_granted that went to pay debts
  int64_t balance = 0;              // now; negative = in debt
  uint64_t debt = 0;                // now: max(0, -balance)
};

// Scheduler-wide counters.
struct SchedulerCounters {
  uint64_t refills = 0;         // hand-outs done
  uint64_t tokens_offered = 0;  // cycles elapsed and offered to the tenants
  uint64_t cycles_stolen = 0;   // elapsed while the worker did not run: not offered
  uint64_t tokens_unused = 0;   // offered that no tenant wanted (idle, banked, capped)
  uint32_t last_rounds = 0;     // water-filling rounds of the latest hand-out
};

inline constexpr uint32_t kMaxWeight = 1'000'000;

// Weighted water-filling: hands `tokens` out over the tenants whose `room` (what each wants) is
// above zero, by `weights`, round after round as described in the header comment; `grant`
// receives each one's part and `room` is left holding what each still wants. Division
// remainders (fewer tokens than tenants still wanting) go one by one in index order, so
// nothing is lost to rounding. When `trace` is given, the tokens at the start of each round are
// appended to it (for tests; no allocation otherwise). Preconditions: equal sizes, weights >= 1.
struct WaterFillResult {
  uint64_t unused = 0;  // tokens nobody wanted
  uint32_t rounds = 0;
};
WaterFillResult WaterFill(std::span<const uint32_t> weights, std::span<uint64_t> room,
                          uint64_t tokens, std::span<uint64_t> grant,
                          std::vector<uint64_t>* trace = nullptr);

class TokenScheduler {
 public:
  // Fails on no tenants, a weight outside 1..kMaxWeight, a cap outside (0, 1], a missing rate,
  // a period under 1 µs or over 1 s, growth outside (0, 1], waiting_growth outside (0, 10],
  // bank_periods outside (0, 1000],
  // or no catch-up period. Every balance starts full (at its bank).
  [[nodiscard]] static base::Result<TokenScheduler> Create(std::vector<TenantShare> shares,
                                                           SchedulerOptions options);

  // Per packet, on arrival: true when `tenant` has tokens (balance above zero). Counts the packet
  // as admitted or refused. Precondition: tenant < tenant_count().
  [[nodiscard]] bool Admit(uint32_t tenant) {
    Slot& s = slots_[tenant];
    bool ok = s.balance > 0;
    s.admitted += ok ? 1 : 0;
    s.refused += ok ? 0 : 1;
    refusal_run_ = ok ? 0 : refusal_run_ + 1;
    return ok;
  }

  // Per admitted packet, when done with it: subtracts its measured cost (cycles), at most
  // max_catch_up_periods periods: a packet that took longer than that was not using the CPU
  // all along (the worker was preempted, or warmed up a table on its first packet), and as a
  // Refill after such a gap hands out no more than that, no more is charged (the rest is
  // counted in cycles_unbilled). `packets` > 1: the cost of that many packets together (one
  // tenant's in a batch), billed at most that many times the cap.
  void Charge(uint32_t tenant, uint64_t cycles, uint32_t packets = 1) {
    Slot& s = slots_[tenant];
    uint64_t billed = cycles;
    if (billed > max_charge_ * packets) [[unlikely]] {
      billed = max_charge_ * packets;
      s.cycles_unbilled += cycles - billed;
    }
    s.balance -= static_cast<int64_t>(billed);
    s.cycles_charged += billed;
  }

  // Per refused packet, right after the Admit() that refused it (the run of refusals is counted
  // by Admit): what refusing it cost (demux, Admit, freeing the buffer). Charged like
  // Charge() while the worker is serving other tenants' packets (a flood then pays for its own
  // refusals instead of taking that CPU from the others); not charged after more than
  // kFreeRefusalRun refusals in a row, when no tenant with packets has tokens: that CPU could
  // serve nobody, and charging it would only turn a shortage of tokens into debt, which makes
  // the next shortage longer (see Stability).
  void ChargeRefused(uint32_t tenant, uint64_t cycles) {
    if (refusal_run_ <= kFreeRefusalRun) {
      Charge(tenant, cycles);
    } else {
      slots_[tenant].refusals_uncharged += cycles;
    }
  }
  static constexpr uint32_t kFreeRefusalRun = 64;  // two batches

  // Between hand-outs: `tenant` had packets in a batch behind which frames were still waiting
  // in the receive queue. At the next hand-out it may grow faster (see Demand).
  void MarkWaiting(uint32_t tenant) { slots_[tenant].waiting = true; }

  // Between batches: when a period or more has passed since the last hand-out, hands out the
  // elapsed cycles (see the header comment) and returns true; otherwise does nothing (one
  // comparison) and returns false. The first call only starts the clock.
  // `stolen_cycles`: of the time elapsed since the last hand-out, how much the worker's thread
  // did not run (preempted by other processes; TenantAccounting measures it from the thread's
  // CPU time). That time is no tenant's: it is not handed out, and as the charges of the
  // period measured it too (a packet's cost is wall-clock TSC time), it is given back to the
  // tenants charged in the period, in proportion to what each was charged (tokens_refunded).
  // A lone tenant whose packet the worker was preempted in is so not refused for that time.
  bool Refill(uint64_t now_cycles, uint64_t stolen_cycles = 0);

  [[nodiscard]] uint32_t tenant_count() const { return static_cast<uint32_t>(slots_.size()); }
  [[nodiscard]] uint64_t period_cycles() const { return period_cycles_; }
  // bank_periods × weighted fair share of a period (× cap): the most a balance carries over.
  [[nodiscard]] uint64_t bank(uint32_t tenant) const { return tenants_[tenant].bank; }
  [[nodiscard]] TenantCounters counters(uint32_t tenant) const;
  [[nodiscard]] const SchedulerCounters& scheduler_counters() const { return counters_; }

 private:
  // What Admit and Charge touch, one slot per tenant, 56 bytes.
  struct Slot {
    int64_t balance = 0;
    uint64_t admitted = 0;
    uint64_t refused = 0;
    uint64_t cycles_charged = 0;
    uint64_t refusals_uncharged = 0;
    uint64_t cycles_unbilled = 0;
    bool waiting = false;  // MarkWaiting since the last hand-out
  };
  // What only Refill and the counters touch.
  struct Tenant {
    double cap = 1.0;
    uint64_t bank = 0;
    uint64_t tokens_granted = 0;
    uint64_t tokens_expired = 0;
    uint64_t tokens_refunded = 0;
    uint64_t debt_paid = 0;
    uint64_t waiting_periods = 0;
    uint64_t charged_mark = 0;  // cycles_charged at the last hand-out
  };

  TokenScheduler() = default;

  std::vector<Slot> slots_;
  std::vector<Tenant> tenants_;
  std::vector<uint32_t> weights_;
  std::vector<uint64_t> room_;   // Refill scratch, sized once
  std::vector<uint64_t> grant_;  // Refill scratch, sized once
  std::vector<uint64_t> spent_;  // Refill scratch, sized once
  SchedulerOptions options_;
  uint64_t period_cycles_ = 0;
  uint64_t max_charge_ = 0;  // period_cycles_ × max_catch_up_periods: the most one Charge bills
  uint64_t last_refill_ = 0;
  uint64_t total_weight_ = 0;
  uint32_t refusal_run_ = 0;  // refusals since the last admission, any tenant
  bool started_ = false;
  SchedulerCounters counters_;
};

}  // namespace vigil::tenant

// TenantAccounting: the tenant stage of one worker — demultiplexing (TenantTable), fair
// admission (TokenScheduler) and per-tenant CPU accounting in TSC cycles (CycleClock). The
// worker calls it per packet on arrival and when it is done with the packet:
//
//   TenantAccounting acct(table, clock);                  // per worker
//   uint32_t t = acct.Classify(p, ingress);
//   if (!acct.Admit(t)) { drop; acct.Refused(t, cycles_spent_so_far); }
//   ... inspect, forward ...
//   acct.Done(t, p.caplen, cycles_of_this_packet, tenant::Outcome::kPassed);
//   acct.Refill(CycleClock::Now());                       // between batches
//
// What a packet costs is measured by the worker (live_run.cc): its share of receiving, decoding
// and demultiplexing its block, the time from the end of the packet before it to the end of its
// own inspection (every stage: flow, reassembly, detection, outputs), and its share of the
// transmit call; a refused packet costs its share of the first part only. Counters, per tenant
// ("tenant.<name>.<counter>"): packets, bytes, cycles, refused (no tokens), rule_drops,
// program_drops (the tenant's programs said XDP_DROP or XDP_ABORTED), program_tx (sent back where
// they came from) and program_redirects.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "tenant/cycle_clock.h"
#include "tenant/scheduler.h"
#include "tenant/tenant_table.h"

namespace vigil::tenant {

// How an admitted packet's processing ended.
enum class Outcome : uint8_t {
  kPassed,           // inspected (and forwarded inline, unless it could not be)
  kRuleDrop,         // a drop rule stopped it
  kProgramDrop,      // the tenant's programs dropped it (XDP_DROP, XDP_ABORTED)
  kProgramTx,        // the tenant's programs sent it back out of its interface (XDP_TX)
  kProgramRedirect,  // the tenant's programs redirected it (XDP_REDIRECT)
};

class TenantAccounting {
 public:
  // `table` must outlive the object.
  [[nodiscard]] static base::Result<TenantAccounting> Create(const TenantTable& table,
                                                             const CycleClock& clock);

  [[nodiscard]] uint32_t Classify(const packet::Packet& p, uint32_t ingress) const {
    return table_->Classify(p, ingress);
  }
  [[nodiscard]] bool Admit(uint32_t tenant) { return scheduler_.Admit(tenant); }
  // A refused packet: what refusing it cost.
  void Refused(uint32_t tenant, uint64_t cycles) {
    scheduler_.ChargeRefused(tenant, cycles);
    TenantTotals& t = totals_[tenant];
    ++t.refused;
    t.cycles += cycles;
  }
  // An admitted packet, done: its size, what it cost, how it ended.
  void Done(uint32_t tenant, uint32_t bytes, uint64_t cycles, Outcome outcome) {
    Charge(tenant, cycles);
    Count(tenant, 1, bytes);
    if (outcome != Outcome::kPassed) Ended(tenant, outcome);
  }
  // The same in parts, for a batch's packets (engine::TenantStage): what `packets` admitted
  // packets of the tenant cost together (the scheduler bills each at most its cap) ...
  void Charge(uint32_t tenant, uint64_t cycles, uint32_t packets = 1) {
    scheduler_.Charge(tenant, cycles, packets);
    totals_[tenant].cycles += cycles;
  }
  // ... how many were done and their sizes ...
  void Count(uint32_t tenant, uint32_t packets, uint64_t bytes) {
    TenantTotals& t = totals_[tenant];
    t.packets += packets;
    t.bytes += bytes;
  }
  // ... and how each one that was not passed ended.
  void Ended(uint32_t tenant, Outcome outcome) {
    TenantTotals& t = totals_[tenant];
    t.rule_drops += outcome == Outcome::kRuleDrop;
    t.program_drops += outcome == Outcome::kProgramDrop;
    t.program_tx += outcome == Outcome::kProgramTx;
    t.program_redirects += outcome == Outcome::kProgramRedirect;
  }
  // The tenant had a packet in a batch behind which frames waited (TokenScheduler::MarkWaiting).
  void Waiting(uint32_t tenant) { scheduler_.MarkWaiting(tenant); }
  // Between batches, on the worker's thread (TokenScheduler::Refill). `busy_cycles`: the wall
  // time of the batch just done (0: none). Once a period it reads the thread's CPU time
  // (CLOCK_THREAD_CPUTIME_ID, one system call a period): what the thread did not run of the
  // period's batches, preempted by other processes, is no tenant's. Time between batches
  // (waiting for frames, asleep or not) is never taken for preemption.
  void Refill(uint64_t now_cycles, uint64_t busy_cycles = 0);
  [[nodiscard]] const TenantTable& table() const { return *table_; }

  // Adds the totals of `old` (another table's stage, before a reload) to the tenants of the same
  // name here; a tenant the new table no longer has leaves its totals behind.
  void CarryTotals(const TenantAccounting& old);

  // "tenant.<name>.packets", ... for every tenant.
  void ForEachStat(const std::function<void(std::string_view, uint64_t)>& f) const;
  // The scheduler's state now, in cycles, for every tenant (levels, not totals; live runs only:
  // offline they would only measure this machine's speed): "tenant.<name>.tokens" (the positive
  // balance), ".debt" (the negative one: balance = tokens - debt) and ".token_bank" (the most a
  // balance carries across a hand-out).
  void ForEachTokenLevel(const std::function<void(std::string_view, uint64_t)>& f) const;

 private:
  struct TenantTotals {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    uint64_t cycles = 0;
    uint64_t refused = 0;
    uint64_t rule_drops = 0;
    uint64_t program_drops = 0;
    uint64_t program_tx = 0;
    uint64_t program_redirects = 0;
  };
  TenantAccounting(const TenantTable& table, TokenScheduler scheduler, uint64_t cycles_per_second)
      : table_(&table),
        scheduler_(std::move(scheduler)),
        totals_(table.size()),
        cycles_per_second_(cycles_per_second) {}

  const TenantTable* table_;
  TokenScheduler scheduler_;
  std::vector<TenantTotals> totals_;
  uint64_t cycles_per_second_;
  // Refill's marks: the TSC and the thread's CPU time (ns) at the last hand-out; 0: none yet.
  uint64_t wall_mark_ = 0;
  uint64_t cpu_mark_ns_ = 0;
  uint64_t busy_ = 0;  // batches' wall time since the last hand-out
};

}  // namespace vigil::tenant

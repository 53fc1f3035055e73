// A deterministic discrete-event simulation of one worker serving tenants through the
// TokenScheduler, checked against the acceptance of issue 20 with a measure the scheduler does
// not compute: each tenant's CPU is what the simulation itself spent on its packets (packets
// served × the per-packet cost it was given, plus the demux cost of the packets refused), not
// the cycles charged to it.
//
// The model: packets arrive per tenant at a fixed mean interval with pseudo-random jitter into
// one receive ring (drop-tail, as a NIC ring is), in time order. The worker takes batches of up
// to 32, pays a batch overhead charged to no tenant, and for each packet pays the demux cost,
// asks Admit(), pays the tenant's processing cost when admitted, and charges the packet's whole
// cost (refused packets' demux included); then it calls Refill(). With an empty ring it waits
// for the next arrival (idle time).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "tenant/scheduler.h"

namespace vigil::tenant {
namespace {

constexpr uint64_t kRate = 3'000'000'000;   // 3 GHz
constexpr uint64_t kPeriod = kRate / 1000;  // 1 ms

struct SimTenant {
  uint32_t weight = 1;
  uint64_t cost = 6000;           // processing cycles per admitted packet
  uint64_t interval = 2000;       // mean cycles between arrivals
  uint64_t stop_at = UINT64_MAX;  // no arrivals from then on (going idle)
};

struct SimConfig {
  std::vector<SimTenant> tenants;
  uint64_t demux_cost = 100;      // decode + demux + Admit, every packet
  uint64_t batch_overhead = 300;  // receive a batch + Refill, charged to no tenant
  bool charge_refusals = true;
  // After each batch, when frames are left in the ring, every tenant with a packet in the batch
  // is marked waiting (TokenScheduler::MarkWaiting), as engine::TenantStage does.
  bool mark_waiting = false;
  size_t ring = 4096;
  uint64_t duration = 600 * kPeriod;
  uint64_t window_from = 100 * kPeriod;  // the measurement window, after a warm-up
  uint64_t window_to = 600 * kPeriod;
  SchedulerOptions options{.cycles_per_second = kRate};
};

struct SimTenantResult {
  uint64_t served = 0;
  uint64_t refused = 0;
  uint64_t ring_drops = 0;
  uint64_t cpu = 0;   // cycles the simulation spent on this tenant's packets in the window
  uint64_t work = 0;  // the part of it spent on packets served (refusals left out)
};

struct SimResult {
  std::vector<SimTenantResult> tenants;
  uint64_t window = 0;
  uint64_t idle = 0;  // cycles in the window with nothing to do

  double CpuShare(size_t i) const {
    return static_cast<double>(tenants[i].cpu) / static_cast<double>(window);
  }
  double WorkShare(size_t i) const {
    return static_cast<double>(tenants[i].work) / static_cast<double>(window);
  }
  double CpuUsed() const {
    uint64_t total = 0;
    for (const auto& t : tenants) total += t.cpu;
    return static_cast<double>(total) / static_cast<double>(window);
  }
};

SimResult Simulate(const SimConfig& config) {
  std::vector<TenantShare> shares;
  for (const SimTenant& t : config.tenants) shares.push_back({.weight = t.weight});
  auto sched = TokenScheduler::Create(shares, config.options);
  EXPECT_TRUE(sched) << sched.error().ToString();

  size_t n = config.tenants.size();
  SimResult result;
  result.tenants.resize(n);
  result.window = config.window_to - config.window_from;
  uint64_t seed = 0x2545f4914f6cdd1du;
  auto jitter = [&](uint64_t interval) {  // uniform in [interval/2, 3*interval/2)
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return interval / 2 + seed % std::max<uint64_t>(interval, 1);
  };
  std::vector<uint64_t> next_arrival(n);
  for (size_t i = 0; i < n; ++i) next_arrival[i] = jitter(config.tenants[i].interval);
  auto next_any = [&] {
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i < n; ++i) {
      if (next_arrival[i] < config.tenants[i].stop_at) best = std::min(best, next_arrival[i]);
    }
    return best;
  };
  std::deque<uint32_t> ring;
  auto in_window = [&](uint64_t t) { return t >= config.window_from && t < config.window_to; };

  uint64_t now = 0;
  sched->Refill(now);
  while (now < config.duration) {
    // Arrivals up to now, in time order, into the ring.
    for (;;) {
      size_t first = n;
      for (size_t i = 0; i < n; ++i) {
        if (next_arrival[i] <= now && next_arrival[i] < config.tenants[i].stop_at &&
            (first == n || next_arrival[i] < next_arrival[first])) {
          first = i;
        }
      }
      if (first == n) break;
      if (ring.size() < config.ring) {
        ring.push_back(static_cast<uint32_t>(first));
      } else if (in_window(next_arrival[first])) {
        ++result.tenants[first].ring_drops;
      }
      next_arrival[first] += jitter(config.tenants[first].interval);
    }
    if (ring.empty()) {
      uint64_t next = std::min(next_any(), config.duration);
      if (in_window(now)) result.idle += std::min(next, config.window_to) - now;
      now = next;
      sched->Refill(now);
      continue;
    }
    now += config.batch_overhead;
    std::vector<uint32_t> in_batch;
    for (int k = 0; k < 32 && !ring.empty(); ++k) {
      uint32_t t = ring.front();
      in_batch.push_back(t);
      ring.pop_front();
      uint64_t start = now;
      now += config.demux_cost;
      SimTenantResult& r = result.tenants[t];
      if (sched->Admit(t)) {
        now += config.tenants[t].cost;
        sched->Charge(t, now - start);
        if (in_window(now)) {
          ++r.served;
          r.cpu += config.demux_cost + config.tenants[t].cost;
          r.work += config.demux_cost + config.tenants[t].cost;
        }
      } else if (config.charge_refusals) {
        sched->ChargeRefused(t, now - start);
        if (in_window(now)) {
          ++r.refused;
          r.cpu += config.demux_cost;
        }
      } else {
        if (in_window(now)) {
          ++r.refused;
          r.cpu += config.demux_cost;
        }
      }
    }
    if (config.mark_waiting && !ring.empty()) {
      for (uint32_t t : in_batch) sched->MarkWaiting(t);
    }
    sched->Refill(now);
  }
  return result;
}

// Jain's fairness index over the tenants' CPU per unit of weight: 1 when all are equal.
double Jain(const SimResult& r, const SimConfig& c, const std::vector<size_t>& among) {
  double sum = 0, sum_sq = 0;
  for (size_t i : among) {
    double x = static_cast<double>(r.tenants[i].cpu) / c.tenants[i].weight;
    sum += x;
    sum_sq += x * x;
  }
  return sum * sum / (static_cast<double>(among.size()) * sum_sq);
}

// Each tenant's weighted fair share of the window among `among`, as a fraction.
double Fair(const SimConfig& c, const std::vector<size_t>& among, size_t i) {
  uint64_t total_weight = 0;
  for (size_t j : among) total_weight += c.tenants[j].weight;
  return static_cast<double>(c.tenants[i].weight) / static_cast<double>(total_weight);
}

// What victim `i` was served (refusals left out, so the stricter figure) over its fair share.
double ServedOfFair(const SimResult& r, const SimConfig& c, const std::vector<size_t>& among,
                    size_t i) {
  return r.WorkShare(i) / Fair(c, among, i);
}

void Print(const char* name, const SimResult& r, const SimConfig& c,
           const std::vector<size_t>& among) {
  double useful = 0;
  for (size_t i = 0; i < r.tenants.size(); ++i) useful += r.WorkShare(i);
  std::printf("%s: cpu used %.2f%% (%.2f%% serving, the rest refusing), idle %.2f%%, jain %.4f\n",
              name, 100 * r.CpuUsed(), 100 * useful,
              100.0 * static_cast<double>(r.idle) / static_cast<double>(r.window),
              Jain(r, c, among));
  for (size_t i = 0; i < r.tenants.size(); ++i) {
    const SimTenantResult& t = r.tenants[i];
    bool counted = std::find(among.begin(), among.end(), i) != among.end();
    std::printf(
        "  tenant %zu: weight %u, cpu %.2f%%, served %.2f%% (%.1f%% of fair), served %llu, "
        "refused %llu, ring drops %llu\n",
        i, c.tenants[i].weight, 100 * r.CpuShare(i), 100 * r.WorkShare(i),
        counted ? 100 * ServedOfFair(r, c, among, i) : 0.0,
        static_cast<unsigned long long>(t.served), static_cast<unsigned long long>(t.refused),
        static_cast<unsigned long long>(t.ring_drops));
  }
}

// Tenant 0 is the adversary: packets ten times as expensive, sent faster than the worker could
// serve even if it did nothing else (a flood). Tenants 1 and 2 are victims whose offered load
// alone is above their shares (backlogged).
SimConfig Adversary(uint32_t w0, uint32_t w1, uint32_t w2) {
  SimConfig c;
  c.tenants = {{.weight = w0, .cost = 60'000, .interval = 300},
               {.weight = w1, .cost = 6'000, .interval = 1'500},
               {.weight = w2, .cost = 6'000, .interval = 1'500}};
  return c;
}

void ExpectFair(const SimResult& r, const SimConfig& c, const std::vector<size_t>& backlogged,
                const std::vector<size_t>& victims) {
  for (size_t v : victims) {
    EXPECT_GE(ServedOfFair(r, c, backlogged, v), 0.95) << "victim " << v;
  }
  EXPECT_GE(Jain(r, c, backlogged), 0.99);
  EXPECT_GE(r.CpuUsed(), 0.98);
}

TEST(SchedulerSimTest, AdversaryTakesNoMoreThanItsShareEqualWeights) {
  SimConfig c = Adversary(1, 1, 1);
  SimResult r = Simulate(c);
  Print("equal weights", r, c, {0, 1, 2});
  ExpectFair(r, c, {0, 1, 2}, {1, 2});
}

TEST(SchedulerSimTest, AdversaryTakesNoMoreThanItsShareUnequalWeights) {
  SimConfig c = Adversary(2, 1, 3);
  SimResult r = Simulate(c);
  Print("weights 2:1:3", r, c, {0, 1, 2});
  ExpectFair(r, c, {0, 1, 2}, {1, 2});
}

// Without the scheduler's tokens (every tenant's bank and share effectively unlimited) the flood
// takes nearly everything: the baseline the figures above are to be read against, and proof
// that the simulation's adversary is an adversary.
TEST(SchedulerSimTest, WithoutTokensTheAdversaryTakesTheCpu) {
  SimConfig c = Adversary(1, 1, 1);
  c.options.bank_periods = 1000;  // a bank no flood empties within the run
  c.duration = c.window_to = 50 * kPeriod;
  c.window_from = 10 * kPeriod;
  SimResult r = Simulate(c);
  Print("no fairness (huge banks)", r, c, {0, 1, 2});
  EXPECT_GT(r.CpuShare(0), 0.9);
}

// Victim 2 goes idle half-way: its share goes to the other two (by weight), and the CPU stays
// busy with useful work.
TEST(SchedulerSimTest, IdleTenantsShareGoesToTheOthers) {
  SimConfig c = Adversary(1, 1, 1);
  c.tenants[2].stop_at = 300 * kPeriod;
  c.window_from = 350 * kPeriod;
  SimResult r = Simulate(c);
  Print("tenant 2 idle", r, c, {0, 1});
  ExpectFair(r, c, {0, 1}, {1});
  EXPECT_EQ(r.tenants[2].served, 0u);
}

// A light tenant is never refused, and what it leaves goes to the others. (It gets less than it
// offers: the receive ring, shared and overflowing with the flood, drops its packets as it
// drops everyone's, before any scheduler sees them; that is for an earlier drop, in XDP.)
// With `mark_waiting`, the light tenant in a ring the flood overflows is marked waiting too, and
// offered half again what it spends, which it cannot spend; that little is all the others lose.
void ExpectLightTenantLeavesTheRest(bool mark_waiting) {
  SimConfig c = Adversary(1, 1, 1);
  c.tenants[2].interval = 20 * 6'100;
  c.mark_waiting = mark_waiting;
  SimResult r = Simulate(c);
  Print(mark_waiting ? "tenant 2 light, waiting mark" : "tenant 2 light", r, c, {0, 1});
  EXPECT_GT(r.tenants[2].served, 1000u);
  EXPECT_EQ(r.tenants[2].refused, 0u);
  double rest = 1.0 - r.CpuShare(2);
  EXPECT_LT(r.CpuShare(2), 0.1);
  EXPECT_GE(r.WorkShare(1), 0.95 * rest / 2);
  EXPECT_GE(r.CpuShare(0), 0.95 * rest / 2);
  EXPECT_GE(r.CpuUsed(), 0.98);
}

TEST(SchedulerSimTest, LightTenantIsNeverRefusedAndLeavesTheRest) {
  ExpectLightTenantLeavesTheRest(false);
}

TEST(SchedulerSimTest, LightTenantWithTheWaitingMark) { ExpectLightTenantLeavesTheRest(true); }

// Underload: the CPU has room for everything offered, so nobody may lose packets to the
// scheduler, not even a tenant offering more than its fair share (half the CPU of a three-way
// split): the others' unused parts come to it.
TEST(SchedulerSimTest, UnderloadServesEverythingEvenAboveAFairShare) {
  SimConfig c;
  // Offered CPU: 6,100 cycles per packet every 12,200 (50%), every 61,000 (10%) twice.
  c.tenants = {{.weight = 1, .cost = 6'000, .interval = 12'200},
               {.weight = 1, .cost = 6'000, .interval = 61'000},
               {.weight = 1, .cost = 6'000, .interval = 61'000}};
  SimResult r = Simulate(c);
  Print("underload", r, c, {0, 1, 2});
  for (size_t i = 0; i < 3; ++i) {
    const SimTenantResult& t = r.tenants[i];
    EXPECT_EQ(t.ring_drops, 0u) << i;
    EXPECT_LE(static_cast<double>(t.refused), 0.001 * static_cast<double>(t.served)) << i;
  }
  EXPECT_NEAR(r.WorkShare(0), 0.5, 0.02);
  EXPECT_GT(static_cast<double>(r.idle) / static_cast<double>(r.window), 0.25);
}

// The failure the design guards against (see Stability in scheduler.h): tokens the CPU cannot
// honour pile up at the slow spenders and drift to the fast one. Each variant pushes that way
// (big banks, so the flood starts with several periods' tokens; short and long periods; heavy
// uncharged batch work; refusals not charged at all); the victims must still keep most of their
// share. The bound is looser than the acceptance's because some of these workers waste CPU of
// their own (the 3,000-cycle batch overhead alone is ~3% of the CPU).
TEST(SchedulerSimTest, NoDriftToTheFloodUnderAdverseSettings) {
  for (int v = 0; v < 5; ++v) {
    SimConfig c = Adversary(1, 1, 1);
    c.duration = c.window_to = 400 * kPeriod;
    std::string name;
    if (v == 0) c.options.bank_periods = 4, name = "banks of 4 periods";
    if (v == 1) c.options.period = std::chrono::microseconds(100), name = "period 100 us";
    if (v == 2) c.options.period = std::chrono::milliseconds(10), name = "period 10 ms";
    if (v == 3) c.batch_overhead = 3000, name = "batch overhead 3,000 cycles";
    if (v == 4) c.charge_refusals = false, name = "refusals not charged";
    SimResult r = Simulate(c);
    Print(name.c_str(), r, c, {0, 1, 2});
    for (size_t victim : {1, 2}) {
      EXPECT_GE(ServedOfFair(r, c, {0, 1, 2}, victim), 0.92) << name << ", victim " << victim;
    }
    EXPECT_LE(r.CpuShare(0), 0.37) << name;
  }
}

// Where the growth margin alone fails: a worker that charges ~8% of its CPU to no tenant (a
// 12,000-cycle batch overhead), more than the victims' margins together (2 × 5% of a third).
// Without the waiting mark the flood drifts past its share (the victims look light: they never
// run out, their packets being behind the flood's); with it, the victims keep their shares.
TEST(SchedulerSimTest, WaitingMarkHoldsWhereTheGrowthMarginDoesNot) {
  SimConfig c = Adversary(1, 1, 1);
  c.batch_overhead = 12'000;
  SimResult without = Simulate(c);
  Print("batch overhead 12,000, no waiting mark", without, c, {0, 1, 2});
  EXPECT_GT(without.CpuShare(0), 0.40);
  c.mark_waiting = true;
  SimResult with = Simulate(c);
  Print("batch overhead 12,000, waiting mark", with, c, {0, 1, 2});
  EXPECT_LE(with.CpuShare(0), 0.34);
  // The uncharged overhead (~12% of the CPU here) is the victims' loss, the flood spending its
  // tokens first: each keeps its third less half the overhead, ~27%, 82% of fair. That is why
  // engine::TenantStage charges the whole batch to its packets.
  for (size_t v : {1, 2}) EXPECT_GE(ServedOfFair(with, c, {0, 1, 2}, v), 0.80) << v;
  EXPECT_GE(Jain(with, c, {0, 1, 2}), 0.98);
}

// With the waiting mark, every acceptance figure of the seed's experiment holds as without it.
TEST(SchedulerSimTest, WaitingMarkKeepsTheAcceptance) {
  SimConfig c = Adversary(1, 1, 1);
  c.mark_waiting = true;
  SimResult r = Simulate(c);
  Print("waiting mark, equal weights", r, c, {0, 1, 2});
  ExpectFair(r, c, {0, 1, 2}, {1, 2});
  c.tenants[2].stop_at = 300 * kPeriod;  // idle for the second half, the window's most
  c.window_from = 320 * kPeriod;
  SimResult idle = Simulate(c);
  Print("waiting mark, tenant 2 idle", idle, c, {0, 1});
  ExpectFair(idle, c, {0, 1}, {1});
}

}  // namespace
}  // namespace vigil::tenant

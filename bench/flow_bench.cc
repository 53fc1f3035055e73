// Flow table + TCP tracking + in-order reassembly over one million flows, in memory.
//
//   build-flow-rel/bench/flow_bench --benchmark_repetitions=3
//
// InOrder/warm:1 (steady state, memory recycled) and /warm:0 (fresh table, first-touch page
// faults included). 1M flows x 8 segments of 64 bytes, sent round by round (segment k of every
// flow, in a fresh random flow order each round), so consecutive packets almost never share a flow
// and every lookup misses the cache, as on a busy link. Packets go through in batches of 32: hash,
// FlowTable::FindOrCreateBatch (prefetching), TcpTracker::Update, TcpReassembler::Add, and the
// view's bytes are read. Reported: packets/s, flow-table bytes, reassembly bytes, peak RSS.
// OutOfOrder10: the same with 10% of segments swapped with their successor.
// SynFlood5M: 5M SYNs from random spoofed sources into a 1M-flow table (evictions counted).
// OooFlood: 5M segments that never become in order (a one-byte hole), 256 MiB memcap.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "flow/flow_table.h"
#include "flow/tcp_tracker.h"
#include "reassembly/tcp_reassembler.h"

namespace vigil::bench {
namespace {

constexpr uint32_t kFlows = 1u << 20;
constexpr int kSegments = 8;
constexpr uint32_t kSegmentBytes = 64;
constexpr uint32_t kIsn = 1000;
constexpr size_t kBatch = 32;

double PeakRssBytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) * 1024.0;
}

struct Workload {
  std::vector<flow::FlowKey> keys;  // client -> server orientation is src_is_lo = true
  std::vector<uint32_t> order;      // packet i: flow order[i] >> 3, segment order[i] & 7
  std::vector<uint8_t> pool;        // payload bytes
};

const Workload& MakeWorkload(double swap_fraction) {
  static Workload in_order, ooo;
  Workload& w = swap_fraction > 0 ? ooo : in_order;
  if (!w.keys.empty()) return w;
  std::mt19937_64 rng(42);
  w.keys.resize(kFlows);
  for (uint32_t f = 0; f < kFlows; ++f) {
    const uint8_t c[4] = {10, uint8_t(f >> 16), uint8_t(f >> 8), uint8_t(f)};
    const uint8_t s[4] = {172, 16, uint8_t(f >> 12), uint8_t(f & 0xff)};
    // Keys are built from explicit fields: the lo end is the client here by construction.
    w.keys[f] = flow::MakeKey(base::IpAddress::V4(c), uint16_t(1024 + f % 60000),
                              base::IpAddress::V4(s), 80, packet::kProtoTcp)
                    .key;
  }
  // Per flow, which segment goes out in each round.
  std::vector<uint8_t> slot(size_t{kFlows} * kSegments);
  std::bernoulli_distribution swap(swap_fraction);
  for (uint32_t f = 0; f < kFlows; ++f) {
    uint8_t* s = &slot[size_t{f} * kSegments];
    std::iota(s, s + kSegments, 0);
    // Segment 0 stays first: a flow's first data follows its handshake, else the tracker's
    // midstream pickup would start the stream at the early segment.
    for (int k = 1; k + 1 < kSegments; ++k) {
      if (swap(rng)) {
        std::swap(s[k], s[k + 1]);
        ++k;
      }
    }
  }
  std::vector<uint32_t> perm(kFlows);
  std::iota(perm.begin(), perm.end(), 0);
  w.order.reserve(size_t{kFlows} * kSegments);
  for (int round = 0; round < kSegments; ++round) {
    std::shuffle(perm.begin(), perm.end(), rng);
    for (uint32_t f : perm) w.order.push_back(f << 3 | slot[size_t{f} * kSegments + round]);
  }
  w.pool.resize(1 << 16);
  for (auto& b : w.pool) b = uint8_t(rng());
  return w;
}

// One pass of the workload through table, tracker and reassembler; returns packets processed.
uint64_t Pass(const Workload& w, flow::FlowTable& table, flow::TcpTracker& tracker,
              reassembly::TcpReassembler& reasm, int64_t t0, uint64_t* checksum) {
  flow::KeyedPacket keys[kBatch];
  flow::Lookup out[kBatch];
  uint32_t desc[kBatch];
  uint64_t packets = 0;
  for (size_t i = 0; i < w.order.size(); i += kBatch) {
    const size_t n = std::min(kBatch, w.order.size() - i);
    for (size_t j = 0; j < n; ++j) {
      desc[j] = w.order[i + j];
      keys[j].key = w.keys[desc[j] >> 3];
      keys[j].hash = flow::HashKey(keys[j].key);
      keys[j].src_is_lo = true;
    }
    table.FindOrCreateBatch(keys, nullptr, n, t0 + int64_t(i), out);
    for (size_t j = 0; j < n; ++j) reasm.PrefetchState(*out[j].flow, out[j].dir);
    for (size_t j = 0; j < n; ++j) reasm.PrefetchHistory(*out[j].flow, out[j].dir);
    for (size_t j = 0; j < n; ++j) {
      const uint32_t seg = desc[j] & 7;
      const uint32_t seq = kIsn + 1 + seg * kSegmentBytes;
      flow::TcpSegment s{.flags = packet::kTcpAck,
                         .seq = seq,
                         .ack = 5000,
                         .window = 65535,
                         .payload_len = kSegmentBytes};
      const flow::TcpVerdict v = tracker.Update(*out[j].flow, out[j].dir, s);
      if (!v.payload_ok) continue;
      const uint8_t* payload = &w.pool[((desc[j] >> 3) * 131 + seg * 64) & 0xff00];
      const reassembly::StreamView view =
          reasm.Add(*out[j].flow, out[j].dir, v.payload_seq, payload, kSegmentBytes);
      if (view.has_new()) *checksum += view.data[view.new_from] + view.data[view.len - 1];
    }
    packets += n;
  }
  return packets;
}

// Cold: a fresh table, so the timed pass also pays the first touch of every page (the kernel
// zeroing them). Warm: the same table after a full pass whose flows all timed out, as in a
// long-running worker where memory is recycled; this is the steady-state figure.
void RunFlows(benchmark::State& state, double swap_fraction, bool warm) {
  const Workload& w = MakeWorkload(swap_fraction);
  uint64_t packets = 0, checksum = 0, slow = 0;
  bool all_delivered = true;
  double table_bytes = 0, stream_bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto table = std::move(*flow::FlowTable::Create({.max_flows = kFlows}));
    auto reasm = std::move(*reassembly::TcpReassembler::Create({}));
    table->SetReleaseHook(&reassembly::TcpReassembler::OnRelease, reasm.get());
    flow::TcpTracker tracker;
    int64_t t0 = 0;
    if (warm) {
      (void)Pass(w, *table, tracker, *reasm, 0, &checksum);
      t0 = int64_t{7200} * 1'000'000'000;  // two hours later: every flow has timed out
      while (table->size() > 0) table->Expire(t0, 1 << 20);
    }
    const uint64_t before = reasm->stats().bytes_delivered;
    const uint64_t slow_before = reasm->stats().slow_path;
    state.ResumeTiming();
    packets += Pass(w, *table, tracker, *reasm, t0, &checksum);
    state.PauseTiming();
    table_bytes = double(table->TouchedBytes());
    stream_bytes = double(reasm->memory_used());
    slow += reasm->stats().slow_path - slow_before;
    all_delivered &=
        reasm->stats().bytes_delivered - before == uint64_t{kFlows} * kSegments * kSegmentBytes;
    table.reset();
    reasm.reset();
    state.ResumeTiming();
  }
  benchmark::DoNotOptimize(checksum);
  if (!all_delivered) state.SkipWithError("not every byte was delivered");
  state.counters["pps"] = benchmark::Counter(double(packets), benchmark::Counter::kIsRate);
  state.counters["table_MB"] = table_bytes / 1e6;
  state.counters["stream_MB"] = stream_bytes / 1e6;
  state.counters["ooo_fraction"] = double(slow) / double(packets);
  state.counters["peak_rss_MB"] = PeakRssBytes() / 1e6;
}

void BM_InOrder(benchmark::State& state) { RunFlows(state, 0.0, state.range(0)); }
// Swapping a segment with its successor makes one of the two arrive early: about 10% of packets.
void BM_OutOfOrder10(benchmark::State& state) { RunFlows(state, 0.13, state.range(0)); }

void BM_SynFlood5M(benchmark::State& state) {
  constexpr uint32_t kSyns = 5'000'000;
  uint64_t evicted = 0;
  size_t size = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto table = std::move(*flow::FlowTable::Create({.max_flows = kFlows}));
    auto reasm = std::move(*reassembly::TcpReassembler::Create({}));
    table->SetReleaseHook(&reassembly::TcpReassembler::OnRelease, reasm.get());
    flow::TcpTracker tracker;
    std::mt19937_64 rng(7);
    const uint8_t server[4] = {10, 0, 0, 2};
    state.ResumeTiming();
    for (uint32_t i = 0; i < kSyns; ++i) {
      const uint64_t r = rng();
      const uint32_t src = uint32_t(r);
      const flow::KeyedPacket k =
          flow::MakeKey(base::IpAddress::V4(reinterpret_cast<const uint8_t*>(&src)),
                        uint16_t(r >> 32), base::IpAddress::V4(server), 80, packet::kProtoTcp);
      flow::Lookup l = table->FindOrCreate(k, int64_t(i) * 200, 60);
      const flow::TcpSegment syn{.flags = packet::kTcpSyn, .seq = uint32_t(r >> 40)};
      benchmark::DoNotOptimize(tracker.Update(*l.flow, l.dir, syn));
      if ((i & 31) == 0) table->Expire(int64_t(i) * 200, 64);
    }
    evicted = table->stats().evicted + table->stats().expired;
    size = table->size();
  }
  state.counters["pps"] =
      benchmark::Counter(double(kSyns) * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["flows"] = double(size);
  state.counters["evicted"] = double(evicted);
  state.counters["peak_rss_MB"] = PeakRssBytes() / 1e6;
}

void BM_OooFlood(benchmark::State& state) {
  constexpr uint32_t kPackets = 5'000'000;
  constexpr uint64_t kMemcap = uint64_t{256} << 20;
  uint64_t drops = 0, memory = 0;
  bool over_cap = false;
  for (auto _ : state) {
    state.PauseTiming();
    auto table = std::move(*flow::FlowTable::Create({.max_flows = 100'000}));
    auto reasm = std::move(*reassembly::TcpReassembler::Create({.memcap = kMemcap}));
    table->SetReleaseHook(&reassembly::TcpReassembler::OnRelease, reasm.get());
    std::mt19937_64 rng(9);
    std::vector<uint8_t> payload(1460, 'o');
    const uint8_t server[4] = {10, 0, 0, 2};
    const uint8_t client[4] = {10, 0, 0, 1};
    state.ResumeTiming();
    for (uint32_t i = 0; i < kPackets; ++i) {
      const uint64_t r = rng();
      const flow::KeyedPacket k = flow::MakeKey(base::IpAddress::V4(client), uint16_t(r),
                                                base::IpAddress::V4(server), 80, packet::kProtoTcp);
      flow::Lookup l = table->FindOrCreate(k, int64_t(i) * 200, 1500);
      if (l.created) {
        l.flow->tcp[flow::Index(l.dir)].isn = kIsn;
        l.flow->tcp[flow::Index(l.dir)].flags = flow::TcpHalf::kStarted;
      }
      const uint32_t seq = kIsn + 2 + uint32_t((r >> 16) % 2000) * 1460;
      benchmark::DoNotOptimize(reasm->Add(*l.flow, l.dir, seq, payload.data(), 1460));
      over_cap |= reasm->memory_used() > kMemcap;
    }
    const auto& s = reasm->stats();
    drops = s.memcap_drop + s.queue_bytes_cap + s.queue_segments_cap;
    memory = reasm->memory_used();
  }
  state.counters["pps"] = benchmark::Counter(double(kPackets) * double(state.iterations()),
                                             benchmark::Counter::kIsRate);
  if (over_cap) state.SkipWithError("memcap exceeded");
  state.counters["drops"] = double(drops);
  state.counters["stream_MB"] = double(memory) / 1e6;
  state.counters["peak_rss_MB"] = PeakRssBytes() / 1e6;
}

BENCHMARK(BM_InOrder)
    ->ArgName("warm")
    ->Arg(1)
    ->Arg(0)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_OutOfOrder10)
    ->ArgName("warm")
    ->Arg(1)
    ->Arg(0)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_SynFlood5M)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_OooFlood)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace vigil::bench

BENCHMARK_MAIN();

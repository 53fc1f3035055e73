// Flow table + TCP tracking + in-order reassembly over one million flows, in memory.
//
//   build-flow-rel/bench/flow_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
//
// InOrder/warm:1 (steady state, memory recycled) and /warm:0 (fresh table, first-touch page
// faults included). 1M flows x 8 segments of 64 bytes, sent round by round (segment k of every
// flow, in a fresh random flow order each round), so consecutive packets almost never share a flow
// and every lookup misses the cache, as on a busy link. Packets go through in batches of 32:
// hash, lookup (FlowTable::FindOrCreate), TcpTracker::Update, TcpReassembler::Add, and the view's
// bytes are read. The misses of consecutive batches are overlapped as a worker would: buckets are
// prefetched three batches ahead (FlowTable::Prefetch), flows two batches ahead (PrefetchFlow), and
// history blocks one batch ahead (TcpReassembler::PrefetchState). Reported: packets/s, flow-table
// bytes, reassembly bytes (counted and arena-resident), peak RSS.
// InOrderBatch: the same through FindOrCreateBatch and a PrefetchState pass per batch, with no
// look-ahead across batches (what a worker that sees one batch at a time gets).
// OutOfOrder10: the same with 10% of segments swapped with their successor.
// MemoryFloor/lines:N (N = 1..5): N dependent-free random cache-line read-modify-writes per
// "packet" over 1 GiB with the same batch prefetching: the memory system's bound for a design that
// touches N random lines per packet (InOrder touches a bucket, the flow's three lines and the
// history block's write line: five), to read InOrder's figure against.
// SynFlood5M: 5M SYNs from random spoofed sources into a 1M-flow table (evictions counted).
// OooFlood: 5M segments that never become in order (a one-byte hole), 256 MiB memcap.
#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <map>
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

// The workload has no handshakes: its flows are picked up midstream.
flow::TcpConfig MidstreamConfig() {
  flow::TcpConfig c;
  c.midstream = true;
  return c;
}

double PeakRssBytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) * 1024.0;
}

// Packet i is segment order[i] & 7 of flow order[i] >> 3. Keys are not stored: a worker builds a
// packet's key from its headers, which are in cache when it arrives, so the benchmark builds it
// from the flow number (KeyOf) instead of reading a 48 MB key array at random.
struct Workload {
  std::vector<uint32_t> order;
  std::vector<uint8_t> pool;  // payload bytes
};

// Flow f: client 10.f (as three bytes), server 172.16.x.y port 80. The client is the key's lo
// end, so the canonical key is filled in directly; the hash is computed per packet as MakeKey
// would.
flow::KeyedPacket KeyOf(uint32_t f) {
  flow::KeyedPacket k;
  k.key.addr_lo[0] = 10;
  k.key.addr_lo[1] = uint8_t(f >> 16);
  k.key.addr_lo[2] = uint8_t(f >> 8);
  k.key.addr_lo[3] = uint8_t(f);
  k.key.addr_hi[0] = 172;
  k.key.addr_hi[1] = 16;
  k.key.addr_hi[2] = uint8_t(f >> 12);
  k.key.addr_hi[3] = uint8_t(f & 0xff);
  k.key.port_lo = uint16_t(1024 + f % 60000);
  k.key.port_hi = 80;
  k.key.proto = packet::kProtoTcp;
  k.key.family = 4;
  k.hash = flow::HashKey(k.key);
  k.src_is_lo = true;
  return k;
}

// `flows` flows of kSegments segments; a fraction of the segments swapped with their successor.
const Workload& MakeWorkload(double swap_fraction, uint32_t flows = kFlows) {
  static std::map<std::pair<double, uint32_t>, Workload> made;
  Workload& w = made[{swap_fraction, flows}];
  if (!w.order.empty()) return w;
  std::mt19937_64 rng(42);
  // Per flow, which segment goes out in each round.
  std::vector<uint8_t> slot(size_t{flows} * kSegments);
  std::bernoulli_distribution swap(swap_fraction);
  for (uint32_t f = 0; f < flows; ++f) {
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
  std::vector<uint32_t> perm(flows);
  std::iota(perm.begin(), perm.end(), 0);
  w.order.reserve(size_t{flows} * kSegments);
  for (int round = 0; round < kSegments; ++round) {
    std::shuffle(perm.begin(), perm.end(), rng);
    for (uint32_t f : perm) w.order.push_back(f << 3 | slot[size_t{f} * kSegments + round]);
  }
  for (uint32_t f : {0u, 1u, flows / 2, flows - 1}) {
    const uint8_t c[4] = {10, uint8_t(f >> 16), uint8_t(f >> 8), uint8_t(f)};
    const uint8_t sv[4] = {172, 16, uint8_t(f >> 12), uint8_t(f & 0xff)};
    const flow::KeyedPacket k = flow::MakeKey(base::IpAddress::V4(c), uint16_t(1024 + f % 60000),
                                              base::IpAddress::V4(sv), 80, packet::kProtoTcp);
    if (!(k.key == KeyOf(f).key) || k.hash != KeyOf(f).hash || !k.src_is_lo) std::abort();
  }
  w.pool.resize(1 << 16);
  for (auto& b : w.pool) b = uint8_t(rng());
  return w;
}

void Fill(const Workload& w, size_t first, size_t n, flow::KeyedPacket* keys, uint32_t* desc) {
  for (size_t j = 0; j < n; ++j) {
    desc[j] = w.order[first + j];
    keys[j] = KeyOf(desc[j] >> 3);
  }
}

// Tracker and reassembler for one looked-up packet; returns whether a view came back.
void Work(const Workload& w, uint32_t desc, flow::Lookup l, flow::TcpTracker& tracker,
          reassembly::TcpReassembler& reasm, uint64_t* checksum) {
  const uint32_t seg = desc & 7;
  const uint32_t seq = kIsn + 1 + seg * kSegmentBytes;
  flow::TcpSegment s{.flags = packet::kTcpAck,
                     .seq = seq,
                     .ack = 5000,
                     .window = 65535,
                     .payload_len = kSegmentBytes};
  const flow::TcpVerdict v = tracker.Update(*l.flow, l.dir, s);
  if (!v.payload_ok) return;
  const uint8_t* payload = &w.pool[((desc >> 3) * 131 + seg * 64) & 0xff00];
  const reassembly::StreamView view =
      reasm.Add(*l.flow, l.dir, v.payload_seq, payload, kSegmentBytes);
  if (view.has_new()) *checksum += view.data[view.new_from] + view.data[view.len - 1];
}

// One pass of the workload through table, tracker and reassembler, pipelined across batches;
// returns packets processed.
uint64_t Pass(const Workload& w, flow::FlowTable& table, flow::TcpTracker& tracker,
              reassembly::TcpReassembler& reasm, int64_t t0, uint64_t* checksum) {
  // Four batches in flight: [b % 4] is processed while [(b + 1) % 4] has its history blocks
  // prefetched, [(b + 2) % 4] its flows and [(b + 3) % 4] its buckets, so that every prefetch
  // has a whole batch's work to complete before its line is used.
  constexpr size_t kStages = 4;
  flow::KeyedPacket keys[kStages][kBatch];
  uint32_t desc[kStages][kBatch];
  const flow::Flow* hint[kStages][kBatch];
  size_t count[kStages] = {};
  const size_t total = w.order.size();
  auto stage_buckets = [&](size_t b) {
    const size_t first = b * kBatch;
    const size_t s = b % kStages;
    count[s] = first < total ? std::min(kBatch, total - first) : 0;
    Fill(w, first, count[s], keys[s], desc[s]);
    for (size_t j = 0; j < count[s]; ++j) table.Prefetch(keys[s][j].hash);
  };
  auto stage_flows = [&](size_t b) {
    const size_t s = b % kStages;
    for (size_t j = 0; j < count[s]; ++j) hint[s][j] = table.PrefetchFlow(keys[s][j].hash);
  };
  auto stage_blocks = [&](size_t b) {
    const size_t s = b % kStages;
    for (size_t j = 0; j < count[s]; ++j) {
      const flow::Flow* f = hint[s][j];
      if (f != nullptr) reasm.PrefetchState(*f, f->DirectionOf(keys[s][j].src_is_lo));
    }
  };
  uint64_t packets = 0;
  const size_t batches = (total + kBatch - 1) / kBatch;
  stage_buckets(0);
  stage_buckets(1);
  stage_buckets(2);
  stage_flows(0);
  stage_flows(1);
  stage_blocks(0);
  for (size_t b = 0; b < batches; ++b) {
    stage_buckets(b + 3);
    stage_flows(b + 2);
    stage_blocks(b + 1);
    const size_t s = b % kStages;
    const int64_t now = t0 + int64_t(b * kBatch);
    for (size_t j = 0; j < count[s]; ++j) {
      const flow::Lookup l = table.FindOrCreate(keys[s][j], now);
      Work(w, desc[s][j], l, tracker, reasm, checksum);
    }
    packets += count[s];
  }
  return packets;
}

// The same through FindOrCreateBatch: prefetching within one batch only.
uint64_t PassBatch(const Workload& w, flow::FlowTable& table, flow::TcpTracker& tracker,
                   reassembly::TcpReassembler& reasm, int64_t t0, uint64_t* checksum) {
  flow::KeyedPacket keys[kBatch];
  flow::Lookup out[kBatch];
  uint32_t desc[kBatch];
  uint64_t packets = 0;
  for (size_t i = 0; i < w.order.size();) {
    const size_t n = std::min(kBatch, w.order.size() - i);
    Fill(w, i, n, keys, desc);
    const size_t m = table.FindOrCreateBatch(keys, nullptr, n, t0 + int64_t(i), out);
    for (size_t j = 0; j < m; ++j) reasm.PrefetchState(*out[j].flow, out[j].dir);
    for (size_t j = 0; j < m; ++j) Work(w, desc[j], out[j], tracker, reasm, checksum);
    packets += m;
    i += m;
  }
  return packets;
}

// Cold: a fresh table, so the timed pass also pays the first touch of every page (the kernel
// zeroing them). Warm: the same table after a full pass whose flows all timed out, as in a
// long-running worker where memory is recycled; this is the steady-state figure.
void RunFlows(benchmark::State& state, double swap_fraction, bool warm, bool batch_api = false,
              uint32_t flows = kFlows) {
  const Workload& w = MakeWorkload(swap_fraction, flows);
  uint64_t packets = 0, checksum = 0, slow = 0;
  bool all_delivered = true;
  double table_bytes = 0, stream_bytes = 0, arena_bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto table = std::move(*flow::FlowTable::Create({.max_flows = flows}));
    auto reasm = std::move(*reassembly::TcpReassembler::Create({}));
    table->SetReleaseHook(&reassembly::TcpReassembler::OnRelease, reasm.get());
    flow::TcpTracker tracker(MidstreamConfig());
    int64_t t0 = 0;
    if (warm) {
      (void)Pass(w, *table, tracker, *reasm, 0, &checksum);
      t0 = int64_t{7200} * 1'000'000'000;  // two hours later: every flow has timed out
      while (table->size() > 0) table->Expire(t0, flows);
    }
    const uint64_t before = reasm->stats().bytes_delivered;
    const uint64_t slow_before = reasm->stats().slow_path;
    state.ResumeTiming();
    packets += batch_api ? PassBatch(w, *table, tracker, *reasm, t0, &checksum)
                         : Pass(w, *table, tracker, *reasm, t0, &checksum);
    state.PauseTiming();
    table_bytes = double(table->TouchedBytes());
    stream_bytes = double(reasm->memory_used());
    arena_bytes = double(reasm->arena().touched_bytes());
    slow += reasm->stats().slow_path - slow_before;
    all_delivered &=
        reasm->stats().bytes_delivered - before == uint64_t{flows} * kSegments * kSegmentBytes;
    table.reset();
    reasm.reset();
    state.ResumeTiming();
  }
  benchmark::DoNotOptimize(checksum);
  if (!all_delivered) state.SkipWithError("not every byte was delivered");
  state.counters["pps"] = benchmark::Counter(double(packets), benchmark::Counter::kIsRate);
  state.counters["table_MB"] = table_bytes / 1e6;
  state.counters["stream_MB"] = stream_bytes / 1e6;
  state.counters["arena_MB"] = arena_bytes / 1e6;
  state.counters["ooo_fraction"] = double(slow) / double(packets);
  state.counters["peak_rss_MB"] = PeakRssBytes() / 1e6;
}

void BM_InOrder(benchmark::State& state) { RunFlows(state, 0.0, state.range(0)); }
void BM_InOrderBatch(benchmark::State& state) { RunFlows(state, 0.0, true, true); }
// The same work on 4,096 flows, whose state stays in cache: the cost of the instructions alone.
void BM_InOrderCached(benchmark::State& state) {
  RunFlows(state, 0.0, true, false, uint32_t(state.range(0)));
}
// Swapping a segment with its successor makes one of the two arrive early: about 10% of packets.
void BM_OutOfOrder10(benchmark::State& state) { RunFlows(state, 0.13, state.range(0)); }

void BM_MemoryFloor(benchmark::State& state) {
  const int lines = int(state.range(0));
  constexpr size_t kBytes = size_t{1} << 30;
  constexpr size_t kPackets = size_t{kFlows} * kSegments;
  void* map = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (map == MAP_FAILED) {
    state.SkipWithError("mmap failed");
    return;
  }
  madvise(map, kBytes, MADV_HUGEPAGE);  // as the flow table and the block arena do
  auto* mem = static_cast<uint8_t*>(map);
  std::memset(mem, 1, kBytes);
  std::vector<uint32_t> at(kPackets * lines);
  std::mt19937_64 rng(3);
  for (uint32_t& a : at) a = uint32_t(rng() % (kBytes / 64));
  uint64_t sum = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < kPackets; i += kBatch) {
      const uint32_t* b = &at[i * lines];
      for (size_t j = 0; j < kBatch * lines; ++j) __builtin_prefetch(mem + size_t{b[j]} * 64, 1);
      for (size_t j = 0; j < kBatch * lines; ++j) {
        uint8_t* p = mem + size_t{b[j]} * 64;
        sum += p[0];
        ++p[8];
      }
    }
  }
  benchmark::DoNotOptimize(sum);
  munmap(map, kBytes);
  state.counters["pps"] = benchmark::Counter(double(kPackets) * double(state.iterations()),
                                             benchmark::Counter::kIsRate);
}

void BM_SynFlood5M(benchmark::State& state) {
  constexpr uint32_t kSyns = 5'000'000;
  uint64_t evicted = 0;
  size_t size = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto table = std::move(*flow::FlowTable::Create({.max_flows = kFlows}));
    auto reasm = std::move(*reassembly::TcpReassembler::Create({}));
    table->SetReleaseHook(&reassembly::TcpReassembler::OnRelease, reasm.get());
    flow::TcpTracker tracker(MidstreamConfig());
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
    state.PauseTiming();
    table.reset();  // its release hook calls into reasm: the table goes first
    state.ResumeTiming();
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
    state.PauseTiming();
    table.reset();  // its release hook calls into reasm: the table goes first
    state.ResumeTiming();
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
BENCHMARK(BM_InOrderBatch)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_InOrderCached)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->Arg(16384)
    ->Iterations(100)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_OutOfOrder10)
    ->ArgName("warm")
    ->Arg(1)
    ->Arg(0)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_MemoryFloor)
    ->ArgName("lines")
    ->DenseRange(1, 5)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_SynFlood5M)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_OooFlood)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace vigil::bench

BENCHMARK_MAIN();

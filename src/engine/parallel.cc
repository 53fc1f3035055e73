#include "engine/parallel.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>

namespace vigil::engine {
namespace {

uint64_t HashAddress(const base::IpAddress& a) {
  uint64_t lo, hi;
  std::memcpy(&lo, a.bytes.data(), 8);
  std::memcpy(&hi, a.bytes.data() + 8, 8);
  uint64_t h = (lo ^ (hi * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
  return h ^ (h >> 29);
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

// The threshold counters the workers of one run share: the caller's, or a fresh shared set.
std::shared_ptr<detect::EventFilter> SharedEventFilter(const detect::DetectionPlan& plan,
                                                       const WorkerConfig& config) {
  return config.event_filter ? config.event_filter : plan.event_filter().NewSharedFilter();
}

}  // namespace

uint32_t ShardOf(const packet::Packet& p, uint32_t n) {
  if (n <= 1 || p.ip_version == 0) return 0;
  // Adding the two hashes makes the result the same in both directions.
  uint64_t h = HashAddress(p.src_ip) + HashAddress(p.dst_ip);
  h ^= h >> 31;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return uint32_t((h >> 32) * n >> 32);
}

void CounterSum::Add(std::string_view name, uint64_t value) {
  size_t i = cursor_;
  if (i < counters_.size() && counters_[i].first == name) {
    ++cursor_;
  } else {
    for (i = 0; i < counters_.size() && counters_[i].first != name; ++i) {
    }
    if (i == counters_.size()) {
      counters_.emplace_back(std::string(name), 0);
      touched_.push_back(0);
      cursor_ = counters_.size();
    }
  }
  counters_[i].second += value;
  touched_[i] = 1;
}

void CounterSum::Restart() {
  for (auto& c : counters_) c.second = 0;
  touched_.assign(counters_.size(), 0);
  cursor_ = 0;
}

void CounterSum::Finish() {
  size_t kept = 0;
  for (size_t i = 0; i < counters_.size(); ++i) {
    if (touched_[i] == 0) continue;
    if (kept != i) counters_[kept] = std::move(counters_[i]);
    ++kept;
  }
  counters_.resize(kept);
  touched_.assign(kept, 1);
}

uint64_t CounterSum::Get(std::string_view name) const {
  for (const auto& [n, v] : counters_) {
    if (n == name) return v;
  }
  return 0;
}

base::Result<InMemoryRun> RunInMemory(const detect::DetectionPlan& plan,
                                      std::span<const packet::Packet> packets, uint32_t threads,
                                      const WorkerConfig& config) {
  threads = std::max<uint32_t>(threads, 1);
  std::vector<std::vector<packet::Packet>> shards(threads);
  std::vector<std::unique_ptr<Worker>> workers;
  InMemoryRun run;
  run.threads = threads;
  for (const packet::Packet& p : packets) {
    shards[ShardOf(p, threads)].push_back(p);
    run.bytes += p.caplen;
  }
  run.packets = packets.size();
  std::shared_ptr<detect::EventFilter> shared_filter = SharedEventFilter(plan, config);
  for (uint32_t i = 0; i < threads; ++i) {
    WorkerConfig c = config;
    c.id = i;
    c.event_filter = shared_filter;  // thresholds count across the workers
    auto w = Worker::Create(plan, c);
    if (!w) return w.error();
    workers.push_back(std::move(*w));
  }

  std::atomic<uint32_t> ready{0};
  std::atomic<bool> go{false};
  std::vector<double> cpu(threads, 0);
  std::vector<uint64_t> alerts(threads, 0);
  auto body = [&](uint32_t i) {
    Worker& w = *workers[i];
    const std::vector<packet::Packet>& shard = shards[i];
    uint64_t n_alerts = 0;
    Worker::Sink sink = [&](const PacketResult& r) { n_alerts += r.alerts.size(); };
    ready.fetch_add(1);
    while (!go.load(std::memory_order_acquire)) {
    }
    double cpu0 = ThreadCpuSeconds();
    for (size_t at = 0; at < shard.size(); at += packet::Batch::kMaxPackets) {
      size_t n = std::min(packet::Batch::kMaxPackets, shard.size() - at);
      w.Process({shard.data() + at, n}, sink);
    }
    cpu[i] = ThreadCpuSeconds() - cpu0;
    alerts[i] = n_alerts;
  };
  std::vector<std::thread> pool;
  for (uint32_t i = 1; i < threads; ++i) pool.emplace_back(body, i);
  while (ready.load() + 1 < threads) std::this_thread::yield();
  auto start = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  ready.fetch_add(1);
  body(0);
  for (std::thread& t : pool) t.join();
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (uint32_t i = 0; i < threads; ++i) {
    run.cpu_seconds += cpu[i];
    run.alerts += alerts[i];
    workers[i]->ForEachStat([&](std::string_view n, uint64_t v) { run.counters.Add(n, v); });
  }
  return run;
}

// One worker thread, its queue of full batches and its pool of free ones.
struct WorkerPool::Lane {
  std::unique_ptr<Worker> worker;
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<packet::Batch>> full;  // to process, in order
  std::vector<std::unique_ptr<packet::Batch>> free;
  std::unique_ptr<packet::Batch> filling;  // the producer's current batch for this lane
  bool done = false;                       // no more batches will come
};

base::Result<std::unique_ptr<WorkerPool>> WorkerPool::Create(const detect::DetectionPlan& plan,
                                                             uint32_t threads,
                                                             const WorkerConfig& config,
                                                             Worker::Sink sink) {
  std::unique_ptr<WorkerPool> pool(new WorkerPool());
  pool->sink_ = std::move(sink);
  threads = std::max<uint32_t>(threads, 1);
  std::shared_ptr<detect::EventFilter> shared_filter = SharedEventFilter(plan, config);
  for (uint32_t i = 0; i < threads; ++i) {
    auto lane = std::make_unique<Lane>();
    WorkerConfig c = config;
    c.id = i;
    c.event_filter = shared_filter;  // thresholds count across the workers
    auto w = Worker::Create(plan, c);
    if (!w) return w.error();
    lane->worker = std::move(*w);
    for (size_t b = 0; b < kBatchesPerWorker; ++b) {
      lane->free.push_back(std::make_unique<packet::Batch>());
    }
    pool->lanes_.push_back(std::move(lane));
  }
  for (auto& lane : pool->lanes_) {
    Lane* l = lane.get();
    const Worker::Sink* s = &pool->sink_;
    l->thread = std::thread([l, s] { Run(*l, *s); });
  }
  return pool;
}

WorkerPool::~WorkerPool() { Finish(); }

const Worker& WorkerPool::worker(uint32_t i) const { return *lanes_[i]->worker; }

void WorkerPool::Run(Lane& lane, const Worker::Sink& sink) {
  while (true) {
    std::unique_ptr<packet::Batch> batch;
    {
      std::unique_lock lock(lane.mu);
      lane.cv.wait(lock, [&] { return !lane.full.empty() || lane.done; });
      if (lane.full.empty()) return;
      batch = std::move(lane.full.front());
      lane.full.pop_front();
    }
    lane.worker->Process({batch->begin(), batch->end()}, sink);
    batch->Clear();
    {
      std::lock_guard lock(lane.mu);
      lane.free.push_back(std::move(batch));
    }
    lane.cv.notify_all();
  }
}

void WorkerPool::Submit(const packet::Packet& p) {
  Lane& lane = *lanes_[ShardOf(p, size())];
  if (!lane.filling) {
    std::unique_lock lock(lane.mu);
    lane.cv.wait(lock, [&] { return !lane.free.empty(); });
    lane.filling = std::move(lane.free.back());
    lane.free.pop_back();
  }
  packet::Batch& b = *lane.filling;
  packet::Packet& copy = b.Append(p.data, p.caplen);
  const uint8_t* data = copy.data;
  copy = p;
  copy.data = data;
  if (p.payload != nullptr) copy.payload = data + (p.payload - p.data);
  if (b.full()) Queue(lane);
}

void WorkerPool::Queue(Lane& lane) {
  {
    std::lock_guard lock(lane.mu);
    lane.full.push_back(std::move(lane.filling));
  }
  lane.cv.notify_all();
}

void WorkerPool::Finish() {
  if (finished_) return;
  finished_ = true;
  for (auto& lane : lanes_) {
    if (lane->filling && !lane->filling->empty()) Queue(*lane);
    {
      std::lock_guard lock(lane->mu);
      lane->done = true;
    }
    lane->cv.notify_all();
  }
  for (auto& lane : lanes_) {
    if (lane->thread.joinable()) lane->thread.join();
  }
}

}  // namespace vigil::engine

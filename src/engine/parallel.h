// Parallel runs: the same pipeline (engine::Worker) on several cores. Each packet goes to the
// worker of its address pair — a hash that gives both directions the same value — so both
// directions of a flow, and every fragment of a datagram, meet in one worker, which owns its
// tables without locks. This is how a NIC's receive-side scaling (RSS) with a symmetric key, or
// AF_PACKET fanout by hash, spreads a live link over cores.
//
//   uint32_t w = engine::ShardOf(packet, 4);                      // 0..3
//
//   // Whole capture in memory, timed: what `make bench` reports as single- and all-core figures.
//   auto run = engine::RunInMemory(plan, capture.packets, 2, {});
//   fmt::print("{:.2f} Mpps\n", run->packets / run->seconds / 1e6);
//
//   // A capture file with a reader thread and N workers: engine::WorkerPool (used by RunOffline).
//
// Cost: ShardOf hashes the two addresses (a few ns). The pool copies each frame once, from the
// reader's batch into the worker's, and hands over batches of up to 32 packets through a
// bounded queue per worker (a mutex and condition variable per batch, not per packet).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/result.h"
#include "engine/worker.h"

namespace vigil::engine {

// The worker (0..n-1) of a packet: a symmetric hash of its source and destination addresses.
// Packets without an IP layer go to worker 0.
[[nodiscard]] uint32_t ShardOf(const packet::Packet& p, uint32_t n);

// Counters of several workers added up by name (names in first-seen order).
class CounterSum {
 public:
  void Add(std::string_view name, uint64_t value);
  // Refilling the same sum (a worker's counter snapshot, taken again and again): Restart sets
  // every value to 0 and keeps the names; Add then looks first at the slot where the last fill put
  // the next name, so the same names in the same order cost one comparison each and no
  // allocation; Finish drops the names this fill did not add (a tenant reloaded away).
  void Restart();
  void Finish();
  [[nodiscard]] const std::vector<std::pair<std::string, uint64_t>>& counters() const {
    return counters_;
  }
  [[nodiscard]] uint64_t Get(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, uint64_t>> counters_;
  size_t cursor_ = 0;             // where the next name of a repeated fill is expected
  std::vector<uint8_t> touched_;  // per name: whether this fill (since Restart) added to it
};

struct InMemoryRun {
  uint32_t threads = 0;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t alerts = 0;
  double seconds = 0;      // wall time from the common start to the last worker's end
  double cpu_seconds = 0;  // CPU time of all worker threads together
  CounterSum counters;     // every worker's counters, summed
};

// Runs decoded `packets` (in capture order) through `threads` fresh workers, each on its own
// thread with its shard of the packets in batches of 32. The workers and shards are prepared
// before the clock starts; the packets' bytes must stay valid during the call.
[[nodiscard]] base::Result<InMemoryRun> RunInMemory(const detect::DetectionPlan& plan,
                                                    std::span<const packet::Packet> packets,
                                                    uint32_t threads, const WorkerConfig& config);

// N worker threads fed by one producer. The producer hands each decoded packet to Submit, which
// copies it into the current batch of its worker and queues the batch when full; at most
// kBatchesPerWorker batches per worker are in flight (Submit then waits: backpressure, not loss).
// The sink is called from the worker threads, concurrently: it must be thread-safe.
class WorkerPool {
 public:
  static constexpr size_t kBatchesPerWorker = 16;

  [[nodiscard]] static base::Result<std::unique_ptr<WorkerPool>> Create(
      const detect::DetectionPlan& plan, uint32_t threads, const WorkerConfig& config,
      Worker::Sink sink);
  ~WorkerPool();  // Finish()es if needed

  // Copies the decoded packet `p` (its frame bytes and decoded fields) to its worker.
  void Submit(const packet::Packet& p);
  // Queues the partial batches, waits for every worker to drain its queue, stops the threads.
  void Finish();

  [[nodiscard]] uint32_t size() const { return uint32_t(lanes_.size()); }
  [[nodiscard]] const Worker& worker(uint32_t i) const;

 private:
  struct Lane;
  WorkerPool() = default;
  void Queue(Lane& lane);
  static void Run(Lane& lane, const Worker::Sink& sink);

  std::vector<std::unique_ptr<Lane>> lanes_;
  Worker::Sink sink_;
  bool finished_ = false;
};

}  // namespace vigil::engine

// LiveView and LiveObserver: the narrow interface between a live run (engine/live_run.h) and
// its control plane (control/: control socket, metrics, dashboard, alert shipping).
//
//   class Ops : public engine::LiveObserver { ... };
//   Ops ops;
//   options.observer = &ops;      // RunLive calls ops.Attach(view) once its workers run
//
// The view reads what the workers already publish (each worker copies its counters between two
// batches when asked, engine/live_run.cc) and sets the run's own request flags; nothing here
// takes a lock on the packet path. OnAlerts is the one call made from the workers: it runs
// under the alert outputs' lock, for packets that alerted only, and must not block.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/parallel.h"
#include "engine/worker.h"

namespace vigil::engine {

// One reload, as the run saw it end.
struct ReloadRecord {
  double unix_time = 0;  // when it ended
  bool ok = false;
  double seconds = 0;  // building the new plan and tenant table
  uint64_t rules = 0;  // rules in the running plan after it (the old one when it failed)
  std::vector<std::string> tenants;  // tenants in force after it
  std::string error;                 // why it failed
};

class LiveView {
 public:
  virtual ~LiveView() = default;
  // Every worker's counters (worker i at index i), freshly published: each worker answers
  // between two batches, within its poll timeout; a worker that does not answer within a
  // second is reported as of its last answer. Safe from any thread.
  [[nodiscard]] virtual std::vector<CounterSum> WorkerCounters() = 0;
  // As SIGUSR2 and SIGINT: the run's main loop acts on them within 50 ms.
  virtual void RequestReload() = 0;
  virtual void RequestStop() = 0;
  [[nodiscard]] virtual std::vector<std::string> Interfaces() const = 0;
  [[nodiscard]] virtual uint32_t workers() const = 0;
  [[nodiscard]] virtual bool inline_mode() const = 0;
  // The rate of the clock tenants' cycles are counted in.
  [[nodiscard]] virtual uint64_t cycles_per_second() const = 0;
  [[nodiscard]] virtual uint64_t rules() const = 0;  // in the running plan
};

class LiveObserver {
 public:
  virtual ~LiveObserver() = default;
  // Once the workers run; `view` stays valid until Detach, which RunLive calls before it stops
  // the workers.
  virtual void Attach(LiveView& view) = 0;
  virtual void Detach() = 0;
  // From the run's main loop, after each reload (successful or not).
  virtual void OnReload(const ReloadRecord& record) = 0;
  // From a worker, for a packet with alerts, under the alert outputs' lock: must not block.
  virtual void OnAlerts(const PacketResult& result) = 0;
};

}  // namespace vigil::engine

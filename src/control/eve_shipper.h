// EVE alert records to a broker — Redis (a list or a pub/sub channel, as Suricata's redis
// output; hiredis) or Kafka (a topic; librdkafka) — without ever holding up packet processing.
//
//   auto redis = EveShipper::Create("redis://127.0.0.1:6379/vigil-eve?mode=list");
//   auto kafka = EveShipper::Create("kafka://broker1:9092,broker2:9092/vigil-eve");
//   (*redis)->Offer(record);   // from a worker: copies into a bounded queue, never blocks
//
// Each shipper has a sender thread of its own. Offer() puts the record in a queue of at most
// `max_records` (default 65536) and returns; a full queue drops the record and counts it
// (dropped()). The sender takes what is queued in batches (Redis: pipelined RPUSH or PUBLISH;
// Kafka: produce calls into librdkafka's own queue, bounded the same way). A broker that goes
// away is retried once a second (Redis: a fresh connection; Kafka: librdkafka reconnects by
// itself); records that were in flight on a broken connection go back to the front of the
// queue (at least once: one the broker took without confirming may arrive twice), the queue
// keeps filling up to its cap meanwhile, and shipping resumes when the broker is back.
// Counters: shipped, dropped, reconnects, errors.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"

namespace vigil::control {

struct ShipperCounters {
  uint64_t shipped = 0;
  uint64_t dropped = 0;  // queue full, or lost on a broken connection
  uint64_t reconnects = 0;
  uint64_t errors = 0;
  uint64_t queued = 0;  // waiting now
};

class EveShipper {
 public:
  // "redis://HOST:PORT/KEY[?mode=list|channel]" (default list) or "kafka://BROKERS/TOPIC"
  // (BROKERS: host:port, comma-separated). Fails on a malformed URL or a Kafka configuration
  // librdkafka refuses; a broker that does not answer yet is not an error (it is retried).
  [[nodiscard]] static base::Result<std::unique_ptr<EveShipper>> Create(const std::string& url,
                                                                        size_t max_records = 65536);
  virtual ~EveShipper();

  // Queues one record (one line of EVE JSON; a trailing newline is dropped). Never blocks on the
  // broker: a short lock on the queue, then the sender's business.
  void Offer(std::string_view record);
  [[nodiscard]] ShipperCounters counters() const;
  [[nodiscard]] const std::string& name() const { return name_; }  // "redis", "kafka"
  [[nodiscard]] const std::string& url() const { return url_; }
  // Waits until the queue is empty or `seconds` pass; true when empty (tests, shutdown).
  bool Drain(double seconds);

 protected:
  EveShipper(std::string name, std::string url, size_t max_records)
      : name_(std::move(name)), url_(std::move(url)), max_records_(max_records) {}
  void Start();
  void Stop();  // joins the sender; call from the derived destructor
  // Sends `batch`, counting what the broker took in shipped_ (now or when it acknowledges) and
  // setting `lost` to the records that will never arrive. False when the connection is broken
  // (the sender reconnects after a pause).
  virtual bool Send(std::vector<std::string>& batch, size_t& lost) = 0;
  virtual bool Connect() = 0;
  // Called by the sender between batches (Kafka: serve delivery reports).
  virtual void Idle() {}
  // Records handed over but not acknowledged yet (Kafka: librdkafka's queue).
  virtual size_t InFlight() { return 0; }

  std::atomic<uint64_t> shipped_{0}, dropped_{0}, reconnects_{0}, errors_{0};

 private:
  void Loop();

  std::string name_, url_;
  size_t max_records_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stop_ = false;
  bool busy_ = false;  // the sender holds a batch
  std::thread sender_;
};

}  // namespace vigil::control

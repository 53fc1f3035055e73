#include "control/eve_shipper.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace vigil::control {
namespace {

using namespace std::chrono_literals;

constexpr size_t kBatch = 256;

// Redis: RPUSH KEY record (mode list) or PUBLISH KEY record (mode channel), pipelined.
class RedisShipper : public EveShipper {
 public:
  RedisShipper(std::string url, size_t max, std::string host, int port, std::string key,
               bool channel)
      : EveShipper("redis", std::move(url), max),
        host_(std::move(host)),
        port_(port),
        key_(std::move(key)),
        channel_(channel) {
    Start();
  }
  ~RedisShipper() override {
    Stop();
    if (ctx_ != nullptr) redisFree(ctx_);
  }

 private:
  bool Connect() override {
    if (ctx_ != nullptr) redisFree(ctx_);
    timeval timeout{.tv_sec = 1, .tv_usec = 0};
    ctx_ = redisConnectWithTimeout(host_.c_str(), port_, timeout);
    if (ctx_ == nullptr || ctx_->err != 0) {
      if (ctx_ != nullptr) redisFree(ctx_);
      ctx_ = nullptr;
      return false;
    }
    redisSetTimeout(ctx_, timeval{.tv_sec = 2, .tv_usec = 0});
    return true;
  }
  bool Send(std::vector<std::string>& batch, size_t& lost) override {
    lost = batch.size();
    if (ctx_ == nullptr) return false;
    const char* verb = channel_ ? "PUBLISH" : "RPUSH";
    for (const std::string& r : batch) {
      const char* argv[3] = {verb, key_.c_str(), r.data()};
      const size_t lens[3] = {std::strlen(verb), key_.size(), r.size()};
      if (redisAppendCommandArgv(ctx_, 3, argv, lens) != REDIS_OK) return false;
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      void* reply = nullptr;
      if (redisGetReply(ctx_, &reply) != REDIS_OK) return false;
      auto* r = static_cast<redisReply*>(reply);
      if (r->type == REDIS_REPLY_ERROR) {
        ++errors_;
      } else {
        ++shipped_;
      }
      --lost;
      freeReplyObject(r);
    }
    return true;
  }

  std::string host_;
  int port_;
  std::string key_;
  bool channel_;
  redisContext* ctx_ = nullptr;
};

// Kafka: one producer; librdkafka queues, batches, retries and reconnects. The broker's
// acknowledgements (delivery reports) count records as shipped, or as dropped when librdkafka
// gives up on them (message.timeout.ms).
class KafkaShipper : public EveShipper {
 public:
  KafkaShipper(std::string url, size_t max) : EveShipper("kafka", std::move(url), max) {}
  ~KafkaShipper() override {
    Stop();
    if (rk_ != nullptr) {
      rd_kafka_flush(rk_, 2000);
      rd_kafka_topic_destroy(topic_);
      rd_kafka_destroy(rk_);
    }
  }
  base::Status Open(rd_kafka_conf_t* conf, const std::string& topic) {
    char err[512];
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &KafkaShipper::OnDelivery);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);  // takes conf when it succeeds
    if (rk_ == nullptr) {
      rd_kafka_conf_destroy(conf);
      return base::MakeError("EVE output " + url() + ": " + err);
    }
    topic_ = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
    if (topic_ == nullptr) return base::MakeError("EVE output " + url() + ": bad topic " + topic);
    Start();
    return {};
  }

 private:
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<KafkaShipper*>(opaque);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++self->dropped_;
      ++self->errors_;
    } else {
      ++self->shipped_;
    }
  }
  bool Connect() override { return true; }
  bool Send(std::vector<std::string>& batch, size_t& lost) override {
    lost = 0;
    for (std::string& r : batch) {
      if (rd_kafka_produce(topic_, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, r.data(), r.size(),
                           nullptr, 0, nullptr) != 0) {
        ++lost;  // librdkafka's queue is full too
      }
    }
    rd_kafka_poll(rk_, 0);
    return true;
  }
  void Idle() override { rd_kafka_poll(rk_, 0); }
  size_t InFlight() override { return size_t(rd_kafka_outq_len(rk_)); }

  rd_kafka_t* rk_ = nullptr;
  rd_kafka_topic_t* topic_ = nullptr;
};

}  // namespace

base::Result<std::unique_ptr<EveShipper>> EveShipper::Create(const std::string& url,
                                                             size_t max_records) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return base::MakeError("EVE output " + url + ": expected redis://... or kafka://...");
  }
  const std::string scheme = url.substr(0, scheme_end);
  std::string rest = url.substr(scheme_end + 3);
  std::string query;
  if (size_t q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest.resize(q);
  }
  const size_t slash = rest.find('/');
  if (slash == std::string::npos || slash + 1 == rest.size() || slash == 0) {
    return base::MakeError("EVE output " + url + ": expected " + scheme +
                           "://HOST:PORT/NAME (NAME: the " +
                           (scheme == "kafka" ? "topic" : "list or channel") + ")");
  }
  const std::string where = rest.substr(0, slash), name = rest.substr(slash + 1);
  if (scheme == "redis") {
    bool channel = false;
    if (query == "mode=channel") {
      channel = true;
    } else if (!query.empty() && query != "mode=list") {
      return base::MakeError("EVE output " + url + ": mode is list or channel");
    }
    const size_t colon = where.rfind(':');
    std::string host = where.substr(0, colon);
    int port = 6379;
    if (colon != std::string::npos) {
      char* end = nullptr;
      long p = std::strtol(where.c_str() + colon + 1, &end, 10);
      if (*end != '\0' || p <= 0 || p > 65535) {
        return base::MakeError("EVE output " + url + ": bad port");
      }
      port = int(p);
    }
    return std::unique_ptr<EveShipper>(
        new RedisShipper(url, max_records, host, port, name, channel));
  }
  if (scheme == "kafka") {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    auto set = [&](const char* k, const std::string& v) {
      return rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK;
    };
    if (!set("bootstrap.servers", where) ||
        !set("queue.buffering.max.messages", std::to_string(max_records)) ||
        !set("message.timeout.ms", "30000") || !set("linger.ms", "5") ||
        !set("reconnect.backoff.max.ms", "1000")) {
      rd_kafka_conf_destroy(conf);
      return base::MakeError("EVE output " + url + ": " + err);
    }
    auto shipper = std::make_unique<KafkaShipper>(url, max_records);
    if (auto st = shipper->Open(conf, name); !st) return st.error();
    return std::unique_ptr<EveShipper>(std::move(shipper));
  }
  return base::MakeError("EVE output " + url + ": unknown scheme " + scheme);
}

EveShipper::~EveShipper() = default;

void EveShipper::Start() {
  sender_ = std::thread([this] { Loop(); });
}

void EveShipper::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (sender_.joinable()) sender_.join();
}

void EveShipper::Offer(std::string_view record) {
  if (!record.empty() && record.back() == '\n') record.remove_suffix(1);
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= max_records_) {
      ++dropped_;
      return;
    }
    queue_.emplace_back(record);
  }
  cv_.notify_one();
}

ShipperCounters EveShipper::counters() const {
  ShipperCounters c{.shipped = shipped_.load(),
                    .dropped = dropped_.load(),
                    .reconnects = reconnects_.load(),
                    .errors = errors_.load()};
  std::lock_guard lock(mu_);
  c.queued = queue_.size();
  return c;
}

bool EveShipper::Drain(double seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    {
      std::lock_guard lock(mu_);
      if (!queue_.empty() || busy_) {
        std::this_thread::sleep_for(10ms);
        continue;
      }
    }
    if (InFlight() == 0) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

void EveShipper::Loop() {
  bool connected = Connect();
  std::vector<std::string> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, 100ms, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      if (!connected) {
        lock.unlock();
        std::this_thread::sleep_for(1s);
        connected = Connect();
        if (connected) ++reconnects_;
        continue;
      }
      batch.clear();
      while (!queue_.empty() && batch.size() < kBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      busy_ = !batch.empty();
    }
    if (batch.empty()) {
      Idle();
      continue;
    }
    size_t lost = 0;
    const bool ok = Send(batch, lost);
    {
      // What the broker did not confirm goes back to the front of the queue, in order, to be
      // sent again once it is back (at least once: a record it took but did not confirm may
      // arrive twice); only what no longer fits under the cap is dropped.
      std::lock_guard lock(mu_);
      lost = std::min(lost, batch.size());
      for (size_t i = batch.size(); i > batch.size() - lost; --i) {
        if (queue_.size() >= max_records_) {
          ++dropped_;
        } else {
          queue_.push_front(std::move(batch[i - 1]));
        }
      }
      busy_ = false;
    }
    if (!ok) {
      ++errors_;
      connected = false;
    }
  }
}

}  // namespace vigil::control

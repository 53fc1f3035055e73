// EVE shipping against real brokers: a redis-server this test starts on a loopback port (list and
// channel modes; the server killed and started again: records queue to the cap, the rest are
// counted as dropped, the shipper reconnects by itself), and librdkafka's mock cluster (records
// consumed back from the topic; a broker that goes down and comes back). Offer() is timed while
// the brokers are away: it must never wait for them. Skips, with the reason, without
// redis-server.
#include "control/eve_shipper.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "control/ops.h"
#include "detect/rule_match.h"

namespace vigil::control {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A port nothing listens on now (the kernel's pick for a socket bound to port 0).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// redis-server on 127.0.0.1:port, no persistence, killed when the object goes.
class RedisServer {
 public:
  explicit RedisServer(int port) : port_(port) {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string p = std::to_string(port);
      execlp("redis-server", "redis-server", "--port", p.c_str(), "--bind", "127.0.0.1", "--save",
             "", "--appendonly", "no", "--loglevel", "warning", nullptr);
      _exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      if (redisContext* c = Connect()) {
        redisFree(c);
        up_ = true;
        return;
      }
      std::this_thread::sleep_for(50ms);
    }
  }
  ~RedisServer() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool up() const { return up_; }
  redisContext* Connect() const {
    redisContext* c = redisConnect("127.0.0.1", port_);
    if (c == nullptr || c->err != 0) {
      if (c) redisFree(c);
      return nullptr;
    }
    return c;
  }
  long long ListLength(const std::string& key) const {
    redisContext* c = Connect();
    if (c == nullptr) return -1;
    auto* r = static_cast<redisReply*>(redisCommand(c, "LLEN %s", key.c_str()));
    long long n = r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r) freeReplyObject(r);
    redisFree(c);
    return n;
  }
  std::string ListItem(const std::string& key, int index) const {
    redisContext* c = Connect();
    auto* r = static_cast<redisReply*>(redisCommand(c, "LINDEX %s %d", key.c_str(), index));
    std::string s =
        r != nullptr && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : "";
    if (r) freeReplyObject(r);
    redisFree(c);
    return s;
  }

 private:
  int port_;
  pid_t pid_ = -1;
  bool up_ = false;
};

bool HaveRedis() { return std::system("command -v redis-server >/dev/null 2>&1") == 0; }

bool WaitUntil(const std::function<bool()>& f, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (f()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return f();
}

std::string Record(int i) { return R"({"event_type":"alert","n":)" + std::to_string(i) + "}\n"; }

TEST(EveShipperTest, RefusesMalformedUrls) {
  EXPECT_FALSE(EveShipper::Create("redis:/x"));
  EXPECT_FALSE(EveShipper::Create("redis://127.0.0.1:6379"));
  EXPECT_FALSE(EveShipper::Create("redis://127.0.0.1:99999/k"));
  EXPECT_FALSE(EveShipper::Create("redis://127.0.0.1:6379/k?mode=stream"));
  EXPECT_FALSE(EveShipper::Create("kafka:///topic"));
  EXPECT_FALSE(EveShipper::Create("syslog://x/y"));
}

TEST(EveShipperTest, RedisListSurvivesTheServerGoingAway) {
  if (!HaveRedis()) GTEST_SKIP() << "redis-server is missing (scripts/install-deps.sh installs it)";
  const int port = FreePort();
  auto server = std::make_unique<RedisServer>(port);
  ASSERT_TRUE(server->up());
  auto shipper =
      EveShipper::Create("redis://127.0.0.1:" + std::to_string(port) + "/eve", /*max=*/100);
  ASSERT_TRUE(shipper) << shipper.error().ToString();
  EveShipper& s = **shipper;
  for (int i = 0; i < 50; ++i) s.Offer(Record(i));
  ASSERT_TRUE(s.Drain(10));
  EXPECT_EQ(server->ListLength("eve"), 50);
  EXPECT_EQ(server->ListItem("eve", 7), R"({"event_type":"alert","n":7})") << "no newline";
  EXPECT_EQ(s.counters().shipped, 50u);

  // The server goes away: Offer never waits; the queue holds 100, the rest is counted.
  server.reset();
  double slowest = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto t0 = Clock::now();
    s.Offer(Record(1000 + i));
    slowest = std::max(slowest, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  EXPECT_LT(slowest, 0.05) << "Offer waited for the broker";
  ShipperCounters c = s.counters();
  EXPECT_GE(c.dropped, 900u);
  EXPECT_LE(c.queued, 100u);
  EXPECT_EQ(c.shipped + c.dropped + c.queued, 1050u) << "every record accounted for";

  // It comes back: the shipper reconnects and ships what waited.
  server = std::make_unique<RedisServer>(port);
  ASSERT_TRUE(server->up());
  ASSERT_TRUE(WaitUntil([&] { return s.counters().queued == 0; }, 10s));
  ASSERT_TRUE(s.Drain(10));
  c = s.counters();
  EXPECT_GE(c.reconnects, 1u);
  EXPECT_EQ(c.shipped + c.dropped, 1050u);
  EXPECT_EQ(server->ListLength("eve"), int64_t(c.shipped) - 50);
  EXPECT_GT(server->ListLength("eve"), 0);
}

TEST(EveShipperTest, RedisChannelPublishes) {
  if (!HaveRedis()) GTEST_SKIP() << "redis-server is missing (scripts/install-deps.sh installs it)";
  const int port = FreePort();
  RedisServer server(port);
  ASSERT_TRUE(server.up());
  redisContext* sub = server.Connect();
  ASSERT_NE(sub, nullptr);
  freeReplyObject(redisCommand(sub, "SUBSCRIBE eve-live"));
  auto shipper =
      EveShipper::Create("redis://127.0.0.1:" + std::to_string(port) + "/eve-live?mode=channel");
  ASSERT_TRUE(shipper);
  (*shipper)->Offer(Record(1));
  void* reply = nullptr;
  ASSERT_EQ(redisGetReply(sub, &reply), REDIS_OK);
  auto* r = static_cast<redisReply*>(reply);
  ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(r->elements, 3u);
  EXPECT_EQ(std::string(r->element[2]->str), R"({"event_type":"alert","n":1})");
  freeReplyObject(r);
  redisFree(sub);
}

// librdkafka's mock cluster: the records come back from the topic, in order; a broker that goes
// down holds them in librdkafka's queue until it is back.
TEST(EveShipperTest, KafkaMockClusterTopic) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_t* owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT_NE(owner, nullptr) << err;
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(owner, 1);
  ASSERT_NE(cluster, nullptr);
  const std::string brokers = rd_kafka_mock_cluster_bootstraps(cluster);
  ASSERT_EQ(rd_kafka_mock_topic_create(cluster, "vigil-eve", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  {
    auto shipper = EveShipper::Create("kafka://" + brokers + "/vigil-eve");
    ASSERT_TRUE(shipper) << shipper.error().ToString();
    EveShipper& s = **shipper;
    for (int i = 0; i < 100; ++i) s.Offer(Record(i));
    ASSERT_TRUE(s.Drain(20));
    EXPECT_EQ(s.counters().shipped, 100u);

    // Down: Offer does not wait; up again: what waited is delivered.
    rd_kafka_mock_broker_set_down(cluster, 1);
    double slowest = 0;
    for (int i = 100; i < 150; ++i) {
      const auto t0 = Clock::now();
      s.Offer(Record(i));
      slowest = std::max(slowest, std::chrono::duration<double>(Clock::now() - t0).count());
    }
    EXPECT_LT(slowest, 0.05);
    std::this_thread::sleep_for(500ms);
    EXPECT_LT(s.counters().shipped, 150u);
    rd_kafka_mock_broker_set_up(cluster, 1);
    ASSERT_TRUE(s.Drain(25));
    EXPECT_EQ(s.counters().shipped, 150u);
    EXPECT_EQ(s.counters().dropped, 0u);
  }
  // Consumed back from the topic.
  rd_kafka_conf_t* cconf = rd_kafka_conf_new();
  rd_kafka_conf_set(cconf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
  rd_kafka_conf_set(cconf, "group.id", "vigil-test", err, sizeof err);
  rd_kafka_conf_set(cconf, "auto.offset.reset", "earliest", err, sizeof err);
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, err, sizeof err);
  ASSERT_NE(consumer, nullptr) << err;
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, "vigil-eve", RD_KAFKA_PARTITION_UA);
  ASSERT_EQ(rd_kafka_subscribe(consumer, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);
  std::vector<std::string> got;
  const auto until = Clock::now() + 20s;
  while (got.size() < 150 && Clock::now() < until) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 200);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      got.emplace_back(static_cast<const char*>(m->payload), m->len);
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  ASSERT_EQ(got.size(), 150u);
  for (int i = 0; i < 150; ++i) {
    EXPECT_EQ(got[i], R"({"event_type":"alert","n":)" + std::to_string(i) + "}");
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(owner);
}

// The path from a worker: Ops::OnAlerts formats each alert as the EVE file would and offers it.
TEST(EveShipperTest, OpsShipsTheEveRecordOfEachAlert) {
  if (!HaveRedis()) GTEST_SKIP() << "redis-server is missing (scripts/install-deps.sh installs it)";
  const int port = FreePort();
  RedisServer server(port);
  ASSERT_TRUE(server.up());
  Ops ops({.eve_outputs = {"redis://127.0.0.1:" + std::to_string(port) + "/alerts"},
           .log = [](const std::string&) {}});
  ASSERT_TRUE(ops.OpenOutputs());
  detect::CompiledRule rule;
  rule.rule.sid = 4242;
  rule.rule.rev = 3;
  rule.rule.msg = "shipped \"quoted\"";
  const uint8_t bytes[4] = {1, 2, 3, 4};
  packet::Packet p;
  p.data = bytes;
  p.caplen = p.wirelen = 4;
  const detect::Alert alerts[2] = {{.rule = &rule}, {.rule = &rule}};
  ops.OnAlerts({.packet = &p, .alerts = alerts});
  ASSERT_TRUE(WaitUntil([&] { return server.ListLength("alerts") == 2; }, 5s));
  auto record = nlohmann::json::parse(server.ListItem("alerts", 0), nullptr, false);
  ASSERT_TRUE(record.is_object()) << server.ListItem("alerts", 0);
  EXPECT_EQ(record["event_type"], "alert");
  EXPECT_EQ(record["alert"]["signature_id"], 4242);
  EXPECT_EQ(record["alert"]["signature"], "shipped \"quoted\"");
  EXPECT_EQ(record["packet"], "AQIDBA==");
}

}  // namespace
}  // namespace vigil::control

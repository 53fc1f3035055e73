#include "engine/parallel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "craft/frame.h"
#include "craft/tcp_session.h"
#include "decode/decoder.h"
#include "rules/parser.h"
#include "rules/variables.h"

namespace vigil::engine {
namespace {

// Many short TCP sessions between many host pairs; each client sends "attack-marker" split over
// two segments, so only reassembly finds it, and every third session sends it twice.
struct Traffic {
  std::vector<craft::Bytes> frames;
  std::vector<packet::Packet> packets;
  size_t sessions = 0;
  size_t markers = 0;
};

Traffic MakeTraffic() {
  Traffic t;
  for (int i = 0; i < 200; ++i) {
    std::string client = "10.1." + std::to_string(i / 50) + "." + std::to_string(i % 50 + 1);
    std::string server = "192.168.7." + std::to_string(i % 13 + 1);
    craft::TcpSession s({craft::Addr(client), uint16_t(30000 + i)}, {craft::Addr(server), 80});
    auto add = [&](std::vector<craft::Bytes> fs) {
      for (auto& f : fs) t.frames.push_back(std::move(f));
    };
    add(s.Handshake());
    add(s.ClientSends("GET /x HTTP/1.1\r\nX: attack-", 0));
    add(s.ClientSends("marker\r\n\r\n", 0));
    ++t.markers;
    if (i % 3 == 0) {
      add(s.ClientSends("attack-marker again", 0));
      ++t.markers;
    }
    add(s.ServerSends("HTTP/1.1 200 OK\r\n\r\n"));
    add(s.Close());
    ++t.sessions;
  }
  decode::Decoder decoder;
  for (size_t i = 0; i < t.frames.size(); ++i) {
    packet::Packet p;
    p.data = t.frames[i].data();
    p.caplen = p.wirelen = uint32_t(t.frames[i].size());
    p.number = i + 1;
    p.ts = {int64_t(1'700'000'000 + i / 1000), uint32_t(i % 1000) * 1'000'000};
    decoder.Decode(p);
    t.packets.push_back(p);
  }
  return t;
}

std::unique_ptr<const detect::DetectionPlan> Plan() {
  rules::Variables vars;
  auto r = rules::ParseRule(
      R"(alert tcp any any -> any 80 (msg:"marker"; content:"attack-marker"; sid:1;))", vars);
  EXPECT_TRUE(r);
  std::vector<rules::Rule> rs{*r};
  auto plan = detect::DetectionPlan::Build(std::move(rs), rules::ClassificationTable::Default());
  EXPECT_TRUE(plan);
  return std::move(*plan);
}

// A counter sum refilled as a worker's snapshot is: the same as a fresh sum of the same Adds,
// whatever the fills' names and order, and a refill of the same names allocates nothing new.
TEST(CounterSumTest, ARefillEqualsAFreshSum) {
  using Fill = std::vector<std::pair<std::string, uint64_t>>;
  const std::string long_name(40, 'x');  // beyond the short-string buffer
  const std::vector<Fill> fills = {
      {{"a", 1}, {"b", 2}, {long_name, 3}, {"a", 4}},
      {{"a", 5}, {"b", 6}, {long_name, 7}, {"a", 8}},   // the same names in the same order
      {{"b", 1}, {"c", 2}, {"a", 3}},                   // reordered, one new, one gone
      {{"c", 9}},                                       // most gone
      {{"a", 1}, {"b", 2}, {long_name, 3}, {"a", 4}}};  // back again
  CounterSum refilled;
  for (const Fill& fill : fills) {
    refilled.Restart();
    CounterSum fresh;
    for (const auto& [name, v] : fill) {
      refilled.Add(name, v);
      fresh.Add(name, v);
    }
    refilled.Finish();
    std::map<std::string, uint64_t> a(refilled.counters().begin(), refilled.counters().end());
    std::map<std::string, uint64_t> b(fresh.counters().begin(), fresh.counters().end());
    EXPECT_EQ(a, b);
    EXPECT_EQ(refilled.counters().size(), fresh.counters().size());
  }
  // The same names again: the long name keeps its storage.
  const char* before = refilled.counters()[2].first.data();
  refilled.Restart();
  for (const auto& [name, v] : fills[0]) refilled.Add(name, v);
  refilled.Finish();
  EXPECT_EQ(refilled.counters()[2].first.data(), before);
  EXPECT_EQ(refilled.Get("a"), 5u);
}

TEST(ParallelTest, ShardIsSymmetricAndInRange) {
  Traffic t = MakeTraffic();
  std::map<std::pair<base::IpAddress, base::IpAddress>, uint32_t> seen;
  for (const packet::Packet& p : t.packets) {
    uint32_t s = ShardOf(p, 3);
    ASSERT_LT(s, 3u);
    auto key = std::minmax(p.src_ip, p.dst_ip);
    auto [it, fresh] = seen.try_emplace({key.first, key.second}, s);
    EXPECT_EQ(it->second, s) << "both directions of a host pair must share a worker";
  }
  std::vector<int> per_shard(3, 0);
  for (const auto& [pair, s] : seen) ++per_shard[s];
  for (int n : per_shard) EXPECT_GT(n, 20) << "200 host pairs should spread over 3 workers";
}

TEST(ParallelTest, InMemoryRunFindsTheSameOnAnyNumberOfThreads) {
  Traffic t = MakeTraffic();
  auto plan = Plan();
  for (uint32_t threads : {1u, 2u, 3u}) {
    auto run = RunInMemory(*plan, t.packets, threads, {});
    ASSERT_TRUE(run) << run.error().ToString();
    EXPECT_EQ(run->threads, threads);
    EXPECT_EQ(run->packets, t.packets.size());
    EXPECT_EQ(run->alerts, t.markers) << threads << " threads";
    EXPECT_EQ(run->counters.Get("flow.created"), t.sessions);
    EXPECT_EQ(run->counters.Get("tcp.handshakes"), t.sessions);
    EXPECT_EQ(run->counters.Get("engine.packets"), t.packets.size());
    EXPECT_GT(run->seconds, 0);
  }
}

// Threshold counters are shared by the workers: a by_dst limit of one alert per server gives one
// alert for each of the 13 servers on any number of threads (with counters per worker, a server
// whose clients land on three workers would alert three times).
TEST(ParallelTest, ThresholdsCountAcrossWorkers) {
  Traffic t = MakeTraffic();
  rules::Variables vars;
  auto r =
      rules::ParseRule(R"(alert tcp any any -> any 80 (msg:"marker"; content:"attack-marker"; )"
                       R"(threshold:type limit, track by_dst, count 1, seconds 3600; sid:2;))",
                       vars);
  ASSERT_TRUE(r);
  auto plan = detect::DetectionPlan::Build({*r}, rules::ClassificationTable::Default());
  ASSERT_TRUE(plan);
  for (uint32_t threads : {1u, 2u, 3u}) {
    auto run = RunInMemory(**plan, t.packets, threads, {});
    ASSERT_TRUE(run) << run.error().ToString();
    EXPECT_EQ(run->alerts, 13u) << threads << " threads";
  }
  uint64_t alerts = 0;
  std::mutex mu;
  auto pool = WorkerPool::Create(**plan, 3, {}, [&](const PacketResult& res) {
    std::lock_guard lock(mu);
    alerts += res.alerts.size();
  });
  ASSERT_TRUE(pool);
  for (const packet::Packet& p : t.packets) (*pool)->Submit(p);
  (*pool)->Finish();
  EXPECT_EQ(alerts, 13u);
}

TEST(ParallelTest, PoolDeliversEveryPacketOnceWithItsAlerts) {
  Traffic t = MakeTraffic();
  auto plan = Plan();
  std::mutex mu;
  std::vector<uint64_t> numbers;
  uint64_t alerts = 0;
  auto pool = WorkerPool::Create(*plan, 3, {}, [&](const PacketResult& r) {
    std::lock_guard lock(mu);
    numbers.push_back(r.packet->number);
    alerts += r.alerts.size();
    for (const detect::Alert& a : r.alerts) EXPECT_EQ(a.rule->rule.sid, 1u);
  });
  ASSERT_TRUE(pool);
  for (const packet::Packet& p : t.packets) (*pool)->Submit(p);
  (*pool)->Finish();
  std::sort(numbers.begin(), numbers.end());
  ASSERT_EQ(numbers.size(), t.packets.size());
  for (size_t i = 0; i < numbers.size(); ++i) ASSERT_EQ(numbers[i], i + 1);
  EXPECT_EQ(alerts, t.markers);
}

}  // namespace
}  // namespace vigil::engine

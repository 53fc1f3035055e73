#include "flow/flow_table.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "craft/frame.h"

namespace vigil::flow {
namespace {

constexpr int64_t kSec = 1'000'000'000;

KeyedPacket Key(uint32_t n, uint16_t sport = 40000, uint16_t dport = 80,
                uint8_t proto = packet::kProtoTcp) {
  const uint8_t a[4] = {10, uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)};
  const uint8_t b[4] = {192, 168, 0, 1};
  return MakeKey(base::IpAddress::V4(a), sport, base::IpAddress::V4(b), dport, proto);
}

std::unique_ptr<FlowTable> NewTable(FlowTableConfig config = {}) {
  auto t = FlowTable::Create(config);
  EXPECT_TRUE(t.has_value());
  return std::move(*t);
}

TEST(FlowKeyTest, BothDirectionsGiveTheSameKeyAndHash) {
  const base::IpAddress a = craft::Addr("10.0.0.1"), b = craft::Addr("10.0.0.2");
  const KeyedPacket ab = MakeKey(a, 40000, b, 80, packet::kProtoTcp);
  const KeyedPacket ba = MakeKey(b, 80, a, 40000, packet::kProtoTcp);
  EXPECT_EQ(ab.key, ba.key);
  EXPECT_EQ(ab.hash, ba.hash);
  EXPECT_NE(ab.src_is_lo, ba.src_is_lo);
  // Each field is part of the identity.
  EXPECT_NE(MakeKey(a, 40000, b, 81, packet::kProtoTcp).hash, ab.hash);
  EXPECT_NE(MakeKey(a, 40000, b, 80, packet::kProtoUdp).key, ab.key);
  EXPECT_NE(MakeKey(a, 40000, b, 80, packet::kProtoTcp, 7).key, ab.key);
  const KeyedPacket v6a = MakeKey(craft::Addr("2001:db8::1"), 1, craft::Addr("2001:db8::2"), 2, 17);
  const KeyedPacket v6b = MakeKey(craft::Addr("2001:db8::2"), 2, craft::Addr("2001:db8::1"), 1, 17);
  EXPECT_EQ(v6a.key, v6b.key);
}

TEST(FlowTableTest, ReplyFindsTheSameFlowWithTheOtherDirection) {
  auto t = NewTable({.max_flows = 1024});
  const base::IpAddress a = craft::Addr("10.0.0.1"), b = craft::Addr("10.0.0.2");
  Lookup first = t->FindOrCreate(MakeKey(a, 5000, b, 53, packet::kProtoUdp), 0, 100);
  ASSERT_TRUE(first.created);
  EXPECT_EQ(first.dir, Direction::kToServer);
  EXPECT_EQ(first.flow->state, FlowState::kNew);
  Lookup reply = t->FindOrCreate(MakeKey(b, 53, a, 5000, packet::kProtoUdp), kSec, 200);
  EXPECT_FALSE(reply.created);
  EXPECT_EQ(reply.flow, first.flow);
  EXPECT_EQ(reply.dir, Direction::kToClient);
  EXPECT_EQ(reply.flow->state, FlowState::kEstablished);
  EXPECT_EQ(reply.flow->packets[0], 1u);
  EXPECT_EQ(reply.flow->packets[1], 1u);
  EXPECT_EQ(reply.flow->bytes[1], 200u);
  EXPECT_EQ(reply.flow->last_ns, kSec);
  EXPECT_EQ(t->size(), 1u);
}

TEST(FlowTableTest, FlowIdsAreUniqueAnd51Bits) {
  auto t = NewTable({.max_flows = 4096, .id_base = 3});
  std::set<uint64_t> ids;
  for (uint32_t i = 0; i < 4096; ++i) {
    const uint64_t id = t->FindOrCreate(Key(i), 0).flow->flow_id;
    EXPECT_LT(id, uint64_t{1} << 51);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 4096u);
  EXPECT_EQ(*ids.begin() >> 44, 3u);
}

struct TimeoutCase {
  const char* name;
  uint8_t proto;
  bool reply;           // a packet in the other direction (UDP/ICMP established)
  FlowState tcp_state;  // for TCP, set directly
  uint32_t timeout_s;   // the default that must apply
};

TEST(FlowTableTest, DefaultTimeoutsPerProtocolAndState) {
  const TimeoutCase cases[] = {
      {"tcp new", packet::kProtoTcp, false, FlowState::kNew, 30},
      {"tcp established", packet::kProtoTcp, false, FlowState::kEstablished, 3600},
      {"tcp closing", packet::kProtoTcp, false, FlowState::kClosing, 120},
      {"tcp closed", packet::kProtoTcp, false, FlowState::kClosed, 10},
      {"udp new", packet::kProtoUdp, false, FlowState::kNew, 30},
      {"udp established", packet::kProtoUdp, true, FlowState::kNew, 300},
      {"icmp", packet::kProtoIcmp, true, FlowState::kNew, 30},
  };
  for (const TimeoutCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto t = NewTable({.max_flows = 16});
    const KeyedPacket k = Key(1, 1000, 2000, c.proto);
    Lookup l = t->FindOrCreate(k, 0);
    if (c.proto == packet::kProtoTcp) l.flow->state = c.tcp_state;
    if (c.reply) {
      KeyedPacket r = k;
      r.src_is_lo = !k.src_is_lo;
      (void)t->FindOrCreate(r, 0);
    }
    const uint64_t id = l.flow->flow_id;
    EXPECT_EQ(t->TimeoutNs(*l.flow), int64_t{c.timeout_s} * kSec);
    // Just inside the timeout: the same flow.
    EXPECT_EQ(t->FindOrCreate(k, int64_t{c.timeout_s} * kSec).flow->flow_id, id);
    // Past it (measured from the last packet): a new flow, the old one counted as expired.
    Lookup later = t->FindOrCreate(k, int64_t{2 * c.timeout_s + 1} * kSec);
    EXPECT_TRUE(later.created);
    EXPECT_NE(later.flow->flow_id, id);
    EXPECT_EQ(t->stats().expired, 1u);
  }
}

TEST(FlowTableTest, ExpireIsIncrementalAndCallsTheReleaseHook) {
  auto t = NewTable({.max_flows = 2000});
  std::vector<uint64_t> released;
  t->SetReleaseHook(
      [](void* ctx, Flow& f, ReleaseReason why) {
        EXPECT_EQ(why, ReleaseReason::kTimeout);
        static_cast<std::vector<uint64_t>*>(ctx)->push_back(f.flow_id);
      },
      &released);
  for (uint32_t i = 0; i < 1000; ++i) (void)t->FindOrCreate(Key(i, 1, 2, packet::kProtoUdp), 0);
  EXPECT_EQ(t->Expire(10 * kSec, 5000), 0u);  // nothing idle yet
  size_t total = 0;
  for (int round = 0; round < 20; ++round) {
    const size_t n = t->Expire(100 * kSec, 64);
    EXPECT_LE(n, 64u);  // never more than the budget per call
    total += n;
  }
  EXPECT_EQ(total, 1000u);
  EXPECT_EQ(released.size(), 1000u);
  EXPECT_EQ(t->size(), 0u);
}

TEST(FlowTableTest, FullTableEvictsAndCounts) {
  auto t = NewTable({.max_flows = 1000});
  for (uint32_t i = 0; i < 5000; ++i) {
    Lookup l = t->FindOrCreate(Key(i), int64_t{i} * 1000);
    ASSERT_NE(l.flow, nullptr);
    ASSERT_TRUE(l.created);
    EXPECT_LE(t->size(), 1000u);
    EXPECT_NE(t->Find(Key(i)), nullptr);  // the newcomer is always in
  }
  EXPECT_EQ(t->size(), 1000u);
  EXPECT_EQ(t->stats().evicted + t->stats().expired, 4000u);
  EXPECT_GT(t->stats().evicted, 0u);
}

TEST(FlowTableTest, EveryFlowStaysFindableAtFullCapacity) {
  const uint32_t n = 1u << 16;
  auto t = NewTable({.max_flows = n});
  std::vector<Flow*> flows;
  for (uint32_t i = 0; i < n; ++i) flows.push_back(t->FindOrCreate(Key(i), 0).flow);
  EXPECT_EQ(t->stats().evicted, 0u);
  EXPECT_EQ(t->size(), n);
  for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(t->Find(Key(i)), flows[i]) << i;
  // Remove every other flow; the rest stay, the removed ones are gone, and room is reused.
  for (uint32_t i = 0; i < n; i += 2) t->Remove(flows[i]);
  for (uint32_t i = 0; i < n; ++i) {
    ASSERT_EQ(t->Find(Key(i)), i % 2 ? flows[i] : nullptr) << i;
  }
  for (uint32_t i = n; i < n + n / 2; ++i) (void)t->FindOrCreate(Key(i), 0);
  EXPECT_EQ(t->size(), n);
  EXPECT_EQ(t->stats().evicted, 0u);
  EXPECT_LE(t->ReservedBytes(), t->bucket_count() * 64 + size_t{n} * 192);
}

TEST(FlowTableTest, BatchLookupMatchesSingleLookups) {
  auto a = NewTable({.max_flows = 4096});
  auto b = NewTable({.max_flows = 4096});
  std::mt19937 rng(7);
  std::vector<KeyedPacket> keys;
  for (int i = 0; i < 32 * 50; ++i) {
    KeyedPacket k = Key(rng() % 3000);
    if (rng() & 1) k.src_is_lo = !k.src_is_lo;
    keys.push_back(k);
  }
  for (size_t i = 0; i < keys.size(); i += 32) {
    Lookup out[32];
    ASSERT_EQ(a->FindOrCreateBatch(&keys[i], nullptr, 32, int64_t(i), out), 32u);
    for (int j = 0; j < 32; ++j) {
      Lookup single = b->FindOrCreate(keys[i + j], int64_t(i));
      EXPECT_EQ(out[j].created, single.created);
      EXPECT_EQ(out[j].dir, single.dir);
      EXPECT_EQ(out[j].flow->flow_id, single.flow->flow_id);
    }
  }
}

TEST(FlowTableTest, CreateRejectsBadCaps) {
  EXPECT_FALSE(FlowTable::Create({.max_flows = 0}).has_value());
}

}  // namespace
}  // namespace vigil::flow

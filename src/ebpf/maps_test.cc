#include "ebpf/maps.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace vigil::ebpf {
namespace {

std::vector<uint8_t> U32(uint32_t v) {
  std::vector<uint8_t> b(4);
  std::memcpy(b.data(), &v, 4);
  return b;
}
std::vector<uint8_t> U64(uint64_t v) {
  std::vector<uint8_t> b(8);
  std::memcpy(b.data(), &v, 8);
  return b;
}

std::shared_ptr<Map> Make(MapSpec spec) {
  auto m = Map::Create(spec);
  EXPECT_TRUE(m) << m.error().message;
  return *m;
}

TEST(MapCreate, RefusesBadSpecs) {
  EXPECT_FALSE(Map::Create({.type = kMapArray, .key_size = 8, .value_size = 4, .max_entries = 1}));
  EXPECT_FALSE(Map::Create({.type = kMapHash, .key_size = 4, .value_size = 4, .max_entries = 0}));
  EXPECT_FALSE(Map::Create({.type = kMapHash, .key_size = 0, .value_size = 4, .max_entries = 1}));
  EXPECT_FALSE(Map::Create({.type = 99, .key_size = 4, .value_size = 4, .max_entries = 1}));
  EXPECT_FALSE(
      Map::Create({.type = kMapLpmTrie, .key_size = 4, .value_size = 4, .max_entries = 1}));
}

TEST(ArrayMap, KernelSemantics) {
  auto m = Make({.type = kMapArray, .key_size = 4, .value_size = 8, .max_entries = 4});
  // Every element exists, zeroed; NOEXIST fails, delete fails, out of range fails.
  EXPECT_EQ(*m->HostLookup(U32(3)), U64(0));
  EXPECT_FALSE(m->HostLookup(U32(4)));
  EXPECT_TRUE(m->HostUpdate(U32(1), U64(9)));
  EXPECT_EQ(*m->HostLookup(U32(1)), U64(9));
  uint32_t k = 1;
  uint64_t v = 5;
  EXPECT_EQ(m->Update(&k, &v, kUpdateNoExist, 0), -kEEXIST);
  EXPECT_EQ(m->Delete(&k), -kEINVAL);
  k = 4;
  EXPECT_EQ(m->Update(&k, &v, kUpdateAny, 0), -kE2BIG);
  EXPECT_EQ(m->HostKeys().size(), 4u);
}

TEST(HashMap, InsertUpdateDeleteAndTheCap) {
  auto m = Make({.type = kMapHash, .key_size = 4, .value_size = 8, .max_entries = 3});
  for (uint32_t i = 0; i < 3; ++i) ASSERT_TRUE(m->HostUpdate(U32(i), U64(i * 10)));
  auto full = m->HostUpdate(U32(7), U64(70));
  ASSERT_FALSE(full);
  EXPECT_NE(full.error().message.find("E2BIG"), std::string::npos);
  EXPECT_EQ(m->failed_inserts(), 1u);
  // Replacing an existing key still works when full; NOEXIST/EXIST are honoured.
  EXPECT_TRUE(m->HostUpdate(U32(1), U64(11)));
  EXPECT_FALSE(m->HostUpdate(U32(1), U64(12), kUpdateNoExist));
  EXPECT_FALSE(m->HostUpdate(U32(9), U64(12), kUpdateExist));
  EXPECT_EQ(*m->HostLookup(U32(1)), U64(11));
  ASSERT_TRUE(m->HostDelete(U32(0)));
  EXPECT_FALSE(m->HostDelete(U32(0)));
  EXPECT_FALSE(m->HostLookup(U32(0)));
  EXPECT_TRUE(m->HostUpdate(U32(7), U64(70)));  // room again
  auto keys = m->HostKeys();
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::vector<uint8_t>>{U32(1), U32(2), U32(7)}));
}

TEST(HashMap, ManyKeysSurviveDeletesInProbeRuns) {
  // Differential against a reference set: insert 1000, delete every third, check membership.
  auto m = Make({.type = kMapHash, .key_size = 8, .value_size = 4, .max_entries = 1000});
  for (uint64_t i = 0; i < 1000; ++i) ASSERT_TRUE(m->HostUpdate(U64(i * 7919), U32(uint32_t(i))));
  for (uint64_t i = 0; i < 1000; i += 3) ASSERT_TRUE(m->HostDelete(U64(i * 7919)));
  for (uint64_t i = 0; i < 1000; ++i) {
    auto v = m->HostLookup(U64(i * 7919));
    EXPECT_EQ(bool(v), i % 3 != 0) << i;
    if (v) {
      EXPECT_EQ(*v, U32(uint32_t(i)));
    }
  }
  EXPECT_EQ(m->HostKeys().size(), 666u);
}

TEST(LruHashMap, EvictsTheLeastRecentlyUsed) {
  auto m = Make({.type = kMapLruHash, .key_size = 4, .value_size = 4, .max_entries = 3});
  for (uint32_t i = 1; i <= 3; ++i) ASSERT_TRUE(m->HostUpdate(U32(i), U32(i)));
  uint32_t k = 1;
  ASSERT_NE(m->Lookup(&k, 0), nullptr);  // 1 is now the most recent; 2 the least
  ASSERT_TRUE(m->HostUpdate(U32(4), U32(4)));
  EXPECT_FALSE(m->HostLookup(U32(2)));
  EXPECT_TRUE(m->HostLookup(U32(1)));
  EXPECT_TRUE(m->HostLookup(U32(3)));
  EXPECT_TRUE(m->HostLookup(U32(4)));
  EXPECT_EQ(m->failed_inserts(), 0u);
}

TEST(PerCpuMaps, ProgramsSeeTheirCpuHostSeesAll) {
  for (uint32_t type : {kMapPerCpuArray, kMapPerCpuHash}) {
    auto m = Make({.type = type, .key_size = 4, .value_size = 4, .max_entries = 2, .num_cpus = 2});
    EXPECT_EQ(m->HostValueSize(), 16u);  // two CPUs, each value padded to 8 bytes
    uint32_t k = 1, v0 = 10, v1 = 11;
    ASSERT_EQ(m->Update(&k, &v0, kUpdateAny, 0), 0);
    ASSERT_EQ(m->Update(&k, &v1, kUpdateAny, 1), 0);
    EXPECT_EQ(*static_cast<uint32_t*>(m->Lookup(&k, 0)), 10u);
    EXPECT_EQ(*static_cast<uint32_t*>(m->Lookup(&k, 1)), 11u);
    auto all = m->HostLookup(U32(1));
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 16u);
    EXPECT_EQ((*all)[0], 10);
    EXPECT_EQ((*all)[8], 11);
    std::vector<uint8_t> both(16, 0);
    both[0] = 1;
    both[8] = 2;
    ASSERT_TRUE(m->HostUpdate(U32(0), both));
    k = 0;
    EXPECT_EQ(*static_cast<uint32_t*>(m->Lookup(&k, 1)), 2u);
    EXPECT_FALSE(m->HostUpdate(U32(0), U32(1)));  // a per-CPU host value has every CPU's copy
  }
}

std::vector<uint8_t> LpmKey(uint32_t plen, std::array<uint8_t, 4> addr) {
  std::vector<uint8_t> k(8);
  std::memcpy(k.data(), &plen, 4);
  std::memcpy(k.data() + 4, addr.data(), 4);
  return k;
}

TEST(LpmTrie, LongestPrefixWins) {
  auto m =
      Make({.type = kMapLpmTrie, .key_size = 8, .value_size = 4, .max_entries = 8, .flags = 1});
  ASSERT_TRUE(m->HostUpdate(LpmKey(8, {10, 0, 0, 0}), U32(8)));
  ASSERT_TRUE(m->HostUpdate(LpmKey(24, {10, 1, 2, 99}), U32(24)));  // host bits are masked off
  ASSERT_TRUE(m->HostUpdate(LpmKey(0, {0, 0, 0, 0}), U32(0)));
  EXPECT_EQ(*m->HostLookup(LpmKey(32, {10, 1, 2, 3})), U32(24));
  EXPECT_EQ(*m->HostLookup(LpmKey(32, {10, 9, 2, 3})), U32(8));
  EXPECT_EQ(*m->HostLookup(LpmKey(32, {192, 168, 0, 1})), U32(0));
  EXPECT_EQ(*m->HostLookup(LpmKey(16, {10, 1, 2, 3})), U32(8));  // a /16 query cannot match /24
  EXPECT_FALSE(m->HostUpdate(LpmKey(33, {0, 0, 0, 0}), U32(1)));
  ASSERT_TRUE(m->HostDelete(LpmKey(24, {10, 1, 2, 0})));
  EXPECT_EQ(*m->HostLookup(LpmKey(32, {10, 1, 2, 3})), U32(8));
}

// The ring buffer keeps the kernel's order and limits: records come out in reservation order, a
// record still reserved holds back those after it, a discarded one never comes out, a full ring
// refuses (counted), and a record that would wrap starts over at the beginning.
TEST(RingBuffer, OrderCapacityAndWrap) {
  EXPECT_FALSE(Map::Create({.type = kMapRingbuf,
                            .key_size = 0,
                            .value_size = 0,
                            .max_entries = 5000}));  // not a power of 2
  auto m = Make({.type = kMapRingbuf, .key_size = 0, .value_size = 0, .max_entries = 4096});
  auto* rb = static_cast<RingBuffer*>(m.get());
  uint8_t* a = rb->Reserve(100, 0);
  uint8_t* b = rb->Reserve(10, 0);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(rb->Reserve(10, 1), nullptr) << "flags must be 0";
  EXPECT_TRUE(m->ContainsValue(uint64_t(a), 100));
  EXPECT_FALSE(m->ContainsValue(uint64_t(a), 101));
  std::memset(a, 'a', 100);
  std::memset(b, 'b', 10);
  EXPECT_TRUE(rb->Commit(b, false));
  EXPECT_FALSE(rb->Commit(b, false)) << "committed once only";
  std::vector<MapEvent> out;
  EXPECT_EQ(m->DrainEvents(out, 10), 0u) << "b waits behind a, still reserved";
  EXPECT_TRUE(rb->Commit(a, false));
  EXPECT_EQ(m->DrainEvents(out, 10), 2u);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, std::vector<uint8_t>(100, 'a'));
  EXPECT_EQ(out[1].data, std::vector<uint8_t>(10, 'b'));
  uint8_t* d = rb->Reserve(8, 0);
  ASSERT_TRUE(d);
  EXPECT_TRUE(rb->Commit(d, /*discard=*/true));
  out.clear();
  EXPECT_EQ(m->DrainEvents(out, 10), 0u);
  // Fill: 4096 bytes hold 3 records of 1000 (+8 header each); the fourth does not fit.
  for (int i = 0; i < 3; ++i) {
    uint8_t* r = rb->Reserve(1000, 0);
    ASSERT_TRUE(r) << i;
    std::memset(r, '0' + i, 1000);
    ASSERT_TRUE(rb->Commit(r, false));
  }
  EXPECT_EQ(rb->Reserve(1000, 0), nullptr);
  EXPECT_EQ(m->dropped_events(), 1u);
  EXPECT_EQ(rb->Output(std::vector<uint8_t>(1000, 'x'), 0), -kEAGAIN);
  EXPECT_EQ(m->DrainEvents(out, 2), 2u);
  // Now a record that would cross the end of the ring starts at its beginning.
  uint8_t* w = rb->Reserve(1500, 0);
  ASSERT_TRUE(w);
  std::memset(w, 'w', 1500);
  ASSERT_TRUE(rb->Commit(w, false));
  out.clear();
  EXPECT_EQ(m->DrainEvents(out, 10), 2u);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, std::vector<uint8_t>(1000, '2'));
  EXPECT_EQ(out[1].data, std::vector<uint8_t>(1500, 'w'));
  EXPECT_EQ(rb->Query(0), 0u);
  EXPECT_EQ(rb->Query(1), 4096u);
}

TEST(PerfEventArray, RecordsAreBoundedAndCounted) {
  auto m = Make({.type = kMapPerfEventArray, .key_size = 4, .value_size = 4, .max_entries = 2});
  auto* perf = static_cast<PerfEventArray*>(m.get());
  const std::vector<uint8_t> rec(1000, 7);
  EXPECT_EQ(perf->Output(2, rec, {}), -kE2BIG);
  size_t fit = 0;
  while (perf->Output(1, rec, {}) == 0) ++fit;
  EXPECT_EQ(fit, PerfEventArray::kMaxBytes / rec.size());
  EXPECT_EQ(m->dropped_events(), 1u);
  std::vector<MapEvent> out;
  EXPECT_EQ(m->DrainEvents(out, 5), 5u);
  EXPECT_EQ(out[0].cpu, 1u);
  EXPECT_EQ(out[0].data, rec);
  EXPECT_EQ(perf->Output(0, rec, {}), 0) << "draining makes room";
}

TEST(RedirectMaps, EmptyEntriesAndDeletes) {
  auto xsk = Make({.type = kMapXskmap, .key_size = 4, .value_size = 4, .max_entries = 4});
  uint32_t k = 1, queue = 0;
  EXPECT_EQ(xsk->Lookup(&k, 0), nullptr);
  EXPECT_EQ(xsk->Update(&k, &queue, kUpdateAny, 0), 0);
  EXPECT_NE(xsk->Lookup(&k, 0), nullptr) << "queue 0 is a bound socket";
  EXPECT_EQ(xsk->Delete(&k), 0);
  EXPECT_EQ(xsk->Lookup(&k, 0), nullptr);
  auto cpus = Make({.type = kMapCpumap, .key_size = 4, .value_size = 8, .max_entries = 4});
  uint64_t qsize = 0;
  EXPECT_EQ(cpus->Update(&k, &qsize, kUpdateAny, 0), 0);
  EXPECT_EQ(cpus->Lookup(&k, 0), nullptr) << "queue size 0 is no CPU";
  qsize = 192;
  EXPECT_EQ(cpus->Update(&k, &qsize, kUpdateAny, 0), 0);
  EXPECT_NE(cpus->Lookup(&k, 0), nullptr);
  EXPECT_FALSE(Map::Create({.type = kMapXskmap, .key_size = 4, .value_size = 8, .max_entries = 1}));
  auto hash = Make({.type = kMapDevmapHash, .key_size = 4, .value_size = 4, .max_entries = 2});
  uint32_t ifindex = 4;
  EXPECT_EQ(hash->Update(&k, &ifindex, kUpdateAny, 0), 0);
  ASSERT_NE(hash->Lookup(&k, 0), nullptr);
  EXPECT_EQ(hash->Delete(&k), 0);
  EXPECT_EQ(hash->Lookup(&k, 0), nullptr);
}

}  // namespace
}  // namespace vigil::ebpf

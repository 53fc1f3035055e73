// Floods at test scale (the 5M-SYN version is in bench/flow_bench.cc): spoofed SYNs from random
// sources and out-of-order segments that never fill. The table and the buffers must stay inside
// their caps, count what they evicted or dropped, and keep working.
#include <gtest/gtest.h>

#include <random>

#include "flow/flow_table.h"
#include "flow/tcp_tracker.h"
#include "reassembly/tcp_reassembler.h"

namespace vigil::reassembly {
namespace {

TEST(FloodTest, SpoofedSynFloodStaysWithinTheTableCap) {
  auto table = std::move(*flow::FlowTable::Create({.max_flows = 10'000}));
  auto reasm = std::move(*TcpReassembler::Create({}));
  table->SetReleaseHook(&TcpReassembler::OnRelease, reasm.get());
  flow::TcpTracker tracker;
  std::mt19937 rng(1);
  const base::IpAddress server = base::IpAddress::V4(std::array<uint8_t, 4>{10, 0, 0, 2}.data());
  for (int i = 0; i < 200'000; ++i) {
    const uint32_t a = rng();
    const flow::KeyedPacket k =
        flow::MakeKey(base::IpAddress::V4(reinterpret_cast<const uint8_t*>(&a)), uint16_t(rng()),
                      server, 80, packet::kProtoTcp);
    flow::Lookup l = table->FindOrCreate(k, int64_t(i) * 1000, 60);
    flow::TcpSegment syn{.flags = packet::kTcpSyn, .seq = uint32_t(rng())};
    (void)tracker.Update(*l.flow, l.dir, syn);
    ASSERT_LE(table->size(), 10'000u);
    if (i % 32 == 0) table->Expire(int64_t(i) * 1000, 64);
  }
  EXPECT_EQ(table->size(), 10'000u);
  EXPECT_GE(table->stats().evicted, 190'000u - 10'000u);
  // A real client still gets tracked after the flood.
  const flow::KeyedPacket good = flow::MakeKey(server, 80, server, 8080, packet::kProtoTcp);
  EXPECT_TRUE(table->FindOrCreate(good, 1'000'000'000, 60).created);
  EXPECT_NE(table->Find(good), nullptr);
}

TEST(FloodTest, OutOfOrderFloodStaysWithinTheMemcap) {
  const uint64_t memcap = 4 << 20;
  auto table = std::move(*flow::FlowTable::Create({.max_flows = 2'000}));
  auto reasm = std::move(*TcpReassembler::Create({.max_queued_bytes = 64 << 10, .memcap = memcap}));
  table->SetReleaseHook(&TcpReassembler::OnRelease, reasm.get());
  std::mt19937 rng(2);
  const uint8_t payload[1400] = {};
  const base::IpAddress server = base::IpAddress::V4(std::array<uint8_t, 4>{10, 0, 0, 2}.data());
  const base::IpAddress client = base::IpAddress::V4(std::array<uint8_t, 4>{10, 0, 0, 1}.data());
  for (int i = 0; i < 100'000; ++i) {
    const flow::KeyedPacket k =
        flow::MakeKey(client, uint16_t(1024 + rng() % 3'000), server, 80, packet::kProtoTcp);
    flow::Lookup l = table->FindOrCreate(k, int64_t(i) * 1000, 1400);
    if (l.created) {  // as after a SYN with sequence number 1000
      l.flow->tcp[flow::Index(l.dir)].isn = 1000;
      l.flow->tcp[flow::Index(l.dir)].flags = flow::TcpHalf::kStarted;
    }
    // Always beyond a one-byte hole at the start of the stream: nothing can ever be delivered.
    const uint32_t seq = 1000 + 1 + 1 + (rng() % 1000) * 1400;
    const StreamView v = reasm->Add(*l.flow, l.dir, seq, payload, 1 + rng() % 1400);
    ASSERT_FALSE(v.has_new());
    ASSERT_LE(reasm->memory_used(), memcap);
  }
  const ReassemblyStats& s = reasm->stats();
  EXPECT_GT(s.memcap_drop + s.queue_bytes_cap, 0u);
  EXPECT_GT(table->stats().evicted, 0u);
  // Every buffer is returned when the flows go.
  table.reset();
  EXPECT_EQ(reasm->memory_used(), 0u);
}

}  // namespace
}  // namespace vigil::reassembly

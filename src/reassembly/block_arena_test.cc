#include "reassembly/block_arena.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <map>
#include <random>
#include <vector>

namespace vigil::reassembly {
namespace {

constexpr int kChunkSizes = BlockArena::kSizes;  // one slack chunk per block size

std::unique_ptr<BlockArena> NewArena(uint64_t max_bytes) {
  auto a = BlockArena::Create(max_bytes);
  EXPECT_TRUE(a.has_value());
  return std::move(*a);
}

TEST(BlockArenaTest, ShiftForRoundsUpToAPowerOfTwo) {
  const struct {
    uint64_t bytes;
    int shift;
  } cases[] = {{0, 6},         {1, 6},
               {64, 6},        {65, 7},
               {256, 8},       {257, 9},
               {4096, 12},     {(1u << 21) - 1, 21},
               {1u << 21, 21}, {(1u << 21) + 1, 22}};
  for (const auto& c : cases) EXPECT_EQ(BlockArena::ShiftFor(c.bytes), c.shift) << c.bytes;
}

TEST(BlockArenaTest, BlocksAreDistinctAlignedAndWritable) {
  auto a = NewArena(4 << 20);
  std::vector<std::pair<uint32_t, int>> blocks;
  for (int shift = BlockArena::kMinShift; shift <= 16; ++shift) {
    for (int i = 0; i < 3; ++i) {
      const uint32_t h = a->Allocate(shift);
      ASSERT_NE(h, BlockArena::kNone);
      EXPECT_EQ(a->ShiftOf(h), shift);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(a->Address(h)) % (uintptr_t{1} << shift), 0u);
      std::memset(a->Address(h), shift, size_t{1} << shift);
      blocks.emplace_back(h, shift);
    }
  }
  EXPECT_EQ(a->live_blocks(), blocks.size());
  for (const auto& [h, shift] : blocks) {
    const uint8_t* p = a->Address(h);
    for (size_t i = 0; i < (size_t{1} << shift); ++i) ASSERT_EQ(p[i], shift);
    a->Free(h);
  }
  EXPECT_EQ(a->live_blocks(), 0u);
  EXPECT_EQ(a->Allocate(BlockArena::kMaxShift + 1), BlockArena::kNone);
  EXPECT_EQ(a->Allocate(BlockArena::kMinShift - 1), BlockArena::kNone);
}

// How many of the 4 KiB pages of [p, p + bytes) are resident.
size_t ResidentPages(const uint8_t* p, size_t bytes) {
  std::vector<unsigned char> v(bytes / 4096);
  EXPECT_EQ(mincore(const_cast<uint8_t*>(p), bytes, v.data()), 0);
  size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

TEST(BlockArenaTest, PrefaultMakesChunksResidentAndAllocationUsesThemFirst) {
  auto a = NewArena(8 << 20);                        // 4 chunks + one per block size
  EXPECT_EQ(a->Prefault(5 << 20), size_t{4} << 20);  // whole chunks only
  EXPECT_EQ(a->touched_bytes(), size_t{4} << 20);
  const uint32_t small = a->Allocate(BlockArena::kMinShift);
  const uint32_t big = a->Allocate(12);
  ASSERT_NE(small, BlockArena::kNone);
  ASSERT_NE(big, BlockArena::kNone);
  // Both sizes were served from the two resident chunks: nothing new was touched.
  EXPECT_EQ(a->touched_bytes(), size_t{4} << 20);
  const uint8_t* chunk_of_small = a->Address(small);
  EXPECT_EQ(ResidentPages(chunk_of_small, BlockArena::kChunkBytes), BlockArena::kChunkBytes / 4096);
  // A third size needs a chunk never touched before.
  ASSERT_NE(a->Allocate(14), BlockArena::kNone);
  EXPECT_EQ(a->touched_bytes(), size_t{6} << 20);
  // Prefault stops at the arena's last chunk.
  EXPECT_EQ(a->Prefault(uint64_t{1} << 40),
            (4 + size_t(kChunkSizes) - 3) * BlockArena::kChunkBytes);
  EXPECT_EQ(a->touched_bytes(), a->capacity_bytes());
}

TEST(BlockArenaTest, ExhaustionIsCountedAndFreeingMakesRoomAgain) {
  // 1 byte asked: one chunk plus one per block size.
  auto a = NewArena(1);
  const size_t chunks = 1 + kChunkSizes;
  EXPECT_EQ(a->capacity_bytes(), chunks * BlockArena::kChunkBytes);
  std::vector<uint32_t> whole;
  for (size_t i = 0; i < chunks; ++i) {
    whole.push_back(a->Allocate(BlockArena::kMaxShift));
    ASSERT_NE(whole.back(), BlockArena::kNone);
  }
  EXPECT_EQ(a->Allocate(BlockArena::kMaxShift), BlockArena::kNone);
  EXPECT_EQ(a->Allocate(BlockArena::kMinShift), BlockArena::kNone);
  EXPECT_EQ(a->exhausted(), 2u);
  EXPECT_EQ(a->touched_bytes(), a->capacity_bytes());
  a->Free(whole.back());
  whole.pop_back();
  const uint32_t again = a->Allocate(BlockArena::kMaxShift);
  EXPECT_NE(again, BlockArena::kNone);
  whole.push_back(again);
  // Freed chunks serve any size: all of them as 1 MiB blocks, two per chunk.
  for (uint32_t h : whole) a->Free(h);
  EXPECT_EQ(a->chunk_bytes_in_use(), BlockArena::kChunkBytes);  // one kept for its size
  size_t halves = 0;
  while (a->Allocate(BlockArena::kMaxShift - 1) != BlockArena::kNone) ++halves;
  EXPECT_EQ(halves, 2 * chunks);
  EXPECT_EQ(a->touched_bytes(), a->capacity_bytes());  // nothing beyond the reservation
}

TEST(BlockArenaTest, FragmentationBetweenSizesExhaustsBeforeTheByteCount) {
  auto a = NewArena(1);
  const size_t chunks = 1 + kChunkSizes;
  // One 64-byte block pins a chunk; whole-chunk blocks take the rest.
  ASSERT_NE(a->Allocate(BlockArena::kMinShift), BlockArena::kNone);
  for (size_t i = 0; i + 1 < chunks; ++i) {
    ASSERT_NE(a->Allocate(BlockArena::kMaxShift), BlockArena::kNone);
  }
  // Almost all of the first chunk is free, but only for 64-byte blocks.
  EXPECT_EQ(a->Allocate(BlockArena::kMaxShift - 1), BlockArena::kNone);
  EXPECT_EQ(a->exhausted(), 1u);
  EXPECT_NE(a->Allocate(BlockArena::kMinShift), BlockArena::kNone);
}

TEST(BlockArenaTest, FreedSlotsAreReusedLowestFirst) {
  auto a = NewArena(4 << 20);
  std::vector<uint32_t> hs;
  for (int i = 0; i < 100; ++i) hs.push_back(a->Allocate(8));
  a->Free(hs[70]);
  a->Free(hs[3]);
  EXPECT_EQ(a->Allocate(8), hs[3]);
  EXPECT_EQ(a->Allocate(8), hs[70]);
  EXPECT_EQ(a->touched_bytes(), BlockArena::kChunkBytes);
}

// Differential: random allocations and frees of random sizes against a model; every live block
// keeps the pattern written into it (no two live blocks overlap) and the counts agree.
TEST(BlockArenaTest, RandomAllocateFreeKeepsBlocksDisjoint) {
  auto a = NewArena(64 << 20);
  std::mt19937 rng(7);
  std::map<uint32_t, std::pair<int, uint8_t>> live;  // handle -> shift, fill byte
  uint64_t live_bytes = 0;
  for (int step = 0; step < 20'000; ++step) {
    const int shift = BlockArena::kMinShift + int(rng() % 12);
    // Up to half the arena's byte budget live, so that fragmentation cannot exhaust it.
    if (live.empty() || (rng() % 2 == 0 && live_bytes + (1u << shift) <= (32u << 20))) {
      const uint32_t h = a->Allocate(shift);
      ASSERT_NE(h, BlockArena::kNone);
      ASSERT_EQ(live.count(h), 0u);
      const uint8_t fill = uint8_t(rng());
      std::memset(a->Address(h), fill, size_t{1} << shift);
      live[h] = {shift, fill};
      live_bytes += 1u << shift;
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      const auto [shift, fill] = it->second;
      const uint8_t* p = a->Address(it->first);
      for (size_t i = 0; i < (size_t{1} << shift); i += 61) ASSERT_EQ(p[i], fill);
      ASSERT_EQ(p[(size_t{1} << shift) - 1], fill);
      a->Free(it->first);
      live_bytes -= 1u << shift;
      live.erase(it);
    }
    ASSERT_EQ(a->live_blocks(), live.size());
  }
  for (const auto& [h, v] : live) a->Free(h);
  EXPECT_EQ(a->live_blocks(), 0u);
  EXPECT_EQ(a->exhausted(), 0u);
  EXPECT_LE(a->chunk_bytes_in_use(), kChunkSizes * BlockArena::kChunkBytes);
}

TEST(BlockArenaTest, RefusesMoreThanHandlesCanName) {
  EXPECT_FALSE(BlockArena::Create(uint64_t{1} << 40).has_value());
}

}  // namespace
}  // namespace vigil::reassembly

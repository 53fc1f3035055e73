// BlockArena: the memory behind TCP reassembly's per-direction buffers — power-of-two blocks
// (64 bytes to 2 MiB) carved from 2 MiB chunks of one reserved, huge-page-advised address range,
// named by 32-bit handles so that a flow can hold a block's handle, its fill level and its size in
// the same cache line as the rest of its stream state.
//
//   auto arena = reassembly::BlockArena::Create(256 << 20);   // Result<unique_ptr>
//   uint32_t h = (*arena)->Allocate(9);                       // a 512-byte block, or kNone
//   if (h != reassembly::BlockArena::kNone) std::memcpy((*arena)->Address(h), data, len);
//   (*arena)->Free(h);
//
// Why not malloc: with a million flows a history block is touched once per packet at a random
// address. malloc's blocks sit on 4 KiB pages (a TLB — translation lookaside buffer — miss and a
// page walk per packet on top of the data miss), carry per-call bookkeeping, and a flow's block
// was reached through a separately allocated header (two dependent misses). Here a block's
// address is `base + handle * 64`: computable from the flow's stream anchor alone, so it can be
// prefetched in the same pass that brings the flow in.
//
// Layout: each 2 MiB chunk serves one block size at a time. A chunk keeps a bitmap of its free
// slots outside the data (allocation never reads the block it hands out, so it causes no cache
// miss of its own), a count of live blocks and a place in its size's list of chunks with free
// slots. Allocation takes the lowest free slot of the first such chunk, so blocks stay packed;
// a chunk whose last block is freed goes back to a common pool and can serve any size (one empty
// chunk per size is kept to avoid thrashing). Cost: Allocate and Free are O(1) amortized, touch
// only metadata (a few bytes per chunk) and never call the system allocator on the packet path.
//
// Bounds: the arena never holds more than `max_bytes` rounded up to whole chunks plus one chunk
// per block size (slack for partly filled chunks), reserved up front but touched only when used.
// Allocate returns kNone when no chunk is left (`exhausted()` counts it): blocks of different
// sizes cannot share a chunk, so a badly fragmented arena can run out before its owner's byte
// count reaches `max_bytes`. Resident memory never exceeds the chunks ever used
// (touched_bytes()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/result.h"

namespace vigil::reassembly {

class BlockArena {
 public:
  static constexpr int kMinShift = 6;     // 64-byte blocks; also the handle's granule
  static constexpr int kMaxShift = 21;    // 2 MiB blocks: one per chunk
  static constexpr int kChunkShift = 21;  // 2 MiB chunks, one huge page each
  static constexpr size_t kChunkBytes = size_t{1} << kChunkShift;
  static constexpr int kSizes = kMaxShift - kMinShift + 1;
  static constexpr uint32_t kNone = 0;

  // Reserves room for `max_bytes` (at least one chunk) plus one chunk per block size. Fails when
  // the address space cannot be reserved or would need handles beyond 32 bits (256 GiB).
  [[nodiscard]] static base::Result<std::unique_ptr<BlockArena>> Create(uint64_t max_bytes);
  ~BlockArena();
  BlockArena(const BlockArena&) = delete;
  BlockArena& operator=(const BlockArena&) = delete;

  // Makes up to `bytes` (whole chunks) of never-used chunks resident now and pools them, so the
  // first blocks handed out cost no page fault on the packet path (as Suricata preallocates its
  // stream segments). Returns the bytes made resident.
  size_t Prefault(uint64_t bytes);

  // A block of 2^shift bytes (kMinShift <= shift <= kMaxShift), aligned to its size up to 2 MiB;
  // its contents are unspecified. kNone when the arena is exhausted.
  [[nodiscard]] uint32_t Allocate(int shift);
  // Returns a block from Allocate (kNone is ignored).
  void Free(uint32_t handle);

  // The block's first byte; valid for 2^shift bytes until Free.
  [[nodiscard]] uint8_t* Address(uint32_t handle) const {
    return reinterpret_cast<uint8_t*>(origin_ + (uintptr_t{handle} << kMinShift));
  }
  // The shift the block was allocated with.
  [[nodiscard]] int ShiftOf(uint32_t handle) const { return chunks_[ChunkOf(handle)].shift; }

  // The smallest shift whose blocks hold `bytes` (at least kMinShift); kMaxShift + 1 when none
  // does.
  [[nodiscard]] static int ShiftFor(uint64_t bytes);

  [[nodiscard]] uint64_t exhausted() const { return exhausted_; }
  [[nodiscard]] size_t live_blocks() const { return live_blocks_; }
  [[nodiscard]] size_t capacity_bytes() const { return chunk_count_ * kChunkBytes; }
  // Bytes of chunks ever handed out (the most the arena can have made resident).
  [[nodiscard]] size_t touched_bytes() const { return chunks_touched_ * kChunkBytes; }
  // Bytes of chunks currently serving some block size.
  [[nodiscard]] size_t chunk_bytes_in_use() const { return chunks_in_use_ * kChunkBytes; }

 private:
  struct Chunk {
    std::vector<uint64_t> free_bits;  // bit i set: slot i is free
    uint32_t live = 0;
    uint32_t slots = 0;
    uint32_t cursor = 0;  // no free slot in words below this one
    int32_t prev = -1;    // neighbours in its size's list of chunks with free slots
    int32_t next = -1;
    uint8_t shift = 0;  // 0: in the pool
    bool listed = false;
  };

  BlockArena() = default;
  [[nodiscard]] static uint32_t ChunkOf(uint32_t handle) {
    return (handle - 1) >> (kChunkShift - kMinShift);
  }
  // A chunk from the pool (or a never-used one, or an empty chunk another size keeps), set up for
  // `shift`; -1 when there is none.
  int32_t TakeChunk(int shift);
  void Link(int32_t c);
  void Unlink(int32_t c);

  uint8_t* map_ = nullptr;  // the reservation, as mapped
  size_t map_bytes_ = 0;
  uintptr_t origin_ = 0;  // address of handle 0: handle h is at origin_ + h * 64
  std::vector<Chunk> chunks_;
  size_t chunk_count_ = 0;
  size_t chunks_touched_ = 0;  // chunks [0, chunks_touched_) have been handed out at least once
  size_t chunks_in_use_ = 0;
  std::vector<int32_t> pool_;  // empty chunks, ready for any size
  int32_t partial_[kSizes];    // per size: first chunk with a free slot, -1 if none
  uint64_t exhausted_ = 0;
  size_t live_blocks_ = 0;
};

}  // namespace vigil::reassembly

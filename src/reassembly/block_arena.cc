#include "reassembly/block_arena.h"

#include <sys/mman.h>

#include <bit>
#include <string>

namespace vigil::reassembly {
namespace {

constexpr size_t kMaxChunks =
    (size_t{1} << (32 - (BlockArena::kChunkShift - BlockArena::kMinShift))) -
    1;  // handles stay below 2^32

}  // namespace

base::Result<std::unique_ptr<BlockArena>> BlockArena::Create(uint64_t max_bytes) {
  const uint64_t chunks = (std::max<uint64_t>(max_bytes, 1) + kChunkBytes - 1) / kChunkBytes;
  if (chunks + kSizes > kMaxChunks) {
    return base::MakeError("block arena: at most " + std::to_string(kMaxChunks - kSizes) +
                           " chunks of 2 MiB can be addressed");
  }
  std::unique_ptr<BlockArena> a(new BlockArena());
  a->chunk_count_ = size_t(chunks) + kSizes;
  // One extra chunk of address space so that the start can be aligned to a huge page.
  a->map_bytes_ = (a->chunk_count_ + 1) * kChunkBytes;
  void* p = mmap(nullptr, a->map_bytes_, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return base::MakeError("block arena: cannot reserve " + std::to_string(a->map_bytes_) +
                           " bytes");
  }
  a->map_ = static_cast<uint8_t*>(p);
  const uintptr_t start =
      (reinterpret_cast<uintptr_t>(p) + kChunkBytes - 1) & ~uintptr_t{kChunkBytes - 1};
  // Blocks are read at random, one flow after another: huge pages spare a TLB miss per access.
  // Advisory only; ignored where transparent huge pages are off.
  madvise(reinterpret_cast<void*>(start), a->chunk_count_ * kChunkBytes, MADV_HUGEPAGE);
  a->origin_ = start - (uintptr_t{1} << kMinShift);
  a->chunks_.resize(a->chunk_count_);
  for (int32_t& head : a->partial_) head = -1;
  return a;
}

BlockArena::~BlockArena() {
  if (map_ != nullptr) munmap(map_, map_bytes_);
}

size_t BlockArena::Prefault(uint64_t bytes) {
  size_t made = 0;
  while (made + kChunkBytes <= bytes && chunks_touched_ < chunk_count_) {
    const int32_t c = int32_t(chunks_touched_++);
    volatile uint8_t* at = Address((uint32_t(c) << (kChunkShift - kMinShift)) + 1);  // its start
    // One write per 4 KiB page: a whole huge page where the kernel gives one, every page if not.
    for (size_t off = 0; off < kChunkBytes; off += 4096) at[off] = 0;
    pool_.push_back(c);
    made += kChunkBytes;
  }
  return made;
}

int BlockArena::ShiftFor(uint64_t bytes) {
  if (bytes <= (uint64_t{1} << kMinShift)) return kMinShift;
  if (bytes > (uint64_t{1} << kMaxShift)) return kMaxShift + 1;
  return std::bit_width(bytes - 1);
}

void BlockArena::Link(int32_t c) {
  Chunk& ch = chunks_[c];
  int32_t& head = partial_[ch.shift - kMinShift];
  ch.prev = -1;
  ch.next = head;
  if (head >= 0) chunks_[head].prev = c;
  head = c;
  ch.listed = true;
}

void BlockArena::Unlink(int32_t c) {
  Chunk& ch = chunks_[c];
  if (ch.prev >= 0) {
    chunks_[ch.prev].next = ch.next;
  } else {
    partial_[ch.shift - kMinShift] = ch.next;
  }
  if (ch.next >= 0) chunks_[ch.next].prev = ch.prev;
  ch.prev = ch.next = -1;
  ch.listed = false;
}

int32_t BlockArena::TakeChunk(int shift) {
  int32_t c = -1;
  if (!pool_.empty()) {
    c = pool_.back();
    pool_.pop_back();
  } else if (chunks_touched_ < chunk_count_) {
    c = int32_t(chunks_touched_++);
  } else {
    // Another size may be keeping an empty chunk in reserve.
    for (int s = 0; s < kSizes && c < 0; ++s) {
      for (int32_t i = partial_[s]; i >= 0; i = chunks_[i].next) {
        if (chunks_[i].live == 0) {
          c = i;
          Unlink(i);
          chunks_[i].shift = 0;
          --chunks_in_use_;
          break;
        }
      }
    }
    if (c < 0) return -1;
  }
  Chunk& ch = chunks_[c];
  ch.shift = uint8_t(shift);
  ch.slots = uint32_t(kChunkBytes >> shift);
  ch.live = 0;
  ch.cursor = 0;
  const size_t words = (ch.slots + 63) / 64;
  ch.free_bits.assign(words, ~uint64_t{0});
  if (ch.slots % 64 != 0) ch.free_bits.back() = (uint64_t{1} << (ch.slots % 64)) - 1;
  ++chunks_in_use_;
  Link(c);
  return c;
}

uint32_t BlockArena::Allocate(int shift) {
  if (shift < kMinShift || shift > kMaxShift) return kNone;
  int32_t c = partial_[shift - kMinShift];
  if (c < 0) c = TakeChunk(shift);
  if (c < 0) {
    ++exhausted_;
    return kNone;
  }
  Chunk& ch = chunks_[c];
  while (ch.free_bits[ch.cursor] == 0) ++ch.cursor;  // a listed chunk has a free slot
  uint64_t& word = ch.free_bits[ch.cursor];
  const uint32_t slot = ch.cursor * 64 + uint32_t(std::countr_zero(word));
  word &= word - 1;
  if (++ch.live == ch.slots) Unlink(c);
  ++live_blocks_;
  const uint64_t offset = (uint64_t(c) << kChunkShift) + (uint64_t(slot) << shift);
  return uint32_t(offset >> kMinShift) + 1;
}

void BlockArena::Free(uint32_t handle) {
  if (handle == kNone) return;
  const int32_t c = int32_t(ChunkOf(handle));
  Chunk& ch = chunks_[c];
  const uint64_t in_chunk = (uint64_t(handle - 1) << kMinShift) & (kChunkBytes - 1);
  const uint32_t slot = uint32_t(in_chunk >> ch.shift);
  ch.free_bits[slot / 64] |= uint64_t{1} << (slot % 64);
  if (slot / 64 < ch.cursor) ch.cursor = slot / 64;
  --live_blocks_;
  if (!ch.listed) Link(c);  // it was full
  if (--ch.live != 0) return;
  // Empty: keep it if it is its size's only chunk with room (the next allocation would take a
  // chunk again at once), else give it to the pool.
  const int32_t head = partial_[ch.shift - kMinShift];
  if (head == c && ch.next < 0) return;
  Unlink(c);
  ch.shift = 0;
  ch.free_bits.clear();
  --chunks_in_use_;
  pool_.push_back(c);
}

}  // namespace vigil::reassembly

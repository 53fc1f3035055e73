#include "reassembly/tcp_reassembler.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>

#include "flow/tcp_tracker.h"

namespace vigil::reassembly {
namespace {

constexpr uint32_t kMinBlock = 256;
constexpr int kQueueShift = BlockArena::kMinShift;
constexpr uint64_t kQueueBytes = uint64_t{1} << kQueueShift;
// The arena cannot address more (32-bit handles of 64-byte granules); a larger memcap is only
// reachable through queued pieces, which live on the heap.
constexpr uint64_t kMaxArenaBytes = uint64_t{200} << 30;

}  // namespace

// The out-of-order side of a direction, in the arena; while it exists the anchor's buffer names it
// and it names the history block.
struct TcpReassembler::QueueState {
  SegmentList queue;  // out-of-order data, all at offsets >= delivered
  uint32_t block = BlockArena::kNone;
};

base::Result<std::unique_ptr<TcpReassembler>> TcpReassembler::Create(ReassemblyConfig config) {
  if (config.max_queued_bytes == 0 || config.memcap == 0) {
    return base::MakeError("reassembly: max_queued_bytes and memcap must be positive");
  }
  if (config.history_bytes > kMaxHistoryBytes) {
    return base::MakeError("reassembly: history_bytes must be at most " +
                           std::to_string(kMaxHistoryBytes));
  }
  auto arena = BlockArena::Create(std::min(config.memcap, kMaxArenaBytes));
  if (!arena) return arena.error();
  (*arena)->Prefault(std::min(config.prealloc_bytes, config.memcap));
  std::unique_ptr<TcpReassembler> r(new TcpReassembler(std::move(config)));
  r->arena_ = std::move(*arena);
  return r;
}

TcpReassembler::TcpReassembler(ReassemblyConfig config) : config_(std::move(config)) {
  // The general path treats a block as oversized only above 16 * max(history, kMinBlock) bytes.
  append_shift_limit_ =
      uint8_t(std::bit_width(16 * std::max(config_.history_bytes, kMinBlock)) - 1);
}

TcpReassembler::~TcpReassembler() = default;

TcpReassembler::QueueState* TcpReassembler::Queue(const flow::StreamAnchor& a) const {
  return std::launder(reinterpret_cast<QueueState*>(arena_->Address(a.buffer)));
}

uint32_t& TcpReassembler::HistoryBlock(flow::StreamAnchor& a) const {
  return (a.flags & kQueued) ? Queue(a)->block : a.buffer;
}

void TcpReassembler::PrefetchHistory(const flow::Flow& flow, flow::Direction dir) const {
  const flow::StreamAnchor& a = flow.stream[flow::Index(dir)];
  if (!(a.flags & kQueued)) return;
  const uint32_t block = Queue(a)->block;
  if (block != BlockArena::kNone) base::PrefetchWrite(arena_->Address(block) + a.used);
}

TcpReassembler::QueueState* TcpReassembler::AddQueue(flow::StreamAnchor& a) {
  static_assert(sizeof(QueueState) <= kQueueBytes && alignof(QueueState) <= kQueueBytes);
  const uint32_t h = arena_->Allocate(kQueueShift);
  if (h == BlockArena::kNone) return nullptr;
  auto* q = new (arena_->Address(h)) QueueState();
  q->block = a.buffer;
  a.buffer = h;
  a.flags |= kQueued;
  memory_used_ += kQueueBytes;
  return q;
}

void TcpReassembler::DropQueue(flow::StreamAnchor& a) {
  QueueState* q = Queue(a);
  memory_used_ -= q->queue.memory() + kQueueBytes;
  const uint32_t block = q->block;
  q->~QueueState();
  arena_->Free(a.buffer);
  a.buffer = block;
  a.flags &= uint8_t(~kQueued);
}

void TcpReassembler::DropHistory(flow::StreamAnchor& a, uint32_t& block) {
  if (block != BlockArena::kNone) {
    memory_used_ -= uint64_t{1} << a.shift;
    arena_->Free(block);
    block = BlockArena::kNone;
  }
  a.used = 0;
}

void TcpReassembler::FreeHalf(flow::StreamAnchor& a) {
  if (a.flags & kQueued) DropQueue(a);
  DropHistory(a, a.buffer);
}

void TcpReassembler::Reset(flow::Flow& flow) {
  for (flow::StreamAnchor& a : flow.stream) {
    FreeHalf(a);
    a = flow::StreamAnchor{};
  }
}

void TcpReassembler::OnRelease(void* self, flow::Flow& flow, flow::ReleaseReason) {
  static_cast<TcpReassembler*>(self)->Reset(flow);
}

void TcpReassembler::Init(flow::Flow& flow, flow::Direction dir, uint32_t seq) {
  flow::StreamAnchor& a = flow.stream[flow::Index(dir)];
  const flow::TcpHalf& t = flow.tcp[flow::Index(dir)];
  a.next_seq = (t.flags & flow::TcpHalf::kStarted) ? t.isn + 1 : seq;
  a.delivered = 0;
  // The receiver of `dir` is the server for kToServer data.
  const bool receiver_is_lo = (dir == flow::Direction::kToServer) != flow.client_is_lo();
  base::IpAddress receiver;
  receiver.bytes = receiver_is_lo ? flow.key.addr_lo : flow.key.addr_hi;
  receiver.family = flow.key.family;
  a.policy = static_cast<uint8_t>(config_.policies.Lookup(receiver));
  a.flags |= kSeqKnown;
}

StreamView TcpReassembler::AddSlow(flow::Flow& flow, flow::Direction dir, uint32_t seq,
                                   const uint8_t* payload, uint32_t len) {
  if (len == 0 || payload == nullptr) return {};
  flow::StreamAnchor& a = flow.stream[flow::Index(dir)];
  if (!(a.flags & kSeqKnown)) Init(flow, dir, seq);
  ++stats_.segments;

  int64_t rel = int32_t(seq - a.next_seq);
  if (rel < 0) {
    // Bytes the stream already delivered: final. Compare them with the history we still hold.
    const uint32_t old = uint32_t(std::min<int64_t>(len, -rel));
    const uint32_t block = HistoryBlock(a);
    bool changed = false;
    if (block != BlockArena::kNone && a.used > 0) {
      const int64_t hist_start = int64_t(a.delivered) - a.used;
      const int64_t o1 = int64_t(a.delivered) + rel;
      const int64_t lo = std::max(o1, hist_start);
      const int64_t hi = o1 + old;
      if (lo < hi) {
        changed = std::memcmp(arena_->Address(block) + (lo - hist_start), payload + (lo - o1),
                              size_t(hi - lo)) != 0;
      }
    }
    ++(changed ? stats_.retransmit_changed : stats_.retransmit);
    payload += old;
    len -= old;
    if (len == 0) return {};
    rel = 0;
  }
  const uint64_t start = a.delivered + uint64_t(rel);
  QueueState* q = (a.flags & kQueued) ? Queue(a) : nullptr;
  if (rel == 0 && (q == nullptr || start + len <= q->queue.front().start)) {
    ++stats_.fast_path;
    return Deliver(a, payload, len);
  }

  ++stats_.slow_path;
  const uint64_t queued_bytes = q != nullptr ? q->queue.bytes() : 0;
  const size_t queued_count = q != nullptr ? q->queue.count() : 0;
  if (queued_bytes + len > config_.max_queued_bytes) {
    ++stats_.queue_bytes_cap;
    return {};
  }
  if (queued_count >= config_.max_queued_segments) {
    ++stats_.queue_segments_cap;
    return {};
  }
  const uint64_t cost = q != nullptr ? q->queue.InsertCostBound(start, len)
                                     : len + SegmentList::kPieceOverhead + kQueueBytes;
  if (memory_used_ + cost > config_.memcap) {
    ++stats_.memcap_drop;
    return {};
  }
  if (q == nullptr && (q = AddQueue(a)) == nullptr) {
    ++stats_.memcap_drop;
    ++stats_.arena_full;
    return {};
  }
  const uint64_t before = q->queue.memory();
  const SegmentList::InsertResult r =
      q->queue.Insert(start, payload, len, TcpRules(static_cast<Policy>(a.policy)));
  memory_used_ = memory_used_ + q->queue.memory() - before;
  if (r.overlap_bytes != 0) ++stats_.overlap;
  if (r.conflict_bytes != 0) ++stats_.overlap_conflict;
  if (q->queue.empty()) {
    DropQueue(a);
    return {};
  }
  if (q->queue.front().start == a.delivered) return Deliver(a, nullptr, 0);
  return {};
}

StreamView TcpReassembler::SkipGap(flow::Flow& flow, flow::Direction dir, uint32_t ack) {
  flow::StreamAnchor& a = flow.stream[flow::Index(dir)];
  if (!(a.flags & kSeqKnown) || !(a.flags & kQueued)) return {};
  QueueState* q = Queue(a);
  if (q->queue.empty()) return {};
  const int32_t rel = int32_t(ack - a.next_seq);
  if (rel <= 0) return {};
  const uint64_t front = q->queue.front().start;
  if (front >= a.delivered + uint64_t(rel)) return {};
  // The receiver acknowledged queued bytes: the hole before them is lost to the capture.
  ++stats_.gap_skipped;
  a.next_seq += uint32_t(front - a.delivered);
  a.delivered = front;
  a.used = 0;  // the history no longer precedes the stream
  return Deliver(a, nullptr, 0);
}

void TcpReassembler::RetainHistory(flow::StreamAnchor& a, uint32_t& block, const uint8_t* data,
                                   uint64_t len) {
  const uint64_t keep = std::min<uint64_t>(config_.history_bytes, len);
  const uint64_t cap = block != BlockArena::kNone ? uint64_t{1} << a.shift : 0;
  if (keep > cap) {
    const int shift = BlockArena::ShiftFor(std::max<uint64_t>(keep, kMinBlock));
    const uint64_t bytes = uint64_t{1} << shift;
    const uint32_t h =
        memory_used_ + bytes - cap > config_.memcap ? BlockArena::kNone : arena_->Allocate(shift);
    if (h == BlockArena::kNone) {
      ++stats_.memcap_history;
      if (memory_used_ + bytes - cap <= config_.memcap) ++stats_.arena_full;
      DropHistory(a, block);
      return;
    }
    DropHistory(a, block);
    block = h;
    a.shift = uint8_t(shift);
    memory_used_ += bytes;
  }
  std::memcpy(arena_->Address(block), data + len - keep, keep);
  a.used = uint32_t(keep);
}

StreamView TcpReassembler::Deliver(flow::StreamAnchor& a, const uint8_t* data, uint32_t len) {
  QueueState* q = (a.flags & kQueued) ? Queue(a) : nullptr;
  uint64_t total = len;
  if (q != nullptr) {
    uint64_t pos = a.delivered + len;
    for (const SegmentList::Segment& s : q->queue.segments()) {
      if (s.start != pos) break;
      total += s.len;
      pos = s.end();
    }
  }
  if (total == 0) return {};
  const uint32_t n = config_.history_bytes;
  StreamView view;

  if (n == 0 && total == len) {
    // No history wanted and nothing queued to join: the packet itself is the view.
    view = {data, len, 0, a.delivered};
  } else {
    uint32_t& block = q != nullptr ? q->block : a.buffer;
    uint32_t keep = block != BlockArena::kNone ? std::min(a.used, n) : 0;
    uint8_t* out = nullptr;  // where the new bytes go, right after `keep` bytes of history
    bool too_large = false;  // no block size holds history + new: assemble them in scratch
    if (n > 0) {
      const uint64_t need = keep + total;
      const uint64_t cap = block != BlockArena::kNone ? uint64_t{1} << a.shift : 0;
      const bool oversized = cap > 16 * std::max(n, kMinBlock) && need <= cap / 4;
      if (cap != 0 && a.used + total <= cap && !oversized) {
        out = arena_->Address(block) + a.used;  // room behind the history: append in place
      } else if (cap != 0 && need <= cap / 2 && !oversized) {
        // Compact: at least cap/2 bytes were appended since the last compaction, so moving the
        // kept history (< cap/2) costs O(1) per delivered byte.
        uint8_t* base = arena_->Address(block);
        std::memmove(base, base + a.used - keep, keep);
        a.used = keep;
        out = base + keep;
      } else {
        const uint64_t want = need < n ? need : 2 * need;
        const int shift = BlockArena::ShiftFor(std::max<uint64_t>(want, kMinBlock));
        if (shift > BlockArena::kMaxShift) {
          too_large = true;
        } else if (memory_used_ + (uint64_t{1} << shift) - cap > config_.memcap) {
          ++stats_.memcap_history;
        } else if (const uint32_t h = arena_->Allocate(shift); h == BlockArena::kNone) {
          ++stats_.memcap_history;
          ++stats_.arena_full;
        } else {
          uint8_t* base = arena_->Address(h);
          if (keep > 0) std::memcpy(base, arena_->Address(block) + a.used - keep, keep);
          DropHistory(a, block);
          block = h;
          a.shift = uint8_t(shift);
          a.used = keep;
          memory_used_ += uint64_t{1} << shift;
          out = base + keep;
        }
        if (out == nullptr && !too_large) {
          // Over the memory cap: deliver without history and drop what was kept.
          DropHistory(a, block);
          keep = 0;
        }
      }
    }
    const bool in_block = out != nullptr;
    if (!in_block) {
      scratch_.resize(keep + total);
      if (keep > 0) std::memcpy(scratch_.data(), arena_->Address(block) + a.used - keep, keep);
      out = scratch_.data() + keep;
    }
    uint8_t* w = out;
    if (len > 0) {
      std::memcpy(w, data, len);
      w += len;
    }
    while (w < out + total) {
      const SegmentList::Segment& s = q->queue.front();
      std::memcpy(w, s.data(), s.len);
      w += s.len;
      const uint64_t before = q->queue.memory();
      q->queue.PopFront();
      memory_used_ = memory_used_ - (before - q->queue.memory());
    }
    view = {out - keep, keep + total, keep, a.delivered - keep};
    if (too_large) {
      RetainHistory(a, block, view.data, view.len);
    } else if (in_block) {
      a.used += uint32_t(total);
    }
  }
  a.delivered += total;
  a.next_seq += uint32_t(total);
  stats_.bytes_delivered += total;
  if (q != nullptr && q->queue.empty()) DropQueue(a);
  return view;
}

}  // namespace vigil::reassembly

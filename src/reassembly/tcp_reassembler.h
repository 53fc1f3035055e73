// TcpReassembler: turns each direction of a TCP flow into the ordered byte stream the receiver
// sees, resolving overlaps the way the receiver's operating system would, and hands a detector
// each newly available stretch together with the bytes just before it.
//
//   auto r = reassembly::TcpReassembler::Create({.history_bytes = 2048});
//   table.SetReleaseHook(&reassembly::TcpReassembler::OnRelease, r->get());
//   ...
//   if (verdict.restarted) (*r)->Reset(*l.flow);
//   if (verdict.payload_ok) {
//     reassembly::StreamView v = (*r)->Add(*l.flow, l.dir, verdict.payload_seq, p.payload,
//                                          p.payload_len);
//     if (v.has_new()) detector.ScanStream(v);   // count a match only if it ends >= new_from
//   }
//   if (p.tcp_flags & packet::kTcpAck)           // the peer acknowledged past a hole
//     Consume((*r)->SkipGap(*l.flow, flow::Opposite(l.dir), p.tcp_ack));
//
// StreamView: data[0, len) is contiguous stream, data[0] at `stream_offset` (bytes since the
// start of the stream). data[0, new_from) is retained history — at most `history_bytes` bytes
// that an earlier view already showed — and data[new_from, len) is new. A detector that counts a
// match only when it ends at or after new_from finds every pattern of up to history_bytes + 1
// bytes exactly once, even when the pattern spans segments. The view stays valid until the next
// call on this reassembler.
//
// Paths: an in-order segment with nothing queued after it (the fast path) is appended to the
// direction's history block: O(segment) copy, no search, no allocation in steady state (the
// block grows by doubling to about 4 x history_bytes and is compacted when full, which is
// amortized O(1) per byte). With history_bytes = 0 the view points at the packet itself: no copy.
// Any other segment (out of order, or overlapping queued data) takes the slow path: it is
// resolved against the queued segments by the receiver's overlap policy (see overlap.h; chosen
// per destination network by `policies`, cached per flow direction) and queued; whatever became
// contiguous is then delivered. Bytes already delivered are final; a retransmission of them is
// compared with the retained history and counted as stream.retransmit_changed when it differs.
//
// Caps, each with a counter when hit: per direction at most max_queued_bytes queued and
// max_queued_segments pieces (stream.queue_bytes_cap / stream.queue_segments_cap: the arriving
// segment is dropped); all buffers of all flows together at most memcap bytes
// (stream.memcap_drop: the arriving out-of-order segment is dropped; stream.memcap_history: the
// in-order bytes are delivered without history). Dropping the newcomer keeps established
// buffers intact, so an out-of-order flood cannot push other flows' data out. Buffers are freed
// when the flow ends (OnRelease) or restarts (Reset).
//
// Memory: history blocks and the small per-direction queue headers come from a BlockArena
// (block_arena.h) of about memcap bytes, reserved at Create and touched only as used; queued
// segment bytes are heap pieces (overlap.h). memory_used() counts block sizes, queue headers
// and queued pieces. When the arena itself runs out before memcap (fragmented between block
// sizes), the segment is treated as over the memory cap and stream.arena_full is counted too.
//
// What it keeps: per flow direction, Flow::stream[d] (24 bytes: the block's handle, fill level
// and size, the stream offset and sequence number) and, only once it holds data, a history
// block; a direction with out-of-order data also has a 64-byte queue header.
//
// Cost per in-order packet: the flow's stream line (already read with the flow), one or two
// cache lines of the history block at the write position, and the copy. For a batch, call
// PrefetchState for every packet first so those misses overlap; the block's address comes from
// the flow's line alone (no pointer chase).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "base/prefetch.h"
#include "base/result.h"
#include "flow/flow.h"
#include "flow/flow_table.h"
#include "reassembly/block_arena.h"
#include "reassembly/overlap.h"

namespace vigil::reassembly {

struct StreamView {
  const uint8_t* data = nullptr;
  size_t len = 0;
  size_t new_from = 0;         // bytes before this were shown in an earlier view
  uint64_t stream_offset = 0;  // stream offset of data[0]
  [[nodiscard]] bool has_new() const { return len > new_from; }
};

struct ReassemblyConfig {
  uint32_t history_bytes = 2048;         // N: bytes kept before each new stretch
  uint32_t max_queued_bytes = 1u << 20;  // out-of-order bytes per flow direction
  uint32_t max_queued_segments = 1024;   // out-of-order pieces per flow direction
  uint64_t memcap = uint64_t{1} << 30;   // all history blocks and queued data
  // Arena memory made resident at Create (BlockArena::Prefault, at most memcap), so the first
  // flows' buffers take no page faults on the packet path; engine::WorkerConfig sets 32 MiB.
  uint64_t prealloc_bytes = 0;
  PolicyTable policies{Policy::kBsd};  // by the receiving host's address
};

#define VIGIL_STREAM_COUNTERS(X)                     \
  X(segments, "stream.segments")                     \
  X(fast_path, "stream.fast_path")                   \
  X(slow_path, "stream.slow_path")                   \
  X(bytes_delivered, "stream.bytes_delivered")       \
  X(retransmit, "stream.retransmit")                 \
  X(retransmit_changed, "stream.retransmit_changed") \
  X(overlap, "stream.overlap")                       \
  X(overlap_conflict, "stream.overlap_conflict")     \
  X(queue_bytes_cap, "stream.queue_bytes_cap")       \
  X(queue_segments_cap, "stream.queue_segments_cap") \
  X(memcap_drop, "stream.memcap_drop")               \
  X(memcap_history, "stream.memcap_history")         \
  X(gap_skipped, "stream.gap_skipped")               \
  X(arena_full, "stream.arena_full")

struct ReassemblyStats {
#define VIGIL_STREAM_FIELD(field, name) uint64_t field = 0;
  VIGIL_STREAM_COUNTERS(VIGIL_STREAM_FIELD)
#undef VIGIL_STREAM_FIELD
  template <class F>
  void ForEach(F&& f) const {
#define VIGIL_STREAM_VISIT(field, name) f(std::string_view(name), field);
    VIGIL_STREAM_COUNTERS(VIGIL_STREAM_VISIT)
#undef VIGIL_STREAM_VISIT
  }
};

class TcpReassembler {
 public:
  static constexpr uint32_t kMaxHistoryBytes = 1u << 20;

  // Fails when max_queued_bytes or memcap is 0, when history_bytes is above kMaxHistoryBytes, or
  // when the buffer arena cannot be reserved.
  [[nodiscard]] static base::Result<std::unique_ptr<TcpReassembler>> Create(
      ReassemblyConfig config);
  ~TcpReassembler();

  // Adds `len` payload bytes starting at sequence number `seq`, sent in `dir`. The direction's
  // stream starts at flow.tcp[dir].isn + 1 (the tracker's), or at `seq` when that side has not
  // started. Returns the in-order bytes that became available (none: !has_new()).
  [[nodiscard]] StreamView Add(flow::Flow& flow, flow::Direction dir, uint32_t seq,
                               const uint8_t* payload, uint32_t len) {
    flow::StreamAnchor& a = flow.stream[flow::Index(dir)];
    // The common case, inline: the next bytes of a direction with a history block that has room
    // behind its history and nothing queued. Everything else (and oversized blocks, which the
    // general path shrinks) goes through AddSlow; both give the same result.
    if ((a.flags & (kSeqKnown | kQueued)) == kSeqKnown && seq == a.next_seq &&
        a.buffer != BlockArena::kNone && payload != nullptr && len != 0 &&
        a.shift <= append_shift_limit_ && uint64_t{a.used} + len <= (uint64_t{1} << a.shift)) {
      return Append(a, payload, len);
    }
    return AddSlow(flow, dir, seq, payload, len);
  }

  // Prefetch hints for a batch: PrefetchState for every packet of the batch, then Add. It reads
  // only flow.stream[dir] (so the flow's last line should be in cache or on its way) and
  // prefetches, for writing, the history block's line at the write position — or, when the
  // direction has out-of-order data, its queue header. Safe on any flow, even a stale one.
  void PrefetchState(const flow::Flow& flow, flow::Direction dir) const {
    const flow::StreamAnchor& a = flow.stream[flow::Index(dir)];
    if (a.buffer == BlockArena::kNone) return;
    const uint8_t* p = arena_->Address(a.buffer);
    if (a.flags & kQueued) {
      base::PrefetchRead(p);
    } else {
      base::PrefetchWrite(p + a.used);
    }
  }
  // Second hop for directions with out-of-order data (their history block is named by the queue
  // header, which PrefetchState brought in); nothing for the others. Call after PrefetchState.
  void PrefetchHistory(const flow::Flow& flow, flow::Direction dir) const;

  // The receiver of `dir` acknowledged `ack`. When that covers queued data beyond a hole the
  // capture never showed, the hole is skipped (stream.gap_skipped) and the queued bytes are
  // delivered, without history. O(1) when there is nothing to skip.
  [[nodiscard]] StreamView SkipGap(flow::Flow& flow, flow::Direction dir, uint32_t ack);

  // Frees both directions' buffers and forgets their progress.
  void Reset(flow::Flow& flow);
  // FlowTable release hook: `self` is the TcpReassembler.
  static void OnRelease(void* self, flow::Flow& flow, flow::ReleaseReason reason);

  [[nodiscard]] uint64_t memory_used() const { return memory_used_; }
  [[nodiscard]] const ReassemblyStats& stats() const { return stats_; }
  [[nodiscard]] const ReassemblyConfig& config() const { return config_; }
  // The arena behind the history blocks (for its resident-memory figures).
  [[nodiscard]] const BlockArena& arena() const { return *arena_; }

 private:
  struct QueueState;
  static constexpr uint8_t kSeqKnown = 1;  // StreamAnchor flag: next_seq and policy are set
  static constexpr uint8_t kQueued = 2;    // StreamAnchor flag: buffer names a QueueState

  explicit TcpReassembler(ReassemblyConfig config);

  StreamView AddSlow(flow::Flow& flow, flow::Direction dir, uint32_t seq, const uint8_t* payload,
                     uint32_t len);
  // Appends in-order bytes behind the history (precondition: they fit, nothing is queued).
  StreamView Append(flow::StreamAnchor& a, const uint8_t* payload, uint32_t len) {
    ++stats_.segments;
    ++stats_.fast_path;
    uint8_t* at = arena_->Address(a.buffer) + a.used;
    const uint32_t keep = a.used < config_.history_bytes ? a.used : config_.history_bytes;
    std::memcpy(at, payload, len);
    const StreamView view{at - keep, keep + size_t{len}, keep, a.delivered - keep};
    a.used += len;
    a.delivered += len;
    a.next_seq += len;
    stats_.bytes_delivered += len;
    return view;
  }

  [[nodiscard]] QueueState* Queue(const flow::StreamAnchor& a) const;
  // The history block's handle, wherever it is kept.
  [[nodiscard]] uint32_t& HistoryBlock(flow::StreamAnchor& a) const;
  // Gives `a` a queue header; null when the arena is full.
  QueueState* AddQueue(flow::StreamAnchor& a);
  // Frees the queue header of a direction whose queue emptied.
  void DropQueue(flow::StreamAnchor& a);
  void DropHistory(flow::StreamAnchor& a, uint32_t& block);
  // Keeps the last min(history_bytes, len) bytes of data[0, len) as the direction's history.
  void RetainHistory(flow::StreamAnchor& a, uint32_t& block, const uint8_t* data, uint64_t len);
  void Init(flow::Flow& flow, flow::Direction dir, uint32_t seq);
  // Delivers `len` bytes at the stream's in-order point followed by whatever queued data is then
  // contiguous.
  StreamView Deliver(flow::StreamAnchor& a, const uint8_t* data, uint32_t len);
  void FreeHalf(flow::StreamAnchor& a);

  ReassemblyConfig config_;
  // Blocks above 2^append_shift_limit_ bytes may be oversized for the history (the general path
  // shrinks them); the inline path leaves them alone.
  uint8_t append_shift_limit_ = 0;
  std::unique_ptr<BlockArena> arena_;
  uint64_t memory_used_ = 0;
  std::vector<uint8_t> scratch_;  // assembles views when no history block can be used
  ReassemblyStats stats_;
};

}  // namespace vigil::reassembly

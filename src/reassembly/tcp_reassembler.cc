#include "reassembly/tcp_reassembler.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "flow/tcp_tracker.h"

namespace vigil::reassembly {
namespace {

constexpr uint16_t kSeqKnown = 1;  // StreamAnchor flag: next_seq and policy are set
constexpr uint32_t kMinBlock = 256;

}  // namespace

struct TcpReassembler::HalfStream {
  uint8_t* block = nullptr;  // block[0, used): the stream's last `used` bytes before `delivered`
  uint32_t cap = 0;
  uint32_t used = 0;
  SegmentList queue;  // out-of-order data, all at offsets >= delivered
};

base::Result<std::unique_ptr<TcpReassembler>> TcpReassembler::Create(ReassemblyConfig config) {
  if (config.max_queued_bytes == 0 || config.memcap == 0) {
    return base::MakeError("reassembly: max_queued_bytes and memcap must be positive");
  }
  return std::unique_ptr<TcpReassembler>(new TcpReassembler(std::move(config)));
}

TcpReassembler::~TcpReassembler() = default;

TcpReassembler::HalfStream* TcpReassembler::Half(flow::StreamAnchor& a) {
  if (a.buffer == nullptr) {
    a.buffer = new HalfStream();
    memory_used_ += sizeof(HalfStream);
  }
  return static_cast<HalfStream*>(a.buffer);
}

void TcpReassembler::PrefetchHistory(const flow::Flow& flow, flow::Direction dir) const {
  const auto* hs = static_cast<const HalfStream*>(flow.stream[flow::Index(dir)].buffer);
  if (hs != nullptr && hs->block != nullptr) __builtin_prefetch(hs->block + hs->used);
}

void TcpReassembler::FreeHalf(flow::StreamAnchor& a) {
  auto* hs = static_cast<HalfStream*>(a.buffer);
  if (hs == nullptr) return;
  memory_used_ -= hs->cap + hs->queue.memory() + sizeof(HalfStream);
  delete[] hs->block;
  delete hs;
  a.buffer = nullptr;
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

StreamView TcpReassembler::Add(flow::Flow& flow, flow::Direction dir, uint32_t seq,
                               const uint8_t* payload, uint32_t len) {
  if (len == 0 || payload == nullptr) return {};
  flow::StreamAnchor& a = flow.stream[flow::Index(dir)];
  if (!(a.flags & kSeqKnown)) Init(flow, dir, seq);
  ++stats_.segments;

  int64_t rel = int32_t(seq - a.next_seq);
  if (rel < 0) {
    // Bytes the stream already delivered: final. Compare them with the history we still hold.
    const uint32_t old = uint32_t(std::min<int64_t>(len, -rel));
    const auto* hs = static_cast<const HalfStream*>(a.buffer);
    bool changed = false;
    if (hs != nullptr && hs->used > 0) {
      const int64_t hist_start = int64_t(a.delivered) - hs->used;
      const int64_t o1 = int64_t(a.delivered) + rel;
      const int64_t lo = std::max(o1, hist_start);
      const int64_t hi = o1 + old;
      if (lo < hi) {
        changed =
            std::memcmp(hs->block + (lo - hist_start), payload + (lo - o1), size_t(hi - lo)) != 0;
      }
    }
    ++(changed ? stats_.retransmit_changed : stats_.retransmit);
    payload += old;
    len -= old;
    if (len == 0) return {};
    rel = 0;
  }
  const uint64_t start = a.delivered + uint64_t(rel);
  auto* hs = static_cast<HalfStream*>(a.buffer);
  if (rel == 0 && (hs == nullptr || hs->queue.empty() || start + len <= hs->queue.front().start)) {
    ++stats_.fast_path;
    return Deliver(a, payload, len);
  }

  ++stats_.slow_path;
  const uint64_t queued_bytes = hs != nullptr ? hs->queue.bytes() : 0;
  const size_t queued_count = hs != nullptr ? hs->queue.count() : 0;
  if (queued_bytes + len > config_.max_queued_bytes) {
    ++stats_.queue_bytes_cap;
    return {};
  }
  if (queued_count >= config_.max_queued_segments) {
    ++stats_.queue_segments_cap;
    return {};
  }
  const uint64_t cost = hs != nullptr ? hs->queue.InsertCostBound(start, len)
                                      : len + SegmentList::kPieceOverhead + sizeof(HalfStream);
  if (memory_used_ + cost > config_.memcap) {
    ++stats_.memcap_drop;
    return {};
  }
  hs = Half(a);
  const uint64_t before = hs->queue.memory();
  const SegmentList::InsertResult r =
      hs->queue.Insert(start, payload, len, TcpRules(static_cast<Policy>(a.policy)));
  memory_used_ = memory_used_ + hs->queue.memory() - before;
  if (r.overlap_bytes != 0) ++stats_.overlap;
  if (r.conflict_bytes != 0) ++stats_.overlap_conflict;
  if (!hs->queue.empty() && hs->queue.front().start == a.delivered) return Deliver(a, nullptr, 0);
  return {};
}

StreamView TcpReassembler::SkipGap(flow::Flow& flow, flow::Direction dir, uint32_t ack) {
  flow::StreamAnchor& a = flow.stream[flow::Index(dir)];
  auto* hs = static_cast<HalfStream*>(a.buffer);
  if (!(a.flags & kSeqKnown) || hs == nullptr || hs->queue.empty()) return {};
  const int32_t rel = int32_t(ack - a.next_seq);
  if (rel <= 0) return {};
  const uint64_t front = hs->queue.front().start;
  if (front >= a.delivered + uint64_t(rel)) return {};
  // The receiver acknowledged queued bytes: the hole before them is lost to the capture.
  ++stats_.gap_skipped;
  a.next_seq += uint32_t(front - a.delivered);
  a.delivered = front;
  hs->used = 0;  // the history no longer precedes the stream
  return Deliver(a, nullptr, 0);
}

StreamView TcpReassembler::Deliver(flow::StreamAnchor& a, const uint8_t* data, uint32_t len) {
  auto* hs = static_cast<HalfStream*>(a.buffer);
  uint64_t total = len;
  if (hs != nullptr) {
    uint64_t pos = a.delivered + len;
    for (const SegmentList::Segment& s : hs->queue.segments()) {
      if (s.start != pos) break;
      total += s.len;
      pos = s.end();
    }
  }
  if (total == 0) return {};
  const uint32_t n = config_.history_bytes;
  StreamView view;
  uint8_t* out = nullptr;
  uint32_t keep = 0;

  if (n == 0 && total == len) {
    // No history wanted and nothing queued to join: the packet itself is the view.
    view = {data, len, 0, a.delivered};
  } else {
    bool use_block = n > 0;
    if (use_block && hs == nullptr &&
        memory_used_ + sizeof(HalfStream) + std::max<uint64_t>(total, kMinBlock) > config_.memcap) {
      ++stats_.memcap_history;  // not even a first block fits: deliver without history
      use_block = false;
    }
    if (use_block) {
      hs = Half(a);
      keep = std::min(hs->used, n);
      const uint64_t need = keep + total;
      const bool oversized = hs->cap > 16 * std::max(n, kMinBlock) && need <= hs->cap / 4;
      if (hs->used + total <= hs->cap && !oversized) {
        // Room behind the history: append in place.
      } else if (need <= hs->cap / 2 && !oversized) {
        // Compact: at least cap/2 bytes were appended since the last compaction, so moving the
        // kept history (< cap/2) costs O(1) per delivered byte.
        std::memmove(hs->block, hs->block + hs->used - keep, keep);
        hs->used = keep;
      } else {
        const uint64_t want = need < n ? need : 2 * need;
        const uint64_t cap = std::bit_ceil(std::max<uint64_t>(want, kMinBlock));
        if (cap > UINT32_MAX ||
            memory_used_ + cap - std::min<uint64_t>(cap, hs->cap) > config_.memcap) {
          ++stats_.memcap_history;
          use_block = false;
        } else {
          auto* block = new uint8_t[cap];
          if (keep > 0) std::memcpy(block, hs->block + hs->used - keep, keep);
          delete[] hs->block;
          memory_used_ = memory_used_ + cap - hs->cap;
          hs->block = block;
          hs->cap = uint32_t(cap);
          hs->used = keep;
        }
      }
      if (!use_block) {
        // Over the memory cap: deliver without history and drop what was kept.
        delete[] hs->block;
        memory_used_ -= hs->cap;
        hs->block = nullptr;
        hs->cap = 0;
        hs->used = 0;
        keep = 0;
      }
    }
    if (use_block) {
      out = hs->block + hs->used;
    } else {
      scratch_.resize(total);
      out = scratch_.data();
    }
    uint8_t* w = out;
    if (len > 0) {
      std::memcpy(w, data, len);
      w += len;
    }
    while (w < out + total) {
      const SegmentList::Segment& s = hs->queue.front();
      std::memcpy(w, s.data(), s.len);
      w += s.len;
      const uint64_t before = hs->queue.memory();
      hs->queue.PopFront();
      memory_used_ = memory_used_ - (before - hs->queue.memory());
    }
    if (use_block) {
      view = {out - keep, keep + total, keep, a.delivered - keep};
      hs->used += uint32_t(total);
    } else {
      view = {out, total, 0, a.delivered};
    }
  }
  a.delivered += total;
  a.next_seq += uint32_t(total);
  stats_.bytes_delivered += total;
  return view;
}

}  // namespace vigil::reassembly

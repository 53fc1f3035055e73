// FlowTable: every flow a worker tracks, found by its symmetric key in worst-case constant time,
// with idle timeouts driven by capture time, a hard cap with counted eviction, and stable ids.
//
//   auto table = flow::FlowTable::Create({.max_flows = 1 << 20});   // Result<unique_ptr>
//   (*table)->SetReleaseHook(&Reassembler::OnRelease, reassembler); // frees buffers, logs flows
//   flow::KeyedPacket k;
//   if (flow::MakeKey(packet, &k)) {
//     flow::Lookup l = (*table)->FindOrCreate(k, now_ns, packet.caplen);
//     Use(*l.flow, l.dir);                  // l.flow is never null: a full table evicts
//   }
//   (*table)->Expire(now_ns, 64);           // once per batch: examines 64 entries
//
// Layout (why bucketized cuckoo): a power-of-two array of 64-byte buckets, each holding eight
// slots of {16-bit tag, 32-bit entry index}. A key may live in exactly two buckets: b1 from its
// hash, b2 = b1 XOR f(tag) (partial-key cuckoo hashing, as in MemC3 and DPDK's rte_hash, so an
// entry can be moved to its other bucket without rehashing its key). Each bucket also counts the
// entries whose primary bucket it is but which live elsewhere (their b2 or the stash), as in
// Folly's F14: a lookup whose b1 has no match and a zero count is a miss without reading b2, so
// the common case reads one cache line of buckets; the worst case reads two plus, when the stash
// is non-empty, a stash of at most kStashSize slots, comparing the full key only on a tag match:
// worst-case O(1), unlike chaining or linear probing whose worst case grows with clustering.
// Eight-slot buckets reach > 95% occupancy with short displacement paths; the table is sized for
// at most ~50-60% so inserts rarely displace and few entries leave their primary bucket.
// Flows themselves sit in a separate entry array (192 bytes each) and never move, so pointers
// stay valid; only {tag, index} pairs are displaced. Entry memory is reserved up front but only
// touched when used.
//
// Caps and eviction: at most `max_flows` flows. When a new flow finds the entry array full, the
// least-recently-seen flow among the (up to 16) flows in the new key's two buckets is evicted
// (counted flow.evicted; flow.expired if it had already timed out); when those buckets are empty,
// the least-recently-seen of the next 8 entries at the expiry cursor. When both buckets are full
// and no displacement path of at most kMaxPathLength moves is found, the entry goes to the stash;
// when the stash is full too, the least-recently-seen flow in the two buckets is evicted
// (flow.evicted_bucket_full) and the new flow takes its slot.
//
// Timeouts are per protocol and state (FlowTimeouts, seconds, defaults after Suricata's). Time is
// the packets' capture time. A flow found past its timeout is released and recreated with a new
// flow_id (flow.expired). Expire() walks the entry array incrementally from a cursor, `budget`
// entries per call, so no call scans the whole table.
//
// Cost per packet: one hash (done by MakeKey), usually one bucket cache line, then the flow's
// three lines (the key, the counters and TCP state, the stream anchors). No allocation. With a
// million flows every one of those is a cache miss, so throughput is set by how many misses are
// in flight at once: FindOrCreateBatch prefetches the buckets of a whole batch, then its flows,
// then looks up; a caller that can look further ahead pipelines across batches with Prefetch
// (bucket) and PrefetchFlow (the flow's lines, once its bucket is in), e.g. two batches ahead:
//
//   for each batch i:  Prefetch(hash) for batch i + 2;  PrefetchFlow(hash) for batch i + 1;
//                      FindOrCreate(...) and the per-packet work for batch i.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "base/result.h"
#include "flow/flow.h"
#include "flow/flow_key.h"
#include "packet/packet.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vigil::flow {

// Idle timeouts in seconds (after Suricata's flow-timeouts defaults). 0 means "at the next
// expiry check".
struct FlowTimeouts {
  uint32_t tcp_new = 30;
  uint32_t tcp_established = 3600;
  uint32_t tcp_closing = 120;
  uint32_t tcp_closed = 10;
  uint32_t udp_new = 30;
  uint32_t udp_established = 300;
  uint32_t icmp = 30;
  uint32_t other_new = 30;
  uint32_t other_established = 300;
};

struct FlowTableConfig {
  uint32_t max_flows = 1u << 20;  // hard cap; 1..2^31
  FlowTimeouts timeouts;
  // Flow ids are (id_base << 44) + creation count, truncated to 51 bits, so that workers given
  // distinct bases (their index) never hand out the same id.
  uint64_t id_base = 0;
  // Make the bucket array resident at Create. Flows hash to random buckets, so a few thousand
  // flows touch every page of it anyway (16 MiB at 1M flows); this takes those page faults off
  // the packet path. engine::WorkerConfig sets it.
  bool prefault_buckets = false;
};

#define VIGIL_FLOW_COUNTERS(X)                       \
  X(created, "flow.created")                         \
  X(expired, "flow.expired")                         \
  X(evicted, "flow.evicted")                         \
  X(evicted_bucket_full, "flow.evicted_bucket_full") \
  X(removed, "flow.removed")                         \
  X(displacements, "flow.cuckoo_displacements")      \
  X(stash_inserts, "flow.stash_inserts")             \
  X(lookups, "flow.lookups")

struct FlowTableStats {
#define VIGIL_FLOW_FIELD(field, name) uint64_t field = 0;
  VIGIL_FLOW_COUNTERS(VIGIL_FLOW_FIELD)
#undef VIGIL_FLOW_FIELD
  template <class F>
  void ForEach(F&& f) const {
#define VIGIL_FLOW_VISIT(field, name) f(std::string_view(name), field);
    VIGIL_FLOW_COUNTERS(VIGIL_FLOW_VISIT)
#undef VIGIL_FLOW_VISIT
  }
};

enum class ReleaseReason : uint8_t { kTimeout, kEvicted, kRemoved, kShutdown };
// Called once for every flow the table stops tracking, before its entry is reused.
using ReleaseHook = void (*)(void* context, Flow& flow, ReleaseReason reason);

struct Lookup {
  Flow* flow = nullptr;
  Direction dir = Direction::kToServer;
  bool created = false;
};

class FlowTable {
 public:
  static constexpr int kSlotsPerBucket = 8;
  static constexpr int kStashSize = 16;
  static constexpr int kMaxPathLength = 24;

  // Fails when max_flows is 0 or above 2^31, or memory cannot be reserved.
  [[nodiscard]] static base::Result<std::unique_ptr<FlowTable>> Create(
      const FlowTableConfig& config);
  ~FlowTable();  // releases every flow (kShutdown)
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // `hook(context, ...)` runs for every flow the table lets go, the destructor's included:
  // `context` must outlive the table (destroy the table first, then the reassembler).
  void SetReleaseHook(ReleaseHook hook, void* context) {
    hook_ = hook;
    hook_context_ = context;
  }

  // Starts bringing the key's primary bucket into cache (the one line most lookups read).
  void Prefetch(uint64_t hash) const;

  // Second stage, once Prefetch(hash) has had time to complete: finds the entry behind the first
  // tag match in the key's primary bucket and prefetches its three lines; when there is none (a
  // new flow, as far as that bucket says), prefetches the entry the next creation would take.
  // Returns the matched entry — a hint, not a lookup: it may be another key's flow, a free entry,
  // or stale by the time it is used (reading it is always memory-safe; its stream anchor can feed
  // TcpReassembler::PrefetchState). Null when nothing matched. Changes nothing.
  const Flow* PrefetchFlow(uint64_t hash) const;

  // The flow of `k`, created when absent or timed out (the sender of the creating packet is the
  // client until TcpTracker says otherwise). Updates last_ns and the direction's packet and byte
  // counters, and moves a non-TCP flow to kEstablished when it sees its first reply. Never fails:
  // a full table evicts as documented above.
  [[nodiscard]] Lookup FindOrCreate(const KeyedPacket& k, int64_t now_ns, uint32_t bytes = 0) {
    // Inline for the common case, a live TCP flow found in its primary bucket; the rest (other
    // protocols' state changes, the alternate bucket and stash, expiry, creation) is out of line.
    const Bucket& bucket = buckets_[k.hash & mask_];
    for (uint32_t m = Matches(bucket, TagOf(k.hash)); m != 0; m &= m - 1) {
      Flow* f = &entries_[bucket.index[std::countr_zero(m) / 2]];
      if (!(f->key == k.key)) continue;
      if (f->key.proto != packet::kProtoTcp ||
          now_ns - f->last_ns > timeout_ns_[static_cast<uint8_t>(f->state)]) {
        return Finish(k, f, now_ns, bytes);
      }
      ++stats_.lookups;
      const Direction dir = f->DirectionOf(k.src_is_lo);
      if (now_ns > f->last_ns) f->last_ns = now_ns;
      ++f->packets[Index(dir)];
      f->bytes[Index(dir)] += bytes;
      return {f, dir, false};
    }
    return FindOrCreateSlow(k, now_ns, bytes);
  }

  // FindOrCreate for up to n packets with prefetching across them: buckets of all n first, then
  // the flows of all n, then the lookups in order. `bytes` may be null. Returns how many packets
  // it looked up, m (1 <= m <= n when n > 0); out[0, m) hold the same results as m calls of
  // FindOrCreate, except that every out[i].flow stays valid until the call returns and after it,
  // until the caller's next table call: a creation that must evict never picks a flow this batch
  // already returned. m < n only when that is impossible — the table holds fewer flows than the
  // batch has distinct new ones — and the caller then processes out[0, m) and calls again with
  // the rest.
  [[nodiscard]] size_t FindOrCreateBatch(const KeyedPacket* keys, const uint32_t* bytes, size_t n,
                                         int64_t now_ns, Lookup* out);

  // The flow of `k` without creating, refreshing or expiring anything; null when absent.
  [[nodiscard]] Flow* Find(const KeyedPacket& k) const;

  // Stops tracking `flow` (kRemoved).
  void Remove(Flow* flow);

  // Examines the next `budget` entries at the expiry cursor and releases those idle past their
  // timeout at `now_ns`. Returns how many it released.
  size_t Expire(int64_t now_ns, size_t budget);

  // The idle timeout that applies to `flow` now, in nanoseconds.
  [[nodiscard]] int64_t TimeoutNs(const Flow& flow) const;

  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] size_t capacity() const { return config_.max_flows; }
  [[nodiscard]] size_t bucket_count() const { return mask_ + 1; }
  [[nodiscard]] size_t stash_size() const { return stash_count_; }
  [[nodiscard]] const FlowTableStats& stats() const { return stats_; }
  // Bytes reserved for buckets and the entry array (the entry array is touched only as used).
  [[nodiscard]] size_t ReservedBytes() const;
  // Bytes of entry array and buckets in use: high-water entries * sizeof(Flow) + buckets.
  [[nodiscard]] size_t TouchedBytes() const;

 private:
  struct alignas(64) Bucket {
    uint16_t tag[kSlotsPerBucket];  // 0: free slot
    uint32_t index[kSlotsPerBucket];
    // Entries whose primary bucket is this one living in their alternate bucket or the stash.
    uint16_t overflow;
    uint8_t in_alt;  // bit s: slot s holds an entry whose primary bucket is its other one
  };
  static_assert(sizeof(Bucket) == 64);
  struct StashSlot {
    uint16_t tag;
    uint32_t index;
    uint32_t primary;  // the entry's primary bucket
  };

  explicit FlowTable(const FlowTableConfig& config);

  [[nodiscard]] static uint16_t TagOf(uint64_t hash) {
    const uint16_t t = static_cast<uint16_t>(hash >> 48);
    return t == 0 ? 1 : t;
  }
  [[nodiscard]] size_t AltBucket(size_t bucket, uint16_t tag) const {
    return (bucket ^ ((tag * 0x5bd1e995u) | 1u)) & mask_;
  }
  // Bit 2s set: slot s of `bucket` holds `tag`.
  [[nodiscard]] static uint32_t Matches(const Bucket& bucket, uint16_t tag) {
#if defined(__SSE2__)
    // All eight tags in one compare; two mask bits per slot, the low one kept.
    const __m128i tags = _mm_load_si128(reinterpret_cast<const __m128i*>(bucket.tag));
    const uint32_t bits =
        uint32_t(_mm_movemask_epi8(_mm_cmpeq_epi16(tags, _mm_set1_epi16(int16_t(tag)))));
    return bits & 0x5555u;
#else
    uint32_t bits = 0;
    for (int s = 0; s < kSlotsPerBucket; ++s) bits |= uint32_t(bucket.tag[s] == tag) << (2 * s);
    return bits;
#endif
  }
  Lookup FindOrCreateSlow(const KeyedPacket& k, int64_t now_ns, uint32_t bytes);
  // Inlined into each lookup entry point: they run once per packet.
  [[nodiscard, gnu::always_inline]] Flow* FindIn(const FlowKey& key, uint64_t hash) const;
  // Lookup's result for `found` (null: create). Its flow is null only when a creation would have
  // to evict a pinned flow (inside FindOrCreateBatch).
  Lookup Finish(const KeyedPacket& k, Flow* found, int64_t now_ns, uint32_t bytes);
  Flow* Create(const KeyedPacket& k, int64_t now_ns);
  // Places {tag, index} in one of its buckets (b1 primary), displacing or stashing; false when
  // neither works.
  bool Place(size_t b1, uint16_t tag, uint32_t index);
  // Writes {tag, index} into bucket b, slot s, keeping the overflow counts: `primary` is the
  // entry's primary bucket.
  void SetSlot(size_t b, int s, uint16_t tag, uint32_t index, size_t primary);
  void ClearSlot(size_t b, int s);
  // Removes the slot that refers to `index` (found from the flow's key).
  void Unlink(const Flow& flow);
  void Release(Flow* flow, ReleaseReason reason);
  // The least recently seen unpinned flow in b1 and b2, else near the expiry cursor; null only
  // when every flow is pinned.
  Flow* VictimFor(size_t b1, size_t b2) const;
  // The least recently seen unpinned flow in b1 and b2; null when there is none.
  Flow* VictimIn(size_t b1, size_t b2) const;
  [[nodiscard]] bool Expired(const Flow& f, int64_t now_ns) const {
    return now_ns - f.last_ns > TimeoutNs(f);
  }

  FlowTableConfig config_;
  size_t mask_ = 0;
  Bucket* buckets_ = nullptr;
  Flow* entries_ = nullptr;
  uint32_t high_water_ = 0;  // entries [0, high_water_) have been constructed
  uint32_t free_head_ = UINT32_MAX;
  size_t size_ = 0;
  std::array<StashSlot, kStashSize> stash_{};
  int stash_count_ = 0;
  uint32_t expire_cursor_ = 0;
  uint64_t next_id_ = 1;
  uint64_t rng_ = 0x2545f4914f6cdd1dull;
  std::array<int64_t, 9> timeout_ns_{};
  ReleaseHook hook_ = nullptr;
  void* hook_context_ = nullptr;
  FlowTableStats stats_;
};

}  // namespace vigil::flow

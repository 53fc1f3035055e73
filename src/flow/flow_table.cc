#include "flow/flow_table.h"

#include <sys/mman.h>

#include <bit>
#include <new>

#include "base/prefetch.h"

namespace vigil::flow {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

enum TimeoutIndex : int {
  kTcpNew,
  kTcpEstablished,
  kTcpClosing,
  kTcpClosed,
  kUdpNew,
  kUdpEstablished,
  kIcmp,
  kOtherNew,
  kOtherEstablished,
};
// FindOrCreate's inline path indexes the TCP timeouts by FlowState.
static_assert(kTcpNew == int(FlowState::kNew) && kTcpEstablished == int(FlowState::kEstablished) &&
              kTcpClosing == int(FlowState::kClosing) && kTcpClosed == int(FlowState::kClosed));

void* MapZeroed(size_t bytes) {
  // Anonymous mappings are zero-filled and take physical memory only when a page is touched,
  // so reserving the whole entry array costs nothing until flows use it.
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  // Large tables are read at random: huge pages save most of the TLB (translation lookaside
  // buffer) misses. Advisory only; ignored where transparent huge pages are off.
  madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

}  // namespace

base::Result<std::unique_ptr<FlowTable>> FlowTable::Create(const FlowTableConfig& config) {
  if (config.max_flows == 0 || config.max_flows > (1u << 31)) {
    return base::MakeError("flow table: max_flows must be between 1 and 2^31");
  }
  std::unique_ptr<FlowTable> table(new FlowTable(config));
  // Buckets for <= ~60% slot occupancy at the cap, so that inserts rarely need to displace.
  const uint64_t want =
      (uint64_t{config.max_flows} * 10 / 6 + kSlotsPerBucket - 1) / kSlotsPerBucket;
  const uint64_t buckets = std::bit_ceil(std::max<uint64_t>(want, 2));
  table->mask_ = buckets - 1;
  table->buckets_ = static_cast<Bucket*>(MapZeroed(buckets * sizeof(Bucket)));
  table->entries_ = static_cast<Flow*>(MapZeroed(uint64_t{config.max_flows} * sizeof(Flow)));
  if (table->buckets_ == nullptr || table->entries_ == nullptr) {
    return base::MakeError("flow table: cannot reserve memory for " +
                           std::to_string(config.max_flows) + " flows");
  }
  if (config.prefault_buckets) {
    volatile uint8_t* at = reinterpret_cast<uint8_t*>(table->buckets_);
    for (size_t off = 0; off < buckets * sizeof(Bucket); off += 4096) at[off] = 0;
  }
  return table;
}

FlowTable::FlowTable(const FlowTableConfig& config) : config_(config) {
  const FlowTimeouts& t = config.timeouts;
  const uint32_t seconds[] = {t.tcp_new,    t.tcp_established, t.tcp_closing,
                              t.tcp_closed, t.udp_new,         t.udp_established,
                              t.icmp,       t.other_new,       t.other_established};
  for (size_t i = 0; i < timeout_ns_.size(); ++i)
    timeout_ns_[i] = int64_t{seconds[i]} * kNsPerSecond;
  next_id_ = (config.id_base << 44) + 1;
}

FlowTable::~FlowTable() {
  if (entries_ != nullptr) {
    for (uint32_t i = 0; i < high_water_; ++i) {
      if (entries_[i].in_use()) Release(&entries_[i], ReleaseReason::kShutdown);
    }
    munmap(entries_, uint64_t{config_.max_flows} * sizeof(Flow));
  }
  if (buckets_ != nullptr) munmap(buckets_, (mask_ + 1) * sizeof(Bucket));
}

int64_t FlowTable::TimeoutNs(const Flow& f) const {
  switch (f.key.proto) {
    case packet::kProtoTcp:
      switch (f.state) {
        case FlowState::kNew:
          return timeout_ns_[kTcpNew];
        case FlowState::kEstablished:
          return timeout_ns_[kTcpEstablished];
        case FlowState::kClosing:
          return timeout_ns_[kTcpClosing];
        case FlowState::kClosed:
          return timeout_ns_[kTcpClosed];
      }
      return timeout_ns_[kTcpNew];
    case packet::kProtoUdp:
      return timeout_ns_[f.state == FlowState::kNew ? kUdpNew : kUdpEstablished];
    case packet::kProtoIcmp:
    case packet::kProtoIcmpv6:
      return timeout_ns_[kIcmp];
    default:
      return timeout_ns_[f.state == FlowState::kNew ? kOtherNew : kOtherEstablished];
  }
}

void FlowTable::Prefetch(uint64_t hash) const { base::PrefetchRead(&buckets_[hash & mask_]); }

const Flow* FlowTable::PrefetchFlow(uint64_t hash) const {
  const uint16_t tag = TagOf(hash);
  const Bucket& bucket = buckets_[hash & mask_];
  const uint32_t m = Matches(bucket, tag);
  const Flow* f = m != 0 ? &entries_[bucket.index[std::countr_zero(m) / 2]] : nullptr;
  const Flow* warm = f;
  if (warm == nullptr) {
    const uint32_t next = free_head_ != UINT32_MAX ? free_head_ : high_water_;
    if (next >= config_.max_flows) return nullptr;
    warm = &entries_[next];
  }
  // All three lines are written on the way: last seen time, counters and TCP state, the anchor.
  const char* p = reinterpret_cast<const char*>(warm);
  base::PrefetchWrite(p);
  base::PrefetchWrite(p + 64);
  base::PrefetchWrite(p + 128);
  return f;
}

inline Flow* FlowTable::FindIn(const FlowKey& key, uint64_t hash) const {
  const uint16_t tag = TagOf(hash);
  const size_t b1 = hash & mask_;
  const Bucket& primary = buckets_[b1];
  for (uint32_t m = Matches(primary, tag); m != 0; m &= m - 1) {
    Flow* f = &entries_[primary.index[std::countr_zero(m) / 2]];
    if (f->key == key) return f;
  }
  if (primary.overflow == 0) return nullptr;  // nothing of b1's lives anywhere else
  const Bucket& alt = buckets_[AltBucket(b1, tag)];
  for (uint32_t m = Matches(alt, tag); m != 0; m &= m - 1) {
    Flow* f = &entries_[alt.index[std::countr_zero(m) / 2]];
    if (f->key == key) return f;
  }
  for (int i = 0; i < stash_count_; ++i) {
    if (stash_[i].tag == tag) {
      Flow* f = &entries_[stash_[i].index];
      if (f->key == key) return f;
    }
  }
  return nullptr;
}

Flow* FlowTable::Find(const KeyedPacket& k) const { return FindIn(k.key, k.hash); }

Lookup FlowTable::FindOrCreateSlow(const KeyedPacket& k, int64_t now_ns, uint32_t bytes) {
  return Finish(k, FindIn(k.key, k.hash), now_ns, bytes);
}

size_t FlowTable::FindOrCreateBatch(const KeyedPacket* keys, const uint32_t* bytes, size_t n,
                                    int64_t now_ns, Lookup* out) {
  for (size_t i = 0; i < n; ++i) Prefetch(keys[i].hash);
  // The entry behind the first tag match is almost always the flow (16-bit tags).
  for (size_t i = 0; i < n; ++i) (void)PrefetchFlow(keys[i].hash);
  size_t m = 0;
  for (; m < n; ++m) {
    const Lookup l =
        Finish(keys[m], FindIn(keys[m].key, keys[m].hash), now_ns, bytes != nullptr ? bytes[m] : 0);
    if (l.flow == nullptr) break;  // only a pinned flow could have made room
    l.flow->flags |= Flow::kPinned;
    out[m] = l;
  }
  for (size_t i = 0; i < m; ++i) out[i].flow->flags &= uint8_t(~Flow::kPinned);
  return m;
}

Lookup FlowTable::Finish(const KeyedPacket& k, Flow* f, int64_t now_ns, uint32_t bytes) {
  Lookup l;
  if (f != nullptr && !(f->flags & Flow::kPinned) && Expired(*f, now_ns)) {
    Release(f, ReleaseReason::kTimeout);
    f = nullptr;
  }
  if (f == nullptr) {
    f = Create(k, now_ns);
    if (f == nullptr) return l;
    l.created = true;
  }
  ++stats_.lookups;
  l.flow = f;
  l.dir = f->DirectionOf(k.src_is_lo);
  if (now_ns > f->last_ns) f->last_ns = now_ns;
  const int d = Index(l.dir);
  ++f->packets[d];
  f->bytes[d] += bytes;
  if (f->key.proto != packet::kProtoTcp && l.dir == Direction::kToClient &&
      f->state == FlowState::kNew) {
    f->state = FlowState::kEstablished;
    f->flags |= Flow::kEstablished;
  }
  return l;
}

Flow* FlowTable::Create(const KeyedPacket& k, int64_t now_ns) {
  const size_t b1 = k.hash & mask_;
  const uint16_t tag = TagOf(k.hash);
  const size_t b2 = AltBucket(b1, tag);
  if (free_head_ == UINT32_MAX && high_water_ == config_.max_flows) {
    Flow* victim = VictimFor(b1, b2);
    if (victim == nullptr) return nullptr;
    Release(victim, Expired(*victim, now_ns) ? ReleaseReason::kTimeout : ReleaseReason::kEvicted);
  }
  uint32_t index;
  if (free_head_ != UINT32_MAX) {
    index = free_head_;
    free_head_ = static_cast<uint32_t>(entries_[index].flow_id);
  } else {
    index = high_water_++;
  }
  if (!Place(b1, tag, index)) {
    // Both buckets full, no displacement path, stash full: the stalest neighbour makes room.
    Flow* victim = VictimIn(b1, b2);
    if (victim == nullptr) {
      // Every neighbour is pinned by the current batch: give the entry back.
      entries_[index].flags = 0;
      entries_[index].flow_id = free_head_;
      free_head_ = index;
      return nullptr;
    }
    ++stats_.evicted_bucket_full;
    Release(victim, ReleaseReason::kEvicted);
    const bool placed = Place(b1, tag, index);
    (void)placed;  // a slot in b1 or b2 was just freed
  }
  Flow* f = new (&entries_[index]) Flow();
  f->key = k.key;
  f->index = index;
  f->flags = Flow::kInUse | (k.src_is_lo ? Flow::kClientIsLo : 0);
  f->first_ns = now_ns;
  f->last_ns = now_ns;
  f->flow_id = next_id_++ & ((uint64_t{1} << 51) - 1);
  ++size_;
  ++stats_.created;
  return f;
}

void FlowTable::SetSlot(size_t b, int s, uint16_t tag, uint32_t index, size_t primary) {
  Bucket& bucket = buckets_[b];
  bucket.tag[s] = tag;
  bucket.index[s] = index;
  if (primary != b) {
    bucket.in_alt |= uint8_t(1u << s);
    ++buckets_[primary].overflow;
  } else {
    bucket.in_alt &= uint8_t(~(1u << s));
  }
}

void FlowTable::ClearSlot(size_t b, int s) {
  Bucket& bucket = buckets_[b];
  if (bucket.in_alt & (1u << s)) {
    --buckets_[AltBucket(b, bucket.tag[s])].overflow;
    bucket.in_alt &= uint8_t(~(1u << s));
  }
  bucket.tag[s] = 0;
}

bool FlowTable::Place(size_t b1, uint16_t tag, uint32_t index) {
  const size_t b2 = AltBucket(b1, tag);
  for (size_t b : {b1, b2}) {
    Bucket& bucket = buckets_[b];
    for (int s = 0; s < kSlotsPerBucket; ++s) {
      if (bucket.tag[s] == 0) {
        SetSlot(b, s, tag, index, b1);
        return true;
      }
    }
  }
  // Random-walk search for a displacement path; nothing moves until a free slot is found, so a
  // failed search leaves the table as it was.
  size_t path_bucket[kMaxPathLength];
  int path_slot[kMaxPathLength];
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  size_t cur = (rng_ & 1) ? b1 : b2;
  for (int len = 0; len < kMaxPathLength; ++len) {
    int slot = -1;
    for (int tries = 0; tries < kSlotsPerBucket && slot < 0; ++tries) {
      const int s = static_cast<int>((rng_ >> (3 * tries + 8)) + tries) & (kSlotsPerBucket - 1);
      bool used = false;
      for (int i = 0; i < len; ++i) used |= path_bucket[i] == cur && path_slot[i] == s;
      if (!used) slot = s;
    }
    if (slot < 0) break;
    path_bucket[len] = cur;
    path_slot[len] = slot;
    const size_t next = AltBucket(cur, buckets_[cur].tag[slot]);
    Bucket& nb = buckets_[next];
    for (int e = 0; e < kSlotsPerBucket; ++e) {
      if (nb.tag[e] != 0) continue;
      // Move each entry on the path one step, from the end backwards.
      size_t to_bucket = next;
      int to_slot = e;
      for (int i = len; i >= 0; --i) {
        const size_t from_b = path_bucket[i];
        const int from_s = path_slot[i];
        const Bucket& from = buckets_[from_b];
        const uint16_t moved_tag = from.tag[from_s];
        const uint32_t moved_index = from.index[from_s];
        const size_t primary =
            (from.in_alt & (1u << from_s)) ? AltBucket(from_b, moved_tag) : from_b;
        ClearSlot(from_b, from_s);
        SetSlot(to_bucket, to_slot, moved_tag, moved_index, primary);
        to_bucket = from_b;
        to_slot = from_s;
        ++stats_.displacements;
      }
      SetSlot(to_bucket, to_slot, tag, index, b1);
      return true;
    }
    cur = next;
    rng_ = rng_ * 6364136223846793005ull + 1442695040888963407ull;
  }
  if (stash_count_ < kStashSize) {
    stash_[stash_count_++] = {tag, index, uint32_t(b1)};
    ++buckets_[b1].overflow;
    ++stats_.stash_inserts;
    return true;
  }
  return false;
}

void FlowTable::Unlink(const Flow& flow) {
  const uint64_t h = HashKey(flow.key);
  const uint16_t tag = TagOf(h);
  const size_t b1 = h & mask_;
  const size_t b2 = AltBucket(b1, tag);
  bool freed_bucket_slot = false;
  for (size_t b : {b1, b2}) {
    Bucket& bucket = buckets_[b];
    for (int s = 0; s < kSlotsPerBucket && !freed_bucket_slot; ++s) {
      if (bucket.tag[s] == tag && bucket.index[s] == flow.index) {
        ClearSlot(b, s);
        freed_bucket_slot = true;
      }
    }
    if (freed_bucket_slot) break;
  }
  if (!freed_bucket_slot) {
    for (int i = 0; i < stash_count_; ++i) {
      if (stash_[i].index == flow.index) {
        --buckets_[stash_[i].primary].overflow;
        stash_[i] = stash_[--stash_count_];
        return;
      }
    }
    return;
  }
  // A bucket slot opened: give a stashed entry that belongs there its proper place.
  for (int i = 0; i < stash_count_; ++i) {
    const size_t sb1 = stash_[i].primary;
    const size_t sb2 = AltBucket(sb1, stash_[i].tag);
    if (sb1 != b1 && sb1 != b2 && sb2 != b1 && sb2 != b2) continue;
    const StashSlot moved = stash_[i];
    stash_[i] = stash_[--stash_count_];
    --buckets_[sb1].overflow;
    const bool placed = Place(sb1, moved.tag, moved.index);
    (void)placed;  // it can always go back to the stash slot it just left
    break;
  }
}

void FlowTable::Release(Flow* f, ReleaseReason reason) {
  if (hook_ != nullptr) hook_(hook_context_, *f, reason);
  Unlink(*f);
  f->flags = 0;
  f->flow_id = free_head_;
  free_head_ = f->index;
  --size_;
  switch (reason) {
    case ReleaseReason::kTimeout:
      ++stats_.expired;
      break;
    case ReleaseReason::kEvicted:
      ++stats_.evicted;
      break;
    case ReleaseReason::kRemoved:
      ++stats_.removed;
      break;
    case ReleaseReason::kShutdown:
      break;
  }
}

void FlowTable::Remove(Flow* flow) {
  if (flow != nullptr && flow->in_use()) Release(flow, ReleaseReason::kRemoved);
}

Flow* FlowTable::VictimIn(size_t b1, size_t b2) const {
  Flow* victim = nullptr;
  for (size_t b : {b1, b2}) {
    const Bucket& bucket = buckets_[b];
    for (int s = 0; s < kSlotsPerBucket; ++s) {
      if (bucket.tag[s] == 0) continue;
      Flow* f = &entries_[bucket.index[s]];
      if (f->flags & Flow::kPinned) continue;
      if (victim == nullptr || f->last_ns < victim->last_ns) victim = f;
    }
  }
  return victim;
}

Flow* FlowTable::VictimFor(size_t b1, size_t b2) const {
  Flow* victim = VictimIn(b1, b2);
  if (victim != nullptr) return victim;
  uint32_t c = expire_cursor_;
  for (uint32_t i = 0; i < high_water_ && (i < 8 || victim == nullptr); ++i, ++c) {
    if (c >= high_water_) c = 0;
    Flow* f = &entries_[c];
    if (f->in_use() && !(f->flags & Flow::kPinned) &&
        (victim == nullptr || f->last_ns < victim->last_ns)) {
      victim = f;
    }
  }
  return victim;
}

size_t FlowTable::Expire(int64_t now_ns, size_t budget) {
  size_t released = 0;
  for (size_t i = 0; i < budget && high_water_ != 0; ++i) {
    if (expire_cursor_ >= high_water_) expire_cursor_ = 0;
    Flow* f = &entries_[expire_cursor_++];
    if (f->in_use() && Expired(*f, now_ns)) {
      Release(f, ReleaseReason::kTimeout);
      ++released;
    }
  }
  return released;
}

size_t FlowTable::ReservedBytes() const {
  return (mask_ + 1) * sizeof(Bucket) + size_t{config_.max_flows} * sizeof(Flow);
}

size_t FlowTable::TouchedBytes() const {
  return (mask_ + 1) * sizeof(Bucket) + size_t{high_water_} * sizeof(Flow);
}

}  // namespace vigil::flow

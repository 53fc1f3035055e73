#include "flow/flow_table.h"

#include <sys/mman.h>

#include <bit>
#include <new>

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

void FlowTable::Prefetch(uint64_t hash) const {
  const size_t b1 = hash & mask_;
  __builtin_prefetch(&buckets_[b1]);
  __builtin_prefetch(&buckets_[AltBucket(b1, TagOf(hash))]);
}

Flow* FlowTable::FindIn(const FlowKey& key, uint64_t hash) const {
  const uint16_t tag = TagOf(hash);
  const size_t b1 = hash & mask_;
  const size_t bs[2] = {b1, AltBucket(b1, tag)};
  for (size_t b : bs) {
    const Bucket& bucket = buckets_[b];
    for (int s = 0; s < kSlotsPerBucket; ++s) {
      if (bucket.tag[s] == tag) {
        Flow* f = &entries_[bucket.index[s]];
        if (f->key == key) return f;
      }
    }
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

Lookup FlowTable::FindOrCreate(const KeyedPacket& k, int64_t now_ns, uint32_t bytes) {
  return Finish(k, FindIn(k.key, k.hash), now_ns, bytes);
}

void FlowTable::FindOrCreateBatch(const KeyedPacket* keys, const uint32_t* bytes, size_t n,
                                  int64_t now_ns, Lookup* out) {
  for (size_t i = 0; i < n; ++i) Prefetch(keys[i].hash);
  for (size_t i = 0; i < n; ++i) {
    // The entry behind the first tag match is almost always the flow (16-bit tags).
    const uint64_t h = keys[i].hash;
    const uint16_t tag = TagOf(h);
    const size_t b1 = h & mask_;
    const Bucket* bucket = &buckets_[b1];
    for (int pass = 0; pass < 2; ++pass) {
      int s = 0;
      while (s < kSlotsPerBucket && bucket->tag[s] != tag) ++s;
      if (s < kSlotsPerBucket) {
        // All three lines: the key, then the TCP and stream state the next stages read.
        const char* f = reinterpret_cast<const char*>(&entries_[bucket->index[s]]);
        __builtin_prefetch(f);
        __builtin_prefetch(f + 64);
        __builtin_prefetch(f + 128);
        break;
      }
      bucket = &buckets_[AltBucket(b1, tag)];
    }
  }
  for (size_t i = 0; i < n; ++i) {
    out[i] = FindOrCreate(keys[i], now_ns, bytes != nullptr ? bytes[i] : 0);
  }
}

Lookup FlowTable::Finish(const KeyedPacket& k, Flow* f, int64_t now_ns, uint32_t bytes) {
  ++stats_.lookups;
  Lookup l;
  if (f != nullptr && Expired(*f, now_ns)) {
    Release(f, ReleaseReason::kTimeout);
    f = nullptr;
  }
  if (f == nullptr) {
    f = Create(k, now_ns);
    l.created = true;
  }
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
    Release(victim, Expired(*victim, now_ns) ? ReleaseReason::kTimeout : ReleaseReason::kEvicted);
  }
  uint32_t index;
  if (free_head_ != UINT32_MAX) {
    index = free_head_;
    free_head_ = static_cast<uint32_t>(entries_[index].flow_id);
  } else {
    index = high_water_++;
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
  if (!Place(b1, tag, index)) {
    // Both buckets full, no displacement path, stash full: the stalest neighbour makes room.
    Flow* victim = VictimFor(b1, b2);
    ++stats_.evicted_bucket_full;
    Release(victim, ReleaseReason::kEvicted);
    const bool placed = Place(b1, tag, index);
    (void)placed;  // a slot in b1 or b2 was just freed
  }
  return f;
}

bool FlowTable::Place(size_t b1, uint16_t tag, uint32_t index) {
  const size_t b2 = AltBucket(b1, tag);
  for (size_t b : {b1, b2}) {
    Bucket& bucket = buckets_[b];
    for (int s = 0; s < kSlotsPerBucket; ++s) {
      if (bucket.tag[s] == 0) {
        bucket.tag[s] = tag;
        bucket.index[s] = index;
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
        Bucket& from = buckets_[path_bucket[i]];
        buckets_[to_bucket].tag[to_slot] = from.tag[path_slot[i]];
        buckets_[to_bucket].index[to_slot] = from.index[path_slot[i]];
        to_bucket = path_bucket[i];
        to_slot = path_slot[i];
        ++stats_.displacements;
      }
      buckets_[to_bucket].tag[to_slot] = tag;
      buckets_[to_bucket].index[to_slot] = index;
      return true;
    }
    cur = next;
    rng_ = rng_ * 6364136223846793005ull + 1442695040888963407ull;
  }
  if (stash_count_ < kStashSize) {
    stash_[stash_count_++] = {tag, index};
    ++stats_.stash_inserts;
    return true;
  }
  return false;
}

void FlowTable::Unlink(const Flow& flow) {
  const uint64_t h = HashKey(flow.key);
  const uint16_t tag = TagOf(h);
  const size_t b1 = h & mask_;
  bool freed_bucket_slot = false;
  for (size_t b : {b1, AltBucket(b1, tag)}) {
    Bucket& bucket = buckets_[b];
    for (int s = 0; s < kSlotsPerBucket && !freed_bucket_slot; ++s) {
      if (bucket.tag[s] == tag && bucket.index[s] == flow.index) {
        bucket.tag[s] = 0;
        freed_bucket_slot = true;
      }
    }
    if (freed_bucket_slot) break;
  }
  if (!freed_bucket_slot) {
    for (int i = 0; i < stash_count_; ++i) {
      if (stash_[i].index == flow.index) {
        stash_[i] = stash_[--stash_count_];
        return;
      }
    }
    return;
  }
  // A bucket slot opened: give a stashed entry that belongs there its proper place.
  for (int i = 0; i < stash_count_; ++i) {
    const uint64_t sh = HashKey(entries_[stash_[i].index].key);
    const size_t sb1 = sh & mask_;
    if (sb1 != b1 && AltBucket(sb1, stash_[i].tag) != b1 && sb1 != AltBucket(b1, tag) &&
        AltBucket(sb1, stash_[i].tag) != AltBucket(b1, tag)) {
      continue;
    }
    const StashSlot moved = stash_[i];
    stash_[i] = stash_[--stash_count_];
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

Flow* FlowTable::VictimFor(size_t b1, size_t b2) const {
  Flow* victim = nullptr;
  for (size_t b : {b1, b2}) {
    const Bucket& bucket = buckets_[b];
    for (int s = 0; s < kSlotsPerBucket; ++s) {
      if (bucket.tag[s] == 0) continue;
      Flow* f = &entries_[bucket.index[s]];
      if (victim == nullptr || f->last_ns < victim->last_ns) victim = f;
    }
  }
  if (victim != nullptr) return victim;
  uint32_t c = expire_cursor_;
  for (int i = 0; i < 8 || victim == nullptr; ++i, ++c) {
    if (c >= high_water_) c = 0;
    Flow* f = &entries_[c];
    if (f->in_use() && (victim == nullptr || f->last_ns < victim->last_ns)) victim = f;
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

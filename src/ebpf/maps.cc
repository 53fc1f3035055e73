#include "ebpf/maps.h"

#include <algorithm>
#include <cstring>

#include "ebpf/program.h"
#include "fmt/format.h"

namespace vigil::ebpf {
namespace {

std::string Errno(int64_t rc) {
  switch (-rc) {
    case kENOENT:
      return "no such element (ENOENT)";
    case kE2BIG:
      return "map is full (E2BIG)";
    case kEEXIST:
      return "element exists (EEXIST)";
    case kEINVAL:
      return "invalid argument (EINVAL)";
    default:
      return fmt::format("error {}", rc);
  }
}

// A fast hash of a short byte string (keys are a few to a few dozen bytes).
uint64_t HashBytes(const uint8_t* p, uint32_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  h = (h ^ tail) * 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 29);
}

// NextKey of maps indexed by a u32 below max_entries: the index after `key`, or 0.
int64_t IndexNextKey(const void* key, void* next, uint32_t max_entries) {
  uint32_t i = 0;
  if (key) std::memcpy(&i, key, 4);
  const uint32_t n = (key && i < max_entries) ? i + 1 : 0;
  if (n >= max_entries) return -kENOENT;
  std::memcpy(next, &n, 4);
  return 0;
}

// Array, per-CPU array, and the redirect arrays (device map, CPU map, AF_XDP socket map):
// max_entries values indexed by a u32 key.
class ArrayMap final : public Map {
 public:
  explicit ArrayMap(const MapSpec& spec)
      : Map(spec),
        storage_(size_t(spec.max_entries) * Stride() * spec.num_cpus),
        present_(spec.type == kMapXskmap ? spec.max_entries : 0) {}

  void* Lookup(const void* key, uint32_t cpu) override {
    uint32_t i;
    std::memcpy(&i, key, 4);
    if (i >= spec_.max_entries) return nullptr;
    uint8_t* v = Slot(i) + CpuOffset(cpu);
    // The redirect maps' empty entries, as the kernel's: a device map entry with ifindex 0, a CPU
    // map entry with queue size 0, an AF_XDP socket map entry never set (or deleted).
    if ((spec_.type == kMapDevmap || spec_.type == kMapCpumap) &&
        (v[0] == 0 && v[1] == 0 && v[2] == 0 && v[3] == 0)) {
      return nullptr;
    }
    if (spec_.type == kMapXskmap && !present_[i]) return nullptr;
    return v;
  }
  int64_t Update(const void* key, const void* value, uint64_t flags, uint32_t cpu) override {
    uint32_t i;
    std::memcpy(&i, key, 4);
    if (flags > kUpdateExist) return -kEINVAL;
    if (i >= spec_.max_entries) return -kE2BIG;
    if (flags == kUpdateNoExist) return -kEEXIST;
    std::memcpy(Slot(i) + CpuOffset(cpu), value, spec_.value_size);
    if (!present_.empty()) present_[i] = 1;
    return 0;
  }
  // Plain arrays cannot delete (-EINVAL); the redirect maps empty the entry.
  int64_t Delete(const void* key) override {
    if (spec_.type != kMapDevmap && spec_.type != kMapCpumap && spec_.type != kMapXskmap)
      return -kEINVAL;
    uint32_t i;
    std::memcpy(&i, key, 4);
    if (i >= spec_.max_entries) return -kEINVAL;
    std::memset(Slot(i), 0, Stride());
    if (!present_.empty()) present_[i] = 0;
    return 0;
  }
  int64_t NextKey(const void* key, void* next) override {
    return IndexNextKey(key, next, spec_.max_entries);
  }
  [[nodiscard]] bool ContainsValue(uint64_t addr, uint64_t size) const override {
    const uint64_t lo = uint64_t(storage_.data());
    if (addr < lo || addr - lo >= storage_.size()) return false;
    const uint64_t in = (addr - lo) % Stride();
    return in + size <= spec_.value_size;
  }
  uint8_t* DirectValue(uint32_t index) override {
    return index < spec_.max_entries && !PerCpu() ? Slot(index) : nullptr;
  }

 protected:
  uint8_t* LookupAllCpus(const void* key) override {
    uint32_t i;
    std::memcpy(&i, key, 4);
    return i < spec_.max_entries ? Slot(i) : nullptr;
  }
  int64_t UpdateAllCpus(const void* key, const uint8_t* values, uint64_t flags) override {
    uint8_t* slot = LookupAllCpus(key);
    if (flags > kUpdateExist) return -kEINVAL;
    if (!slot) return -kE2BIG;
    if (flags == kUpdateNoExist) return -kEEXIST;
    std::memcpy(slot, values, size_t(Stride()) * spec_.num_cpus);
    return 0;
  }

 private:
  uint8_t* Slot(uint32_t i) { return storage_.data() + size_t(i) * Stride() * spec_.num_cpus; }
  std::vector<uint8_t> storage_;
  std::vector<uint8_t> present_;  // AF_XDP socket map: which entries are set
};

// Hash, per-CPU hash, LRU hash and (keyed on the masked prefix) the LPM trie's storage: a slab of
// max_entries preallocated elements (key, then one value per CPU) indexed by an open-addressing
// table with linear probing and backward-shift deletion, so no tombstones accumulate.
class HashMap : public Map {
 public:
  explicit HashMap(const MapSpec& spec, bool lru)
      : Map(spec),
        lru_(lru),
        key_bytes_((spec.key_size + 7) & ~7u),
        elem_size_(key_bytes_ + size_t(Stride()) * spec.num_cpus),
        slab_(size_t(spec.max_entries) * elem_size_),
        prev_(lru ? spec.max_entries : 0),
        next_(lru ? spec.max_entries : 0) {
    uint32_t cap = 8;
    while (cap < 2 * spec.max_entries) cap *= 2;
    table_.assign(cap, kEmpty);
    free_.reserve(spec.max_entries);
    for (uint32_t i = spec.max_entries; i-- > 0;) free_.push_back(i);
  }

  void* Lookup(const void* key, uint32_t cpu) override {
    const uint32_t e = Find(key);
    if (e == kEmpty) return nullptr;
    if (lru_) Touch(e);
    return Value(e) + CpuOffset(cpu);
  }
  int64_t Update(const void* key, const void* value, uint64_t flags, uint32_t cpu) override {
    uint32_t e;
    if (int64_t rc = Place(key, flags, &e); rc != 0) return rc;
    std::memcpy(Value(e) + CpuOffset(cpu), value, spec_.value_size);
    return 0;
  }
  int64_t Delete(const void* key) override {
    const uint64_t h = HashBytes(static_cast<const uint8_t*>(key), spec_.key_size);
    const uint32_t mask = uint32_t(table_.size() - 1);
    for (uint32_t pos = uint32_t(h) & mask;; pos = (pos + 1) & mask) {
      const uint32_t e = table_[pos];
      if (e == kEmpty) return -kENOENT;
      if (std::memcmp(Key(e), key, spec_.key_size) != 0) continue;
      EraseAt(pos);
      if (lru_) Unlink(e);
      free_.push_back(e);
      --count_;
      return 0;
    }
  }
  int64_t NextKey(const void* key, void* next) override {
    // Iterate in table order: after `key`'s slot, or from the start when it is absent.
    size_t start = 0;
    if (key) {
      if (uint32_t pos = FindPos(key); pos != kEmpty) start = pos + 1;
    }
    for (size_t pos = start; pos < table_.size(); ++pos) {
      if (table_[pos] != kEmpty) {
        std::memcpy(next, Key(table_[pos]), spec_.key_size);
        return 0;
      }
    }
    return -kENOENT;
  }
  [[nodiscard]] bool ContainsValue(uint64_t addr, uint64_t size) const override {
    const uint64_t lo = uint64_t(slab_.data());
    if (addr < lo || addr - lo >= slab_.size()) return false;
    const uint64_t in = (addr - lo) % elem_size_;
    if (in < key_bytes_) return false;
    return (in - key_bytes_) % Stride() + size <= spec_.value_size;
  }

 protected:
  static constexpr uint32_t kEmpty = UINT32_MAX;

  uint8_t* LookupAllCpus(const void* key) override {
    const uint32_t e = Find(key);
    return e == kEmpty ? nullptr : Value(e);
  }
  int64_t UpdateAllCpus(const void* key, const uint8_t* values, uint64_t flags) override {
    uint32_t e;
    if (int64_t rc = Place(key, flags, &e); rc != 0) return rc;
    std::memcpy(Value(e), values, size_t(Stride()) * spec_.num_cpus);
    return 0;
  }

  uint8_t* Key(uint32_t e) { return slab_.data() + size_t(e) * elem_size_; }
  uint8_t* Value(uint32_t e) { return Key(e) + key_bytes_; }

  uint32_t FindPos(const void* key) {
    const uint64_t h = HashBytes(static_cast<const uint8_t*>(key), spec_.key_size);
    const uint32_t mask = uint32_t(table_.size() - 1);
    for (uint32_t pos = uint32_t(h) & mask;; pos = (pos + 1) & mask) {
      const uint32_t e = table_[pos];
      if (e == kEmpty) return kEmpty;
      if (std::memcmp(Key(e), key, spec_.key_size) == 0) return pos;
    }
  }
  uint32_t Find(const void* key) {
    const uint32_t pos = FindPos(key);
    return pos == kEmpty ? kEmpty : table_[pos];
  }

  // Finds or inserts `key` under `flags`; *e is its element. New elements start zeroed.
  int64_t Place(const void* key, uint64_t flags, uint32_t* e) {
    if (flags > kUpdateExist) return -kEINVAL;
    *e = Find(key);
    if (*e != kEmpty) {
      if (flags == kUpdateNoExist) return -kEEXIST;
      if (lru_) Touch(*e);
      return 0;
    }
    if (flags == kUpdateExist) return -kENOENT;
    if (free_.empty()) {
      if (!lru_ || tail_ == kEmpty) {
        ++failed_inserts_;
        return -kE2BIG;
      }
      // Evict the least recently used element.
      uint8_t victim[256];
      std::vector<uint8_t> big;
      uint8_t* vk = victim;
      if (spec_.key_size > sizeof(victim)) {
        big.resize(spec_.key_size);
        vk = big.data();
      }
      std::memcpy(vk, Key(tail_), spec_.key_size);
      Delete(vk);
    }
    *e = free_.back();
    free_.pop_back();
    std::memcpy(Key(*e), key, spec_.key_size);
    std::memset(Value(*e), 0, elem_size_ - key_bytes_);
    const uint64_t h = HashBytes(static_cast<const uint8_t*>(key), spec_.key_size);
    const uint32_t mask = uint32_t(table_.size() - 1);
    uint32_t pos = uint32_t(h) & mask;
    while (table_[pos] != kEmpty) pos = (pos + 1) & mask;
    table_[pos] = *e;
    ++count_;
    if (lru_) PushFront(*e);
    return 0;
  }

  void EraseAt(uint32_t pos) {
    const uint32_t mask = uint32_t(table_.size() - 1);
    table_[pos] = kEmpty;
    // Backward-shift: move later members of the probe run into the hole when their home allows.
    for (uint32_t next = (pos + 1) & mask; table_[next] != kEmpty; next = (next + 1) & mask) {
      const uint32_t home = uint32_t(HashBytes(Key(table_[next]), spec_.key_size)) & mask;
      // Movable when `home` is not cyclically in (pos, next].
      const bool movable =
          pos <= next ? (home <= pos || home > next) : (home <= pos && home > next);
      if (movable) {
        table_[pos] = table_[next];
        table_[next] = kEmpty;
        pos = next;
      }
    }
  }

  void Touch(uint32_t e) {
    if (head_ == e) return;
    Unlink(e);
    PushFront(e);
  }
  void PushFront(uint32_t e) {
    prev_[e] = kEmpty;
    next_[e] = head_;
    if (head_ != kEmpty) prev_[head_] = e;
    head_ = e;
    if (tail_ == kEmpty) tail_ = e;
  }
  void Unlink(uint32_t e) {
    if (prev_[e] != kEmpty)
      next_[prev_[e]] = next_[e];
    else
      head_ = next_[e];
    if (next_[e] != kEmpty)
      prev_[next_[e]] = prev_[e];
    else
      tail_ = prev_[e];
  }

  const bool lru_;
  const uint32_t key_bytes_;
  const size_t elem_size_;
  std::vector<uint8_t> slab_;
  std::vector<uint32_t> table_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> prev_, next_;  // LRU list, most recent at head_
  uint32_t head_ = kEmpty, tail_ = kEmpty;
  uint32_t count_ = 0;
};

// Longest-prefix-match trie (BPF_MAP_TYPE_LPM_TRIE). Keys are struct bpf_lpm_trie_key: a host-order
// u32 prefix length, then the data bytes in network order. Elements live in a hash map keyed on the
// masked prefix; a lookup probes each prefix length present, longest first (at most data bits + 1
// probes, usually a handful).
class LpmTrie final : public HashMap {
 public:
  explicit LpmTrie(const MapSpec& spec)
      : HashMap(spec, /*lru=*/false), bits_((spec.key_size - 4) * 8), counts_(bits_ + 1) {}

  void* Lookup(const void* key, uint32_t cpu) override {
    uint8_t buf[260];
    const auto* k = static_cast<const uint8_t*>(key);
    uint32_t plen;
    std::memcpy(&plen, k, 4);
    plen = std::min(plen, bits_);
    for (uint32_t l = plen + 1; l-- > 0;) {
      if (counts_[l] == 0) continue;
      Mask(k, l, buf);
      if (void* v = HashMap::Lookup(buf, cpu)) return v;
    }
    return nullptr;
  }
  int64_t Update(const void* key, const void* value, uint64_t flags, uint32_t cpu) override {
    uint8_t buf[260];
    uint32_t plen;
    std::memcpy(&plen, key, 4);
    if (plen > bits_) return -kEINVAL;
    Mask(static_cast<const uint8_t*>(key), plen, buf);
    const bool existed = HashMap::Find(buf) != kEmpty;
    int64_t rc = HashMap::Update(buf, value, flags, cpu);
    if (rc == 0 && !existed) ++counts_[plen];
    return rc;
  }
  int64_t Delete(const void* key) override {
    uint8_t buf[260];
    uint32_t plen;
    std::memcpy(&plen, key, 4);
    if (plen > bits_) return -kEINVAL;
    Mask(static_cast<const uint8_t*>(key), plen, buf);
    int64_t rc = HashMap::Delete(buf);
    if (rc == 0) --counts_[plen];
    return rc;
  }

 private:
  void Mask(const uint8_t* key, uint32_t plen, uint8_t* out) const {
    std::memcpy(out, &plen, 4);
    for (uint32_t i = 0; i < bits_ / 8; ++i) {
      const uint32_t bit = i * 8;
      uint8_t m = plen >= bit + 8 ? 0xff : plen <= bit ? 0 : uint8_t(0xff << (8 - (plen - bit)));
      out[4 + i] = key[4 + i] & m;
    }
  }

  const uint32_t bits_;
  std::vector<uint32_t> counts_;  // elements per prefix length
};

}  // namespace

base::Result<std::shared_ptr<Map>> Map::Create(const MapSpec& in) {
  MapSpec spec = in;
  auto fail = [&](std::string why) {
    return base::MakeError(fmt::format("map '{}': {}", spec.name, why));
  };
  if (spec.max_entries == 0) return fail("max_entries is 0");
  if (spec.num_cpus == 0) spec.num_cpus = 1;
  if (spec.type != kMapPerCpuArray && spec.type != kMapPerCpuHash) spec.num_cpus = 1;
  if (spec.value_size > (1u << 20)) return fail("value_size over 1 MiB");
  if (spec.key_size > 256) return fail("key_size over 256 bytes");
  if (uint64_t(spec.max_entries) * ((spec.value_size + 7) & ~7u) * spec.num_cpus > (1ull << 32)) {
    return fail("map over 4 GiB");
  }
  switch (spec.type) {
    case kMapArray:
    case kMapPerCpuArray:
    case kMapDevmap:
    case kMapCpumap:
    case kMapXskmap:
      if (spec.key_size != 4) return fail("array key_size must be 4");
      if (spec.value_size == 0) return fail("value_size is 0");
      if ((spec.type == kMapDevmap || spec.type == kMapCpumap) && spec.value_size != 4 &&
          spec.value_size != 8) {
        return fail("devmap and cpumap value_size must be 4 or 8");
      }
      if (spec.type == kMapXskmap && spec.value_size != 4)
        return fail("xskmap value_size must be 4");
      return std::shared_ptr<Map>(std::make_shared<ArrayMap>(spec));
    case kMapDevmapHash:
      if (spec.key_size != 4 || (spec.value_size != 4 && spec.value_size != 8))
        return fail("devmap_hash key_size must be 4, value_size 4 or 8");
      if (spec.max_entries > (1u << 26)) return fail("max_entries over 2^26");
      return std::shared_ptr<Map>(std::make_shared<HashMap>(spec, /*lru=*/false));
    case kMapPerfEventArray:
      if (spec.key_size != 4 || spec.value_size != 4)
        return fail("perf event array sizes must be 4/4");
      return std::shared_ptr<Map>(std::make_shared<PerfEventArray>(spec));
    case kMapRingbuf:
      if (spec.key_size != 0 || spec.value_size != 0)
        return fail("ring buffer key_size and value_size must be 0");
      if (spec.max_entries < 4096 || (spec.max_entries & (spec.max_entries - 1)) != 0 ||
          spec.max_entries > (1u << 30))
        return fail("ring buffer size (max_entries) must be a power of 2 from 4096 to 1 GiB");
      return std::shared_ptr<Map>(std::make_shared<RingBuffer>(spec));
    case kMapHash:
    case kMapPerCpuHash:
    case kMapLruHash:
      if (spec.key_size == 0 || spec.value_size == 0) return fail("key_size or value_size is 0");
      if (spec.max_entries > (1u << 26)) return fail("max_entries over 2^26");
      return std::shared_ptr<Map>(std::make_shared<HashMap>(spec, spec.type == kMapLruHash));
    case kMapLpmTrie:
      if (spec.key_size < 5 || spec.key_size > 4 + 256 - 4) return fail("bad LPM key_size");
      if (spec.value_size == 0) return fail("value_size is 0");
      if (spec.max_entries > (1u << 24)) return fail("max_entries over 2^24");
      return std::shared_ptr<Map>(std::make_shared<LpmTrie>(spec));
    case kMapProgArray:
      if (spec.key_size != 4 || spec.value_size != 4) return fail("prog array sizes must be 4/4");
      return std::shared_ptr<Map>(std::make_shared<ProgramArray>(spec));
    default:
      return fail(fmt::format("unsupported map type {}", spec.type));
  }
}

uint32_t Map::HostValueSize() const {
  return PerCpu() ? Stride() * spec_.num_cpus : spec_.value_size;
}

base::Result<std::vector<uint8_t>> Map::HostLookup(std::span<const uint8_t> key) {
  if (key.size() != spec_.key_size) return base::MakeError("key size mismatch");
  const uint8_t* v =
      PerCpu() ? LookupAllCpus(key.data()) : static_cast<const uint8_t*>(Lookup(key.data(), 0));
  if (!v) return base::MakeError(Errno(-kENOENT));
  return std::vector<uint8_t>(v, v + HostValueSize());
}

base::Status Map::HostUpdate(std::span<const uint8_t> key, std::span<const uint8_t> value,
                             uint64_t flags) {
  if (key.size() != spec_.key_size) return base::MakeError("key size mismatch");
  if (value.size() != HostValueSize()) {
    return base::MakeError(
        fmt::format("value size {} (expected {})", value.size(), HostValueSize()));
  }
  int64_t rc = PerCpu() ? UpdateAllCpus(key.data(), value.data(), flags)
                        : Update(key.data(), value.data(), flags, 0);
  if (rc != 0) return base::MakeError(Errno(rc));
  return {};
}

base::Status Map::HostDelete(std::span<const uint8_t> key) {
  if (key.size() != spec_.key_size) return base::MakeError("key size mismatch");
  if (int64_t rc = Delete(key.data()); rc != 0) return base::MakeError(Errno(rc));
  return {};
}

std::optional<std::vector<uint8_t>> Map::HostNextKey(std::optional<std::span<const uint8_t>> key) {
  if (key && key->size() != spec_.key_size) return std::nullopt;
  std::vector<uint8_t> next(spec_.key_size);
  if (NextKey(key ? key->data() : nullptr, next.data()) != 0) return std::nullopt;
  return next;
}

std::vector<std::vector<uint8_t>> Map::HostKeys() {
  std::vector<std::vector<uint8_t>> keys;
  auto k = HostNextKey(std::nullopt);
  while (k && keys.size() <= spec_.max_entries) {
    keys.push_back(*k);
    k = HostNextKey(std::span<const uint8_t>(keys.back()));
  }
  return keys;
}

int64_t PerfEventArray::Output(uint32_t index, std::span<const uint8_t> a,
                               std::span<const uint8_t> b) {
  if (index >= spec_.max_entries) return -kE2BIG;
  std::lock_guard lock(mu_);
  const size_t size = a.size() + b.size();
  if (bytes_ + size > kMaxBytes) {
    ++dropped_;
    return -kENOSPC;
  }
  MapEvent& e = events_.emplace_back();
  e.cpu = index;
  e.data.reserve(size);
  e.data.insert(e.data.end(), a.begin(), a.end());
  e.data.insert(e.data.end(), b.begin(), b.end());
  bytes_ += size;
  return 0;
}

int64_t PerfEventArray::Update(const void* key, const void*, uint64_t flags, uint32_t) {
  uint32_t i;
  std::memcpy(&i, key, 4);
  if (flags > kUpdateExist) return -kEINVAL;
  return i < spec_.max_entries ? 0 : -kE2BIG;
}

int64_t PerfEventArray::Delete(const void* key) {
  uint32_t i;
  std::memcpy(&i, key, 4);
  return i < spec_.max_entries ? 0 : -kEINVAL;
}

int64_t PerfEventArray::NextKey(const void* key, void* next) {
  return IndexNextKey(key, next, spec_.max_entries);
}

size_t PerfEventArray::DrainEvents(std::vector<MapEvent>& out, size_t max) {
  std::lock_guard lock(mu_);
  size_t n = 0;
  while (n < max && !events_.empty()) {
    bytes_ -= events_.front().data.size();
    out.push_back(std::move(events_.front()));
    events_.pop_front();
    ++n;
  }
  return n;
}

uint64_t PerfEventArray::dropped_events() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

uint8_t* RingBuffer::Reserve(uint64_t size, uint64_t flags) {
  const uint64_t cap = data_.size();
  if (flags != 0) return nullptr;
  std::lock_guard lock(mu_);
  const uint64_t total = (size + 8 + 7) & ~uint64_t(7);
  if (size > kLenMask || total > cap) {
    ++dropped_;
    return nullptr;
  }
  const uint64_t off = producer_ & (cap - 1);
  const uint64_t pad = off + total > cap ? cap - off : 0;
  if (producer_ + pad + total - consumer_ > cap) {
    ++dropped_;
    return nullptr;
  }
  if (pad != 0) {
    const uint32_t header = kPad | uint32_t(pad - 8);
    std::memcpy(&data_[off], &header, 4);
    producer_ += pad;
  }
  const uint64_t at = producer_ & (cap - 1);
  const uint32_t header = kBusy | uint32_t(size);
  std::memcpy(&data_[at], &header, 4);
  producer_ += total;
  uint8_t* record = &data_[at + 8];
  // Zeroed, unlike the kernel's: a program that reads before it writes sees no earlier record.
  std::memset(record, 0, size);
  reserved_.emplace_back(uint64_t(record), size);
  return record;
}

bool RingBuffer::Commit(uint8_t* record, bool discard) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(reserved_.begin(), reserved_.end(),
                         [&](const auto& r) { return r.first == uint64_t(record); });
  if (it == reserved_.end()) return false;
  reserved_.erase(it);
  uint32_t header;
  std::memcpy(&header, record - 8, 4);
  header = (header & ~kBusy) | (discard ? kDiscard : 0);
  std::memcpy(record - 8, &header, 4);
  return true;
}

int64_t RingBuffer::Output(std::span<const uint8_t> data, uint64_t flags) {
  constexpr uint64_t kWakeupFlags = 3;  // BPF_RB_NO_WAKEUP, BPF_RB_FORCE_WAKEUP
  if (flags & ~kWakeupFlags) return -kEINVAL;
  uint8_t* record = Reserve(data.size(), 0);
  if (record == nullptr) return -kEAGAIN;
  if (!data.empty()) std::memcpy(record, data.data(), data.size());
  Commit(record, false);
  return 0;
}

uint64_t RingBuffer::Query(uint64_t flags) const {
  std::lock_guard lock(mu_);
  switch (flags) {
    case 0:
      return producer_ - consumer_;
    case 1:
      return data_.size();
    case 2:
      return consumer_;
    case 3:
      return producer_;
    default:
      return 0;
  }
}

bool RingBuffer::ContainsValue(uint64_t addr, uint64_t size) const {
  std::lock_guard lock(mu_);
  for (const auto& [lo, n] : reserved_)
    if (addr >= lo && addr + size <= lo + n && addr + size >= addr) return true;
  return false;
}

size_t RingBuffer::DrainEvents(std::vector<MapEvent>& out, size_t max) {
  std::lock_guard lock(mu_);
  const uint64_t cap = data_.size();
  size_t n = 0;
  while (n < max && consumer_ < producer_) {
    const uint64_t at = consumer_ & (cap - 1);
    uint32_t header;
    std::memcpy(&header, &data_[at], 4);
    if (header & kBusy) break;  // reserved, not yet committed: later records wait behind it
    const uint64_t len = header & kLenMask;
    if (!(header & (kPad | kDiscard))) {
      MapEvent& e = out.emplace_back();
      e.data.assign(&data_[at + 8], &data_[at + 8] + len);
      ++n;
    }
    consumer_ += (len + 8 + 7) & ~uint64_t(7);
  }
  return n;
}

uint64_t RingBuffer::dropped_events() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

base::Status ProgramArray::SetProgram(uint32_t index, std::shared_ptr<const Program> program) {
  if (index >= programs_.size()) return base::MakeError(Errno(-kE2BIG));
  programs_[index] = std::move(program);
  return {};
}

int64_t ProgramArray::Delete(const void* key) {
  uint32_t i;
  std::memcpy(&i, key, 4);
  if (i >= programs_.size() || !programs_[i]) return -kENOENT;
  programs_[i].reset();
  return 0;
}

int64_t ProgramArray::NextKey(const void* key, void* next) {
  return IndexNextKey(key, next, spec_.max_entries);
}

}  // namespace vigil::ebpf

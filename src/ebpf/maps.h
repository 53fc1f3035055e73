// eBPF maps in user space, with the kernel's semantics for programs (bpf_map_lookup_elem and
// friends, errno-style results) and a host API for the control plane (the bpf(2) syscall's view:
// per-CPU maps read and write one value per CPU, each padded to 8 bytes).
//
//   auto map = ebpf::Map::Create({.type = ebpf::kMapHash, .key_size = 4, .value_size = 8,
//                                 .max_entries = 1024, .name = "counts"});
//   if (!map) return map.error();
//   uint8_t key[4] = {7, 0, 0, 0}, value[8] = {1};
//   if (auto st = (*map)->HostUpdate(key, value); !st) return st.error();
//   void* v = (*map)->Lookup(key, /*cpu=*/0);         // what a program's lookup returns
//
// Event maps carry records from programs to the host: a perf event array (bpf_perf_event_output)
// and a ring buffer (bpf_ringbuf_output, or bpf_ringbuf_reserve then _submit/_discard). The host
// takes what programs wrote with DrainEvents; a record that does not fit (the ring buffer's
// max_entries bytes, or 256 KiB of records waiting in a perf event array) is dropped and counted
// in dropped_events(), as the kernel's rings lose records a slow reader leaves behind.
//
//   std::vector<ebpf::MapEvent> events;
//   map->DrainEvents(events, /*max=*/1024);   // oldest first
//
// Redirect maps (device map, device hash map, CPU map, AF_XDP socket map) name where
// bpf_redirect_map sends a packet; RunXdp reports the target (xdp.h, XdpVerdict::redirect).
//
// Memory is preallocated at creation (as the kernel's default BPF_F_NO_PREALLOC-less maps do), so
// max_entries is the memory cap: an insert into a full hash map fails with -E2BIG and is counted in
// failed_inserts(); an LRU hash map evicts its least recently used element instead. Value pointers
// handed to programs stay valid for the map's life (a deleted element's memory is reused, never
// freed). Maps are not internally synchronized beyond what the kernel guarantees: concurrent
// updates of one hash map from several threads need the caller's lock.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "ebpf/isa.h"

namespace vigil::ebpf {

class Program;

// One record a program wrote into a perf event array or a ring buffer.
struct MapEvent {
  uint32_t cpu = 0;  // perf event array: the index written to (the CPU); ring buffer: 0
  std::vector<uint8_t> data;
};

// What the bpf(2) syscall's BPF_MAP_CREATE takes.
struct MapSpec {
  uint32_t type = kMapArray;
  uint32_t key_size = 4;
  uint32_t value_size = 4;
  uint32_t max_entries = 1;
  uint32_t flags = 0;
  std::string name;
  uint32_t num_cpus = 1;  // per-CPU maps keep this many copies of each value
};

class Map {
 public:
  // Validates the spec (sizes, type) and preallocates the storage.
  [[nodiscard]] static base::Result<std::shared_ptr<Map>> Create(const MapSpec& spec);
  virtual ~Map() = default;

  [[nodiscard]] const MapSpec& spec() const { return spec_; }
  [[nodiscard]] uint32_t type() const { return spec_.type; }
  [[nodiscard]] uint64_t failed_inserts() const { return failed_inserts_; }

  // --- Program side: raw key/value pointers of key_size/value_size bytes, kernel results. ---
  // The value of `key` for `cpu` (per-CPU maps) or nullptr when absent.
  virtual void* Lookup(const void* key, uint32_t cpu) = 0;
  // 0, or -EEXIST / -ENOENT (flags), -E2BIG (full), -EINVAL (bad flags or key).
  virtual int64_t Update(const void* key, const void* value, uint64_t flags, uint32_t cpu) = 0;
  // 0, -ENOENT, or -EINVAL (arrays cannot delete).
  virtual int64_t Delete(const void* key) = 0;
  // Writes the key after `key` (the first key when `key` is null or absent) into `next`: 0, or
  // -ENOENT after the last key.
  virtual int64_t NextKey(const void* key, void* next) = 0;
  // Whether [addr, addr + size) lies inside the value storage of this map (checked mode).
  [[nodiscard]] virtual bool ContainsValue(uint64_t addr, uint64_t size) const = 0;
  // The address of array element `index`'s value, for 64-bit immediate loads of a map value
  // (lddw src=2); nullptr for maps that are not arrays.
  virtual uint8_t* DirectValue(uint32_t index) { return nullptr; }

  // --- Event maps (perf event array, ring buffer); the others have no events. ---
  // Moves at most `max` records, oldest first, to the end of `out`; returns how many.
  virtual size_t DrainEvents(std::vector<MapEvent>& out, size_t max) { return 0; }
  // Records dropped because the map was full.
  [[nodiscard]] virtual uint64_t dropped_events() const { return 0; }

  // --- Host side: copies; per-CPU values are num_cpus values padded to 8 bytes each. ---
  // The byte size of a host-side value.
  [[nodiscard]] uint32_t HostValueSize() const;
  [[nodiscard]] base::Result<std::vector<uint8_t>> HostLookup(std::span<const uint8_t> key);
  [[nodiscard]] base::Status HostUpdate(std::span<const uint8_t> key,
                                        std::span<const uint8_t> value,
                                        uint64_t flags = kUpdateAny);
  [[nodiscard]] base::Status HostDelete(std::span<const uint8_t> key);
  // The key after `key` (the first when nullopt), or nullopt after the last key.
  [[nodiscard]] std::optional<std::vector<uint8_t>> HostNextKey(
      std::optional<std::span<const uint8_t>> key);
  // Every key, in iteration order.
  [[nodiscard]] std::vector<std::vector<uint8_t>> HostKeys();

 protected:
  explicit Map(const MapSpec& spec) : spec_(spec) {}
  [[nodiscard]] bool PerCpu() const {
    return spec_.type == kMapPerCpuArray || spec_.type == kMapPerCpuHash;
  }
  // Bytes between the values of two CPUs (value_size rounded up to 8).
  [[nodiscard]] uint32_t Stride() const { return (spec_.value_size + 7) & ~7u; }
  // Where CPU `cpu`'s value of an entry lies, in bytes from the entry's first (0 for a map that
  // is not per-CPU). A CPU number past the map's copies wraps; the division only then (it is
  // most of a lookup's cost otherwise).
  [[nodiscard]] size_t CpuOffset(uint32_t cpu) const {
    if (!PerCpu()) return 0;
    return size_t(cpu < spec_.num_cpus ? cpu : cpu % spec_.num_cpus) * Stride();
  }
  // Per-CPU maps: a pointer to all CPUs' values of `key`, or nullptr.
  virtual uint8_t* LookupAllCpus(const void* key) { return static_cast<uint8_t*>(Lookup(key, 0)); }
  // Inserts or replaces `key` with all CPUs' values at once (host updates of per-CPU maps).
  virtual int64_t UpdateAllCpus(const void* key, const uint8_t* values, uint64_t flags) {
    return Update(key, values, flags, 0);
  }

  MapSpec spec_;
  uint64_t failed_inserts_ = 0;
};

// A program array (BPF_MAP_TYPE_PROG_ARRAY): the targets of bpf_tail_call. Programs cannot look up
// or update it; the host installs programs with SetProgram.
class ProgramArray final : public Map {
 public:
  explicit ProgramArray(const MapSpec& spec) : Map(spec), programs_(spec.max_entries) {}
  [[nodiscard]] base::Status SetProgram(uint32_t index, std::shared_ptr<const Program> program);
  [[nodiscard]] const Program* Get(uint32_t index) const {
    return index < programs_.size() ? programs_[index].get() : nullptr;
  }

  void* Lookup(const void*, uint32_t) override { return nullptr; }
  int64_t Update(const void*, const void*, uint64_t, uint32_t) override { return -kEINVAL; }
  int64_t Delete(const void* key) override;
  int64_t NextKey(const void* key, void* next) override;
  [[nodiscard]] bool ContainsValue(uint64_t, uint64_t) const override { return false; }

 private:
  std::vector<std::shared_ptr<const Program>> programs_;
};

// A perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY): bpf_perf_event_output appends a record for
// index `cpu`; every index is open (vigil has no perf events to attach). At most kMaxBytes of
// records wait for the host; beyond that a record is dropped and the helper returns -ENOSPC.
class PerfEventArray final : public Map {
 public:
  static constexpr size_t kMaxBytes = 256 * 1024;
  explicit PerfEventArray(const MapSpec& spec) : Map(spec) {}

  // Appends `a` then `b` as one record: 0, -E2BIG (index past max_entries) or -ENOSPC (full).
  int64_t Output(uint32_t index, std::span<const uint8_t> a, std::span<const uint8_t> b);

  void* Lookup(const void*, uint32_t) override { return nullptr; }
  int64_t Update(const void* key, const void*, uint64_t flags, uint32_t) override;
  int64_t Delete(const void* key) override;
  int64_t NextKey(const void* key, void* next) override;
  [[nodiscard]] bool ContainsValue(uint64_t, uint64_t) const override { return false; }
  size_t DrainEvents(std::vector<MapEvent>& out, size_t max) override;
  [[nodiscard]] uint64_t dropped_events() const override;

 private:
  mutable std::mutex mu_;
  std::deque<MapEvent> events_;
  size_t bytes_ = 0;
  uint64_t dropped_ = 0;
};

// A ring buffer (BPF_MAP_TYPE_RINGBUF) of max_entries bytes (a power of 2, a multiple of 4096), as
// the kernel lays it out: each record an 8-byte header (length, busy and discard bits) then the
// data, rounded up to 8 bytes. A record is reserved in place (the program writes into the ring),
// then submitted or discarded; the host reads committed records in order and stops at the first
// one still reserved. A record that would wrap starts at the beginning instead, after a padding
// record, so that reserved memory is contiguous. Safe to use from several threads.
class RingBuffer final : public Map {
 public:
  explicit RingBuffer(const MapSpec& spec) : Map(spec), data_(spec.max_entries) {}

  // A record of `size` bytes to write, or nullptr (flags other than 0, or no room: counted).
  uint8_t* Reserve(uint64_t size, uint64_t flags);
  // Commits (or discards) a record Reserve returned; false (and nothing done) when `record` is not
  // the start of a reserved record of this ring.
  bool Commit(uint8_t* record, bool discard);
  // bpf_ringbuf_output: 0, -EINVAL (flags) or -EAGAIN (no room).
  int64_t Output(std::span<const uint8_t> data, uint64_t flags);
  // bpf_ringbuf_query: 0 bytes waiting, 1 ring size, 2 consumer position, 3 producer position.
  uint64_t Query(uint64_t flags) const;

  void* Lookup(const void*, uint32_t) override { return nullptr; }
  int64_t Update(const void*, const void*, uint64_t, uint32_t) override { return -kEINVAL; }
  int64_t Delete(const void*) override { return -kEINVAL; }
  int64_t NextKey(const void*, void*) override { return -kEINVAL; }
  // Whether [addr, addr + size) lies inside a record that is reserved now.
  [[nodiscard]] bool ContainsValue(uint64_t addr, uint64_t size) const override;
  size_t DrainEvents(std::vector<MapEvent>& out, size_t max) override;
  [[nodiscard]] uint64_t dropped_events() const override;

 private:
  static constexpr uint32_t kBusy = 1u << 31, kDiscard = 1u << 30, kPad = 1u << 29;
  static constexpr uint32_t kLenMask = kPad - 1;

  mutable std::mutex mu_;
  std::vector<uint8_t> data_;
  uint64_t producer_ = 0, consumer_ = 0;  // byte positions, only ever growing
  uint64_t dropped_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> reserved_;  // [address, size) of reserved records
};

}  // namespace vigil::ebpf

// Overlap resolution shared by TCP reassembly and IP defragmentation: the target-based policies
// (which of old and new data a receiving operating system keeps when segments or fragments
// overlap), a small prefix -> policy table to choose one per destination network, and
// SegmentList, the sorted, non-overlapping store of not-yet-delivered data they apply to.
//
//   reassembly::PolicyTable table(reassembly::Policy::kBsd);       // the default
//   if (auto s = table.Add("10.1.0.0/16", "windows"); !s) return s.error();
//   reassembly::Policy p = table.Lookup(server_address);
//   list.Insert(offset, data, len, reassembly::TcpRules(p));
//
// Overlap shapes, named from the existing (old) data's point of view, as in Snort:
// - left: an old piece starts before the new one and overlaps its start;
// - right, partial: the new piece ends inside an old piece that starts at or after its start;
// - right, full: an old piece lies entirely inside the new one.
// The rules below say who wins the overlapping bytes for each shape ("same start" means the
// old piece starts exactly where the new data still to be placed starts).
//
// TCP (Snort 3 stream_tcp's resolvers; bsd, macos and windows share one rule set there):
//   policy   left                      right partial             right full
//   first    old                       old                       old
//   last     new                       new                       new
//   linux    old                       old if same start         new unless same start and
//                                                                not longer
//   bsd      old                       old if same start         new unless same start
//   macos    = bsd                     = bsd                     = bsd
//   windows  = bsd                     = bsd                     = bsd
//   solaris  old if it covers the      old                       new, except old when the new
//            new end, else new                                   one repeats an old segment's
//                                                                start and length after a hole
// IP fragments (Snort 2 frag3, after Novak's target-based fragmentation paper):
//   policy   left                      right partial             right full
//   first    old                       old                       old
//   last     new                       new                       new
//   linux    old                       new                       new
//   bsd      old                       old if same start         new unless same start
//   windows  old                       old                       new only if it extends past
//                                                                both ends, else old
//   solaris  old                       old                       new unless same start
//   bsd-right old if it covers the     old                       new
//            new end, else new
// Bytes already delivered in order are never replaced: the target had accepted them too.
//
// Cost: Insert is O(k + log n) for k overlapped pieces among n held, plus copying the new bytes;
// each held piece is one heap block. Memory is reported so that callers enforce their caps.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/ip_address.h"
#include "base/result.h"

namespace vigil::reassembly {

enum class Policy : uint8_t { kFirst, kLast, kLinux, kBsd, kWindows, kSolaris, kMacos, kBsdRight };
inline constexpr int kPolicyCount = 8;

// "first", "last", "linux", "bsd", "windows", "solaris", "macos", "bsd-right".
[[nodiscard]] std::string_view PolicyName(Policy p);
[[nodiscard]] std::optional<Policy> ParsePolicy(std::string_view name);

enum class LeftRule : uint8_t { kOldWins, kNewWins, kOldWinsIfCoversNewEnd };
enum class PartialRule : uint8_t { kOldWins, kNewWins, kOldWinsIfSameStart };
enum class FullRule : uint8_t {
  kOldWins,
  kNewWins,
  kNewWinsUnlessSameStart,
  kNewWinsUnlessSameStartAndNotLonger,
  kNewWinsIfStrictlyCovers,
  kNewWinsUnlessRepeatAfterHole,
};
struct OverlapRules {
  LeftRule left;
  PartialRule partial;
  FullRule full;
};
[[nodiscard]] OverlapRules TcpRules(Policy p);
[[nodiscard]] OverlapRules FragRules(Policy p);

// Longest-prefix match from destination networks to policies; a handful of entries, scanned.
class PolicyTable {
 public:
  explicit PolicyTable(Policy default_policy = Policy::kBsd) : default_(default_policy) {}
  // Adds "ADDRESS/LEN" (or a bare address) -> policy. Fails on a bad prefix or policy name.
  [[nodiscard]] base::Status Add(std::string_view prefix, Policy policy);
  [[nodiscard]] base::Status Add(std::string_view prefix, std::string_view policy);
  [[nodiscard]] Policy Lookup(const base::IpAddress& address) const;
  [[nodiscard]] Policy default_policy() const { return default_; }

 private:
  struct Entry {
    base::IpAddress network;
    int length;
    Policy policy;
  };
  std::vector<Entry> entries_;  // longest prefix first
  Policy default_;
};

// Data pieces at 64-bit offsets, sorted and never overlapping; each piece owns a copy.
class SegmentList {
 public:
  struct Segment {
    uint64_t start = 0;
    uint32_t len = 0;
    uint32_t skip = 0;   // bytes trimmed from the front of the allocation
    uint32_t alloc = 0;  // bytes allocated
    uint8_t* buf = nullptr;
    [[nodiscard]] const uint8_t* data() const { return buf + skip; }
    [[nodiscard]] uint64_t end() const { return start + len; }
  };
  struct InsertResult {
    uint64_t overlap_bytes = 0;   // bytes of the new data that overlapped held data
    uint64_t conflict_bytes = 0;  // of those, bytes whose value differed
    uint64_t inserted_bytes = 0;  // new bytes now held
  };

  SegmentList() = default;
  ~SegmentList() { Clear(); }
  SegmentList(const SegmentList&) = delete;
  SegmentList& operator=(const SegmentList&) = delete;

  // Adds [start, start + len) from `data`, resolving overlaps with `rules`.
  InsertResult Insert(uint64_t start, const uint8_t* data, uint32_t len, const OverlapRules& rules);
  // An upper bound on how much memory() can grow when Insert(start, ..., len) runs: the new
  // bytes, one piece overhead per gap between held pieces it may fill, and the tail of a held
  // piece that the "last" rule may split off.
  [[nodiscard]] uint64_t InsertCostBound(uint64_t start, uint32_t len) const;
  // Removes the first piece (precondition: !empty()).
  void PopFront();
  void Clear();

  [[nodiscard]] bool empty() const { return segments_.empty(); }
  [[nodiscard]] size_t count() const { return segments_.size(); }
  [[nodiscard]] const Segment& front() const { return segments_.front(); }
  [[nodiscard]] const std::vector<Segment>& segments() const { return segments_; }
  [[nodiscard]] uint64_t bytes() const { return bytes_; }    // data bytes held
  [[nodiscard]] uint64_t memory() const { return memory_; }  // heap bytes held
  // Per-piece bookkeeping counted in memory() besides the data.
  static constexpr uint64_t kPieceOverhead = sizeof(Segment) + 16;

 private:
  void Free(Segment& s);
  Segment Copy(uint64_t start, const uint8_t* data, uint32_t len);

  std::vector<Segment> segments_;
  uint64_t bytes_ = 0;
  uint64_t memory_ = 0;
};

}  // namespace vigil::reassembly

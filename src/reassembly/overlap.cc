#include "reassembly/overlap.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace vigil::reassembly {
namespace {

constexpr std::string_view kNames[kPolicyCount] = {"first",   "last",    "linux", "bsd",
                                                   "windows", "solaris", "macos", "bsd-right"};

uint64_t CountDiffering(const uint8_t* a, const uint8_t* b, uint64_t n) {
  uint64_t diff = 0;
  for (uint64_t i = 0; i < n; ++i) diff += a[i] != b[i];
  return diff;
}

}  // namespace

std::string_view PolicyName(Policy p) { return kNames[static_cast<int>(p)]; }

std::optional<Policy> ParsePolicy(std::string_view name) {
  for (int i = 0; i < kPolicyCount; ++i) {
    if (kNames[i] == name) return static_cast<Policy>(i);
  }
  return std::nullopt;
}

OverlapRules TcpRules(Policy p) {
  switch (p) {
    case Policy::kFirst:
      return {LeftRule::kOldWins, PartialRule::kOldWins, FullRule::kOldWins};
    case Policy::kLast:
      return {LeftRule::kNewWins, PartialRule::kNewWins, FullRule::kNewWins};
    case Policy::kLinux:
      return {LeftRule::kOldWins, PartialRule::kOldWinsIfSameStart,
              FullRule::kNewWinsUnlessSameStartAndNotLonger};
    case Policy::kSolaris:
      return {LeftRule::kOldWinsIfCoversNewEnd, PartialRule::kOldWins,
              FullRule::kNewWinsUnlessRepeatAfterHole};
    case Policy::kBsdRight:  // not a Snort stream policy; treated as bsd
    case Policy::kBsd:
    case Policy::kMacos:
    case Policy::kWindows:
      break;
  }
  return {LeftRule::kOldWins, PartialRule::kOldWinsIfSameStart, FullRule::kNewWinsUnlessSameStart};
}

OverlapRules FragRules(Policy p) {
  switch (p) {
    case Policy::kFirst:
      return {LeftRule::kOldWins, PartialRule::kOldWins, FullRule::kOldWins};
    case Policy::kLast:
      return {LeftRule::kNewWins, PartialRule::kNewWins, FullRule::kNewWins};
    case Policy::kLinux:
      return {LeftRule::kOldWins, PartialRule::kNewWins, FullRule::kNewWins};
    case Policy::kWindows:
      return {LeftRule::kOldWins, PartialRule::kOldWins, FullRule::kNewWinsIfStrictlyCovers};
    case Policy::kSolaris:
      return {LeftRule::kOldWins, PartialRule::kOldWins, FullRule::kNewWinsUnlessSameStart};
    case Policy::kBsdRight:
      return {LeftRule::kOldWinsIfCoversNewEnd, PartialRule::kOldWins, FullRule::kNewWins};
    case Policy::kMacos:  // frag3 has no macos policy; macOS descends from BSD
    case Policy::kBsd:
      break;
  }
  return {LeftRule::kOldWins, PartialRule::kOldWinsIfSameStart, FullRule::kNewWinsUnlessSameStart};
}

base::Status PolicyTable::Add(std::string_view prefix, std::string_view policy) {
  const std::optional<Policy> p = ParsePolicy(policy);
  if (!p) return base::MakeError("unknown overlap policy '" + std::string(policy) + "'");
  return Add(prefix, *p);
}

base::Status PolicyTable::Add(std::string_view prefix, Policy policy) {
  const size_t slash = prefix.find('/');
  const std::optional<base::IpAddress> address = base::IpAddress::Parse(prefix.substr(0, slash));
  if (!address) return base::MakeError("bad network '" + std::string(prefix) + "'");
  int length = address->bit_width();
  if (slash != std::string_view::npos) {
    const std::string_view digits = prefix.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) {
      return base::MakeError("bad prefix length in '" + std::string(prefix) + "'");
    }
    length = 0;
    for (char c : digits) {
      if (c < '0' || c > '9')
        return base::MakeError("bad prefix length in '" + std::string(prefix) + "'");
      length = length * 10 + (c - '0');
    }
    if (length > address->bit_width()) {
      return base::MakeError("prefix length too long in '" + std::string(prefix) + "'");
    }
  }
  Entry e{*address, length, policy};
  const auto pos = std::find_if(entries_.begin(), entries_.end(),
                                [&](const Entry& x) { return x.length < length; });
  entries_.insert(pos, e);
  return {};
}

Policy PolicyTable::Lookup(const base::IpAddress& address) const {
  for (const Entry& e : entries_) {
    if (address.InPrefix(e.network, e.length)) return e.policy;
  }
  return default_;
}

SegmentList::Segment SegmentList::Copy(uint64_t start, const uint8_t* data, uint32_t len) {
  Segment s;
  s.start = start;
  s.len = len;
  s.alloc = len;
  s.buf = new uint8_t[len];
  std::memcpy(s.buf, data, len);
  bytes_ += len;
  memory_ += len + kPieceOverhead;
  return s;
}

void SegmentList::Free(Segment& s) {
  bytes_ -= s.len;
  memory_ -= s.alloc + kPieceOverhead;
  delete[] s.buf;
  s.buf = nullptr;
}

void SegmentList::PopFront() {
  Free(segments_.front());
  segments_.erase(segments_.begin());
}

void SegmentList::Clear() {
  for (Segment& s : segments_) delete[] s.buf;
  segments_.clear();
  bytes_ = 0;
  memory_ = 0;
}

uint64_t SegmentList::InsertCostBound(uint64_t start, uint32_t len) const {
  const uint64_t end = start + len;
  auto first = std::lower_bound(segments_.begin(), segments_.end(), start,
                                [](const Segment& s, uint64_t v) { return s.start < v; });
  uint64_t split_tail = 0;
  if (first != segments_.begin() && std::prev(first)->end() > end) {
    split_tail = std::prev(first)->end() - end + kPieceOverhead;
  }
  auto last = std::lower_bound(first, segments_.end(), end,
                               [](const Segment& s, uint64_t v) { return s.start < v; });
  return len + uint64_t(last - first + 1) * kPieceOverhead + split_tail;
}

SegmentList::InsertResult SegmentList::Insert(uint64_t start, const uint8_t* data, uint32_t len,
                                              const OverlapRules& rules) {
  InsertResult r;
  if (len == 0) return r;
  const uint64_t new_end = start + len;
  uint64_t cur = start;  // new data before `cur` has been placed or lost
  uint64_t end = new_end;
  auto NewAt = [&](uint64_t offset) { return data + (offset - start); };

  size_t i = std::lower_bound(segments_.begin(), segments_.end(), start,
                              [](const Segment& s, uint64_t v) { return s.start < v; }) -
             segments_.begin();
  const bool after_hole = i > 0 && segments_[i - 1].end() != start;

  // Left overlap: the piece before the new data reaches into it.
  if (i > 0 && segments_[i - 1].end() > start) {
    Segment& left = segments_[i - 1];
    const uint64_t ov_end = std::min(left.end(), new_end);
    r.overlap_bytes += ov_end - start;
    r.conflict_bytes += CountDiffering(left.data() + (start - left.start), data, ov_end - start);
    const bool old_wins = rules.left == LeftRule::kOldWins ||
                          (rules.left == LeftRule::kOldWinsIfCoversNewEnd && left.end() >= new_end);
    if (old_wins) {
      cur = ov_end;
    } else {
      if (left.end() > new_end) {
        // The new data sits inside the old piece: keep the old piece's tail after it.
        Segment tail =
            Copy(new_end, left.data() + (new_end - left.start), uint32_t(left.end() - new_end));
        segments_.insert(segments_.begin() + i, tail);
      }
      Segment& l = segments_[i - 1];  // insert may have moved it
      const uint32_t cut = uint32_t(l.end() - start);
      l.len -= cut;
      bytes_ -= cut;
      if (l.len == 0) {
        Free(l);
        segments_.erase(segments_.begin() + (i - 1));
        --i;
      }
    }
  }

  // Pieces of the new data to keep, as [from, to) ranges.
  std::vector<std::pair<uint64_t, uint64_t>> keep;
  size_t j = i;
  while (cur < end && j < segments_.size() && segments_[j].start < end) {
    Segment& right = segments_[j];
    if (right.end() > end) {
      // Partial: the new data ends inside `right`.
      const uint64_t n = end - right.start;
      r.overlap_bytes += n;
      r.conflict_bytes += CountDiffering(right.data(), NewAt(right.start), n);
      const bool old_wins =
          rules.partial == PartialRule::kOldWins ||
          (rules.partial == PartialRule::kOldWinsIfSameStart && right.start == cur);
      if (old_wins) {
        end = right.start;
      } else {
        right.start += n;
        right.skip += uint32_t(n);
        right.len -= uint32_t(n);
        bytes_ -= n;
      }
      break;
    }
    // Full: `right` lies inside the new data.
    r.overlap_bytes += right.len;
    r.conflict_bytes += CountDiffering(right.data(), NewAt(right.start), right.len);
    const bool same_start = right.start == cur;
    const bool longer = end > right.end();
    bool new_wins = false;
    switch (rules.full) {
      case FullRule::kOldWins:
        new_wins = false;
        break;
      case FullRule::kNewWins:
        new_wins = true;
        break;
      case FullRule::kNewWinsUnlessSameStart:
        new_wins = !same_start;
        break;
      case FullRule::kNewWinsUnlessSameStartAndNotLonger:
        new_wins = !same_start || longer;
        break;
      case FullRule::kNewWinsIfStrictlyCovers:
        new_wins = !same_start && longer;
        break;
      case FullRule::kNewWinsUnlessRepeatAfterHole:
        new_wins = !(right.start == start && right.len == len && after_hole);
        break;
    }
    if (new_wins) {
      Free(right);
      segments_.erase(segments_.begin() + j);
    } else {
      if (right.start > cur) keep.emplace_back(cur, right.start);
      cur = right.end();
      ++j;
    }
  }
  if (cur < end) keep.emplace_back(cur, end);

  for (const auto& [from, to] : keep) {
    Segment s = Copy(from, NewAt(from), uint32_t(to - from));
    r.inserted_bytes += s.len;
    const auto pos = std::lower_bound(segments_.begin(), segments_.end(), from,
                                      [](const Segment& x, uint64_t v) { return x.start < v; });
    segments_.insert(pos, s);
  }
  return r;
}

}  // namespace vigil::reassembly

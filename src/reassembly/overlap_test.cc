#include "reassembly/overlap.h"

#include <gtest/gtest.h>

#include <string>

#include "craft/frame.h"

namespace vigil::reassembly {
namespace {

TEST(PolicyTest, NamesRoundTrip) {
  for (int i = 0; i < kPolicyCount; ++i) {
    const Policy p = static_cast<Policy>(i);
    EXPECT_EQ(ParsePolicy(PolicyName(p)), p);
  }
  EXPECT_FALSE(ParsePolicy("vista").has_value());
}

TEST(PolicyTableTest, LongestPrefixWins) {
  PolicyTable t(Policy::kBsd);
  ASSERT_TRUE(t.Add("10.0.0.0/8", "linux"));
  ASSERT_TRUE(t.Add("10.1.0.0/16", "windows"));
  ASSERT_TRUE(t.Add("10.1.2.3", Policy::kSolaris));
  ASSERT_TRUE(t.Add("2001:db8::/32", "first"));
  EXPECT_EQ(t.Lookup(craft::Addr("10.9.9.9")), Policy::kLinux);
  EXPECT_EQ(t.Lookup(craft::Addr("10.1.9.9")), Policy::kWindows);
  EXPECT_EQ(t.Lookup(craft::Addr("10.1.2.3")), Policy::kSolaris);
  EXPECT_EQ(t.Lookup(craft::Addr("11.0.0.1")), Policy::kBsd);
  EXPECT_EQ(t.Lookup(craft::Addr("2001:db8::7")), Policy::kFirst);
  EXPECT_FALSE(t.Add("10.0.0.0/33", "linux"));
  EXPECT_FALSE(t.Add("10.0.0.0/8", "nonsense"));
  EXPECT_FALSE(t.Add("ten/8", "linux"));
}

std::string Contents(const SegmentList& l) {
  std::string s;
  for (const auto& seg : l.segments()) {
    s += std::to_string(seg.start) + ":" + std::string(seg.data(), seg.data() + seg.len) + " ";
  }
  return s;
}

// Overlap shapes, old data always 'A', new data always 'B'. The result is read from offset 1.
struct Shape {
  const char* name;
  uint64_t old_start;
  std::string old_data;
  uint64_t new_start;
  std::string new_data;
};
const Shape kShapes[] = {
    {"left: old starts before, ends inside new", 1, "AAAA", 3, "BBBB"},
    {"left: old covers new", 1, "AAAAAA", 3, "BB"},
    {"right partial: new starts before old", 3, "AAAA", 1, "BBBB"},
    {"right partial: same start, new shorter", 1, "AAAAAA", 1, "BBB"},
    {"full: new covers old on both sides", 3, "AA", 1, "BBBBBB"},
    {"full: exact repeat", 1, "AAAA", 1, "BBBB"},
    {"full: same start, new longer", 1, "AAA", 1, "BBBBBB"},
    {"full: new starts before, same end", 3, "AAAA", 1, "BBBBBB"},
};

std::string Resolve(const Shape& s, const OverlapRules& rules) {
  SegmentList l;
  const auto* o = reinterpret_cast<const uint8_t*>(s.old_data.data());
  const auto* n = reinterpret_cast<const uint8_t*>(s.new_data.data());
  l.Insert(s.old_start, o, uint32_t(s.old_data.size()), rules);
  const SegmentList::InsertResult r = l.Insert(s.new_start, n, uint32_t(s.new_data.size()), rules);
  EXPECT_GT(r.overlap_bytes, 0u);
  EXPECT_EQ(r.conflict_bytes, r.overlap_bytes);  // 'A' vs 'B' everywhere
  std::string out;
  uint64_t pos = 1;
  for (const auto& seg : l.segments()) {
    EXPECT_EQ(seg.start, pos) << Contents(l);  // contiguous, no overlap left
    out.append(seg.data(), seg.data() + seg.len);
    pos = seg.end();
  }
  return out;
}

// IP fragment policies (frag3). Columns: first, last, linux, bsd, windows, solaris, bsd-right.
TEST(SegmentListTest, FragmentPoliciesPerShape) {
  const Policy columns[] = {Policy::kFirst,   Policy::kLast,    Policy::kLinux,   Policy::kBsd,
                            Policy::kWindows, Policy::kSolaris, Policy::kBsdRight};
  const std::string expected[][7] = {
      // left: old wins except last, and bsd-right when old does not cover the new end
      {"AAAABB", "AABBBB", "AAAABB", "AAAABB", "AAAABB", "AAAABB", "AABBBB"},
      // left, old covers new: only last lets the new bytes in (splitting the old piece)
      {"AAAAAA", "AABBAA", "AAAAAA", "AAAAAA", "AAAAAA", "AAAAAA", "AAAAAA"},
      // right partial, new starts first: new wins for last, linux, bsd (different start)
      {"BBAAAA", "BBBBAA", "BBBBAA", "BBBBAA", "BBAAAA", "BBAAAA", "BBAAAA"},
      // right partial, same start: only last and linux take the new bytes
      {"AAAAAA", "BBBAAA", "BBBAAA", "AAAAAA", "AAAAAA", "AAAAAA", "AAAAAA"},
      // full, strictly covering: everyone but first takes the new bytes
      {"BBAABB", "BBBBBB", "BBBBBB", "BBBBBB", "BBBBBB", "BBBBBB", "BBBBBB"},
      // full, exact repeat: new wins for last, linux, bsd-right; bsd/solaris keep (same start)
      {"AAAA", "BBBB", "BBBB", "AAAA", "AAAA", "AAAA", "BBBB"},
      // full, same start, new longer: windows needs strict cover on both sides
      {"AAABBB", "BBBBBB", "BBBBBB", "AAABBB", "AAABBB", "AAABBB", "BBBBBB"},
      // full, new starts before, same end: windows keeps old (end not exceeded)
      {"BBAAAA", "BBBBBB", "BBBBBB", "BBBBBB", "BBAAAA", "BBBBBB", "BBBBBB"},
  };
  for (size_t s = 0; s < std::size(kShapes); ++s) {
    for (size_t c = 0; c < std::size(columns); ++c) {
      EXPECT_EQ(Resolve(kShapes[s], FragRules(columns[c])), expected[s][c])
          << kShapes[s].name << " / " << PolicyName(columns[c]);
    }
  }
}

TEST(SegmentListTest, IdenticalOverlapIsNotAConflict) {
  SegmentList l;
  const std::string a = "abcdef";
  l.Insert(10, reinterpret_cast<const uint8_t*>(a.data()), 6, TcpRules(Policy::kLast));
  const auto r =
      l.Insert(12, reinterpret_cast<const uint8_t*>(a.data() + 2), 4, TcpRules(Policy::kLast));
  EXPECT_EQ(r.overlap_bytes, 4u);
  EXPECT_EQ(r.conflict_bytes, 0u);
  EXPECT_EQ(l.bytes(), 6u);
}

TEST(SegmentListTest, MemoryIsAccountedAndReturned) {
  SegmentList l;
  std::string d(100, 'x');
  for (int i = 0; i < 10; ++i) {
    l.Insert(uint64_t(i) * 200, reinterpret_cast<const uint8_t*>(d.data()), 100,
             TcpRules(Policy::kBsd));
  }
  EXPECT_EQ(l.bytes(), 1000u);
  EXPECT_EQ(l.memory(), 10 * (100 + SegmentList::kPieceOverhead));
  while (!l.empty()) l.PopFront();
  EXPECT_EQ(l.memory(), 0u);
  EXPECT_EQ(l.bytes(), 0u);
}

}  // namespace
}  // namespace vigil::reassembly

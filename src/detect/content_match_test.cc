#include "detect/content_match.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace vigil::detect {
namespace {

using rules::ContentOption;

ContentOption C(std::string pattern) {
  ContentOption c;
  c.pattern = std::move(pattern);
  return c;
}

bool Match(const std::vector<ContentOption>& cs, std::string_view buf) {
  std::vector<const ContentOption*> ptrs;
  for (const auto& c : cs) ptrs.push_back(&c);
  return MatchContents(ptrs, reinterpret_cast<const uint8_t*>(buf.data()), uint32_t(buf.size()));
}

// The definition, tried position by position with no search shortcuts: some placement of the
// positive contents, each inside the window that offset/depth or distance/within give it from the
// previous match's end, with every negated content absent from its window.
bool Reference(const std::vector<ContentOption>& cs, std::string_view buf, size_t i,
               int64_t cursor) {
  if (i == cs.size()) return true;
  const ContentOption& c = cs[i];
  int64_t len = int64_t(buf.size());
  int64_t start, end;
  if (c.distance || c.within) {
    start = cursor + c.distance.value_or(0);
    end = c.within ? start + *c.within : len;
  } else {
    start = c.offset.value_or(0);
    end = c.depth ? start + *c.depth : len;
  }
  start = std::max<int64_t>(start, 0);
  end = std::min<int64_t>(end, len);
  auto at = [&](int64_t pos) {
    for (size_t k = 0; k < c.pattern.size(); ++k) {
      char a = buf[pos + k], b = c.pattern[k];
      if (c.nocase) {
        a = char(std::tolower(static_cast<unsigned char>(a)));
        b = char(std::tolower(static_cast<unsigned char>(b)));
      }
      if (a != b) return false;
    }
    return true;
  };
  int64_t n = int64_t(c.pattern.size());
  if (c.negated) {
    for (int64_t pos = start; pos + n <= end; ++pos) {
      if (at(pos)) return false;
    }
    return Reference(cs, buf, i + 1, cursor);
  }
  for (int64_t pos = start; pos + n <= end; ++pos) {
    if (at(pos) && Reference(cs, buf, i + 1, pos + n)) return true;
  }
  return false;
}

TEST(FindBytesTest, RespectsWindowAndCase) {
  std::string hay = "xxHeLLo world hello";
  auto* h = reinterpret_cast<const uint8_t*>(hay.data());
  EXPECT_EQ(FindBytes(h, 0, int64_t(hay.size()), "hello", false), 14);
  EXPECT_EQ(FindBytes(h, 0, int64_t(hay.size()), "hello", true), 2);
  EXPECT_EQ(FindBytes(h, 3, int64_t(hay.size()), "hello", true), 14);
  EXPECT_EQ(FindBytes(h, 0, 18, "hello", false), -1);  // window ends one byte short
  EXPECT_EQ(FindBytes(h, 0, 0, "x", false), -1);
}

TEST(ContentMatchTest, AbsoluteOffsetAndDepth) {
  auto c = C("GET");
  c.offset = 0;
  c.depth = 3;
  EXPECT_TRUE(Match({c}, "GET /index"));
  EXPECT_FALSE(Match({c}, " GET /index"));
  c.offset = 1;
  c.depth = 3;
  EXPECT_TRUE(Match({c}, " GET /index"));
}

TEST(ContentMatchTest, RelativeDistanceWithinFromPreviousMatchEnd) {
  auto a = C("abc");
  auto b = C("def");
  b.distance = 2;
  b.within = 3;
  EXPECT_TRUE(Match({a, b}, "abcXXdef"));
  EXPECT_FALSE(Match({a, b}, "abcXdef"));    // starts before distance
  EXPECT_FALSE(Match({a, b}, "abcXXXdef"));  // ends past distance+within
}

TEST(ContentMatchTest, BacktracksToALaterOccurrence) {
  auto a = C("ab");
  auto b = C("cd");
  b.within = 2;
  // The first "ab" is not followed by "cd"; the second is.
  EXPECT_TRUE(Match({a, b}, "abxxabcd"));
}

TEST(ContentMatchTest, NegatedContentMustBeAbsentFromItsWindow) {
  auto a = C("user");
  auto n = C("admin");
  n.negated = true;
  n.distance = 0;
  n.within = 10;
  EXPECT_TRUE(Match({a, n}, "user=bob"));
  EXPECT_FALSE(Match({a, n}, "user=admin"));
  EXPECT_TRUE(Match({a, n}, "user=0123456789admin"));  // outside the window
}

TEST(ContentMatchTest, NocaseAndEmptyBuffer) {
  auto c = C("SELECT");
  c.nocase = true;
  EXPECT_TRUE(Match({c}, "select * from"));
  EXPECT_FALSE(Match({c}, ""));
  auto n = C("x");
  n.negated = true;
  EXPECT_TRUE(Match({n}, ""));
}

// Random content lists over a small alphabet, so that matches, near misses and overlaps are
// frequent, checked against the position-by-position definition.
TEST(ContentMatchTest, AgreesWithReferenceOnRandomCases) {
  std::mt19937 rng(12345);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto word = [&](int len) {
    std::string s;
    for (int i = 0; i < len; ++i) s += "abAB"[pick(0, 3)];
    return s;
  };
  int matches = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string buf = word(pick(0, 24));
    std::vector<ContentOption> cs;
    int n = pick(1, 4);
    for (int k = 0; k < n; ++k) {
      ContentOption c = C(word(pick(1, 3)));
      c.nocase = pick(0, 3) == 0;
      c.negated = pick(0, 5) == 0;
      if (k > 0 && pick(0, 1)) {
        if (pick(0, 1)) c.distance = pick(-3, 4);
        if (pick(0, 1)) c.within = int(c.pattern.size()) + pick(0, 5);
      } else {
        if (pick(0, 2) == 0) c.offset = pick(0, 6);
        if (pick(0, 2) == 0) c.depth = int(c.pattern.size()) + pick(0, 8);
      }
      cs.push_back(std::move(c));
    }
    bool expected = Reference(cs, buf, 0, 0);
    matches += expected;
    ASSERT_EQ(Match(cs, buf), expected) << "iteration " << iter << " buffer '" << buf << "'";
  }
  // Both outcomes must be well represented for the comparison to mean anything.
  EXPECT_GT(matches, 2000);
  EXPECT_LT(matches, 18000);
}

}  // namespace
}  // namespace vigil::detect

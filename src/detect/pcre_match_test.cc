// pcre_match.h: compiling a rule's pcre with its flags, searching, and the match limits.
#include "detect/pcre_match.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace vigil::detect {
namespace {

rules::PcreOption P(std::string regex, std::string flags = "") {
  rules::PcreOption p;
  p.regex = std::move(regex);
  p.flags = std::move(flags);
  return p;
}

// The first match from `start`, as "begin-end", or "none" / "error".
std::string FindIn(const Pcre& re, std::string_view subject, size_t start = 0) {
  size_t begin = 0, end = 0;
  switch (re.Find(reinterpret_cast<const uint8_t*>(subject.data()), subject.size(), start, begin,
                  end)) {
    case PcreStatus::kMatch:
      return std::to_string(begin) + "-" + std::to_string(end);
    case PcreStatus::kNoMatch:
      return "none";
    case PcreStatus::kError:
      return "error";
  }
  return "?";
}

TEST(PcreTest, FlagsChangeWhatMatches) {
  struct Case {
    const char* regex;
    const char* flags;
    std::string subject;
    const char* want;
  };
  const Case cases[] = {
      {"abc", "", "xxABCabc", "5-8"},
      {"abc", "i", "xxABCabc", "2-5"},  // i: caseless
      {"a.c", "", "a\nc", "none"},
      {"a.c", "s", "a\nc", "0-3"},  // s: dot matches newline
      {"^b", "", "a\nb", "none"},
      {"^b", "m", "a\nb", "2-3"},  // m: ^ after a newline
      {"a b c", "", "abc", "none"},
      {"a b c # comment", "x", "abc", "0-3"},  // x: white space and comments ignored
      {"b", "", "ab", "1-2"},
      {"b", "A", "ab", "none"},  // A: anchored at the start
      {"abc$", "", "abc\n", "0-3"},
      {"abc$", "E", "abc\n", "none"},  // E: $ only at the very end
      {"a.+b", "", "a1b2b", "0-5"},
      {"a.+b", "G", "a1b2b", "0-3"},   // G: ungreedy
      {"a.+?b", "G", "a1b2b", "0-5"},  // G inverts '?'
      // Letters that are not PCRE options change nothing here.
      {"abc", "RBO", "xabc", "1-4"},
      {"\\x00\\xff", "", std::string("a\x00\xff", 3), "1-3"},  // binary bytes
  };
  for (const Case& c : cases) {
    auto re = Pcre::Compile(P(c.regex, c.flags));
    ASSERT_TRUE(re) << c.regex << ": " << re.error().message;
    EXPECT_EQ(FindIn(*re, c.subject), c.want) << "/" << c.regex << "/" << c.flags;
  }
}

TEST(PcreTest, SearchFromAnOffsetSeesTheWholeSubject) {
  auto re = Pcre::Compile(P("(?<=a)b"));
  ASSERT_TRUE(re);
  EXPECT_EQ(FindIn(*re, "abab", 0), "1-2");
  EXPECT_EQ(FindIn(*re, "abab", 2), "3-4");  // the lookbehind sees byte 2
  EXPECT_EQ(FindIn(*re, "abab", 4), "none");
  EXPECT_EQ(FindIn(*re, "abab", 5), "none");  // past the end
  auto anchored = Pcre::Compile(P("^b"));
  ASSERT_TRUE(anchored);
  EXPECT_EQ(FindIn(*anchored, "ab", 1), "none");  // ^ is the subject's start, not the offset
}

TEST(PcreTest, CompileErrorsCarryPcre2sMessage) {
  EXPECT_EQ(PcreCompileError(P("a(b")), "missing closing parenthesis at offset 3");
  EXPECT_EQ(PcreCompileError(P("[a")), "missing terminating ] for character class at offset 2");
  EXPECT_EQ(PcreCompileError(P("a{3,2}")), "numbers out of order in {} quantifier at offset 5");
  EXPECT_EQ(PcreCompileError(P("(?<n>a)\\k<m>")),
            "reference to non-existent subpattern at offset 10");
  EXPECT_EQ(PcreCompileError(P("ok")), std::nullopt);
  EXPECT_FALSE(Pcre::Compile(P("a(b")));
}

TEST(PcreTest, TheMatchLimitStopsCatastrophicBacktracking) {
  // Nested quantifiers with nothing required after them: exponential backtracking on a subject
  // that almost matches.
  std::string subject(26, 'a');
  subject += '!';
  auto limited = Pcre::Compile(P("^(a|aa)+$"));
  ASSERT_TRUE(limited);
  uint64_t before = PcreLimitHits();
  EXPECT_EQ(FindIn(*limited, subject), "error");
  EXPECT_EQ(PcreLimitHits(), before + 1);
  // O lifts Suricata's limits: PCRE2's own allow this search to finish.
  auto unlimited = Pcre::Compile(P("^(a|aa)+$", "O"));
  ASSERT_TRUE(unlimited);
  EXPECT_EQ(FindIn(*unlimited, subject), "none");
  EXPECT_EQ(PcreLimitHits(), before + 1);
  // Below the limit the same pattern works.
  EXPECT_EQ(FindIn(*limited, "aaaa"), "0-4");
}

TEST(PcreTest, ThreadsShareOneCompiledPattern) {
  auto re = Pcre::Compile(P("x(\\d+)y"));
  ASSERT_TRUE(re);
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string s = std::string(size_t(t + i % 7), '.') + "x" + std::to_string(i) + "y";
        size_t begin = 0, end = 0;
        const auto* d = reinterpret_cast<const uint8_t*>(s.data());
        if (re->Find(d, s.size(), 0, begin, end) != PcreStatus::kMatch ||
            begin != size_t(t + i % 7) || end != s.size()) {
          ++wrong[size_t(t)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(wrong[size_t(t)], 0) << t;
}

TEST(PcreTest, JitWaitsForTheFirstSearchAndCopiesShareIt) {
  auto re = Pcre::Compile(P("ab+c", "i"));
  ASSERT_TRUE(re);
  const Pcre copy = *re;
  EXPECT_EQ(FindIn(copy, "xxABBBc"), "2-7");
  EXPECT_EQ(FindIn(*re, "xxABBBc"), "2-7");
  EXPECT_EQ(copy.jit(), re->jit());
  auto interpreted = Pcre::Compile(P("ab+c", "i"), /*jit=*/false);
  ASSERT_TRUE(interpreted);
  EXPECT_EQ(FindIn(*interpreted, "xxABBBc"), "2-7");
  EXPECT_FALSE(interpreted->jit());
}

TEST(PcreCacheTest, CompilesEachDistinctPatternOnce) {
  PcreCache cache;
  auto a = cache.Compile(P("ab+c", "i"));
  auto again = cache.Compile(P("ab+c", "i"));
  auto relative = cache.Compile(P("ab+c", "iR"));  // R is the caller's business: the same pattern
  ASSERT_TRUE(a && again && relative);
  EXPECT_EQ(cache.size(), 1u);
  auto cased = cache.Compile(P("ab+c"));
  auto unlimited = cache.Compile(P("ab+c", "iO"));
  auto no_jit = cache.Compile(P("ab+c", "i"), /*jit=*/false);
  ASSERT_TRUE(cased && unlimited && no_jit);
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_EQ(FindIn(*again, "ABC"), "0-3");
  EXPECT_EQ(FindIn(*cased, "ABC"), "none");
  EXPECT_EQ(FindIn(*cased, "abc"), "0-3");
  EXPECT_FALSE(no_jit->jit());
  // A pattern that does not compile fails each time with PCRE2's message, and is not kept.
  auto bad = cache.Compile(P("a(b"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("missing closing parenthesis"), std::string::npos);
  EXPECT_FALSE(cache.Compile(P("a(b")));
  EXPECT_EQ(cache.size(), 4u);
}

TEST(PcreCacheTest, ThreadsCompilingTheSamePatternsAgree) {
  PcreCache cache;
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string word = "n" + std::to_string(i % 50) + "xx";
        auto re = cache.Compile(P("n" + std::to_string(i % 50) + "x+"));
        if (!re || FindIn(*re, "--" + word) != "2-" + std::to_string(2 + word.size())) {
          ++wrong[size_t(t)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(wrong[size_t(t)], 0) << t;
  EXPECT_EQ(cache.size(), 50u);
}

}  // namespace
}  // namespace vigil::detect

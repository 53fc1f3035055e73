// regex_prefilter.h: which pcres get a prefilter and what it is, and that Vectorscan's reading of
// the constructs rules use never matches less than PCRE2's. The prefilter against the full matcher
// on random payloads, packets and stream chunks, is rule_match_test's
// RegexPrefiltersRejectOnlyNonMatches.
#include "detect/regex_prefilter.h"

#include <gtest/gtest.h>

#include <string>

#include "detect/literal_database.h"
#include "detect/pcre_match.h"

namespace vigil::detect {
namespace {

std::optional<PrefilterExpression> Of(const std::string& literal, const std::string& regex,
                                      const std::string& flags, bool nocase = false) {
  return PrefilterExpressionOf(literal, nocase, rules::PcreOption{.regex = regex, .flags = flags});
}

TEST(RegexPrefilterTest, TheContentThenThePcreBody) {
  auto e = Of("\x06\x03\x55\x04\x0a", "^.{2}(?P<o>[a-f]+[01]).+?\\x06(?P=o)", "Rs");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->expression, "\\x06\\x03\\x55\\x04\\x0a(?:.{2}(?P<o>[a-f]+[01]).+?\\x06(?P=o))");
  EXPECT_EQ(e->flags, unsigned(HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH | HS_FLAG_DOTALL));
  // A nocase content: both cases of each letter; the pcre's i: caseless.
  e = Of("a1", "^b", "Ri", /*nocase=*/true);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->expression, "[aA]\\x31(?:b)");
  EXPECT_EQ(e->flags, unsigned(HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH | HS_FLAG_CASELESS));
  // Anchored by the A flag instead of ^.
  e = Of("x", "[0-9]+", "RA");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->expression, "\\x78(?:[0-9]+)");
  // What the subject's start cannot tell apart from the buffer's: classes, groups, escapes.
  for (const char* ok : {"^[^|^]", "^(?:a|b)c", "^a\\|b", "^(?<n>a)\\k<n>", "^a(?#|^)b", "^(?=ab)a",
                         "^(?!b)", "^a$", "^[]|]", "^[[:alpha:]|]", "^\\x{41}", "^\\c^"}) {
    EXPECT_TRUE(Of("x", ok, "R")) << ok;
  }
}

TEST(RegexPrefilterTest, NoneWhereTheSubjectsCouldDisagree) {
  // Not a relative, anchored, positive pcre.
  EXPECT_FALSE(Of("x", "^a", ""));
  EXPECT_FALSE(Of("x", "a", "R"));  // a match anywhere after the content
  EXPECT_FALSE(PrefilterExpressionOf(
      "x", false, rules::PcreOption{.regex = "^a", .flags = "R", .negated = true}));
  EXPECT_FALSE(Of("", "^a", "R"));
  // Flags whose meaning Vectorscan's flags do not carry, and letters this does not know.
  for (const char* flags : {"Rm", "Rx", "RU", "RP", "RZ"}) EXPECT_FALSE(Of("x", "^a", flags));
  // Context after the leading ^: the prefilter would see the content's bytes there.
  for (const char* bad :
       {"^a|b",     "^a|^b",    "^(?:a)|b", "^\\ba",    "^a\\B",  "^\\Aa",   "^\\Ga",
        "^(?<=x)a", "^(?<!y)a", "^^a",      "^a(?m)^b", "^(?i)a", "^(?s:a)", "^\\Qa|b\\E",
        "^(*UTF)a", "^(a",      "^a)",      "^[a",      "^a\\",   "^(?#a"}) {
    EXPECT_FALSE(Of("x", bad, "R")) << bad;
  }
}

TEST(RegexPrefilterTest, RejectsOnlyWhereNoMatchCanBe) {
  auto e = Of("\x06\x03\x55\x04\x0a", "^.{2}(?P<o>[a-f]+[01]).+?\\x06(?P=o)", "Rs");
  ASSERT_TRUE(e);
  auto pf = RegexPrefilter::Build(*e);
  ASSERT_TRUE(pf) << pf.error().message;
  LiteralScratch scratch;
  ASSERT_TRUE(scratch.Prepare((*pf)->raw()));
  auto may = [&](const std::string& s) {
    return (*pf)->MayMatch(reinterpret_cast<const uint8_t*>(s.data()), uint32_t(s.size()),
                           scratch.raw());
  };
  EXPECT_FALSE(may(std::string("\x06\x03\x55\x04\x0a\x0c\x06Google", 13)));
  EXPECT_TRUE(
      may(std::string("\x06\x03\x55\x04\x0a\x0c\x06"
                      "fade1.\x06"
                      "fade1",
                      19)));
  EXPECT_FALSE(may(""));
  EXPECT_FALSE((*pf)->MayMatch(nullptr, 0, scratch.raw()));
  // A scratch not prepared for it: no verdict, so no rejection.
  EXPECT_TRUE((*pf)->MayMatch(reinterpret_cast<const uint8_t*>("abc"), 3, nullptr));
  // Vectorscan refuses it: an error naming the expression.
  auto bad = RegexPrefilter::Build({.expression = "a(?C1)", .flags = HS_FLAG_PREFILTER});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("a(?C1)"), std::string::npos);
}

// Vectorscan and PCRE2 agree on every byte for the classes, escapes and anchors rules use, or
// Vectorscan (in prefilter mode) matches more: a byte PCRE2 matches and Vectorscan does not would
// make the prefilter reject a match.
TEST(RegexPrefilterTest, VectorscanNeverMatchesLessThanPcre) {
  const char* classes[] = {"\\s",           "\\S",         "\\d",
                           "\\D",           "\\w",         "\\W",
                           "\\h",           "\\H",         "\\v",
                           "\\V",           ".",           "[[:space:]]",
                           "[[:punct:]]",   "[[:print:]]", "[[:alpha:]]",
                           "[[:alnum:]]",   "[[:cntrl:]]", "[[:graph:]]",
                           "[[:xdigit:]]",  "[[:word:]]",  "[^\\x00-\\x1f]",
                           "[a-z]",         "[^A-Z]",      "\\x41",
                           "[\\x80-\\xff]", "$",           "\\Z",
                           "\\z",           "(?=\\d)",     "(?!\\d)"};
  int pcre_matches = 0;
  for (const char* flags : {"", "i", "s", "is"}) {
    for (const char* cls : classes) {
      rules::PcreOption option{.regex = std::string("\\x7c") + cls, .flags = flags};
      auto re = Pcre::Compile(option);
      ASSERT_TRUE(re) << cls;
      PrefilterExpression e{.expression = option.regex,
                            .flags = HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH};
      if (option.HasFlag('i')) e.flags |= HS_FLAG_CASELESS;
      if (option.HasFlag('s')) e.flags |= HS_FLAG_DOTALL;
      auto pf = RegexPrefilter::Build(e);
      ASSERT_TRUE(pf) << cls << ": " << pf.error().message;
      LiteralScratch scratch;
      ASSERT_TRUE(scratch.Prepare((*pf)->raw()));
      for (int b = 0; b < 256; ++b) {
        for (const std::string& tail : {std::string(), std::string("\n"), std::string("x")}) {
          std::string s = "|" + std::string(1, char(b)) + tail;
          size_t begin, end;
          const bool pcre = re->Find(reinterpret_cast<const uint8_t*>(s.data()), s.size(), 0, begin,
                                     end) == PcreStatus::kMatch;
          pcre_matches += pcre;
          const bool vs = (*pf)->MayMatch(reinterpret_cast<const uint8_t*>(s.data()),
                                          uint32_t(s.size()), scratch.raw());
          EXPECT_TRUE(vs || !pcre) << cls << " flags '" << flags << "' byte " << b;
        }
      }
    }
  }
  EXPECT_GT(pcre_matches, 10000);
}

}  // namespace
}  // namespace vigil::detect

// RegexPrefilter: a necessary condition for a rule's payload match, made of a pcre anchored right
// after a content (`content:"|06 03 55 04 0a|"; pcre:"/^.{2}(?P<o>[a-h]+[01]).+?(?P=o)/Rs"`) and
// checked by one Vectorscan scan of the buffer before the full matcher runs.
//
// Such a pcre can only match where the buffer holds the content and, right after it, a match of
// the pcre without its ^. The prefilter is that concatenation — the content's bytes, then the
// pcre's body — compiled with Vectorscan's HS_FLAG_PREFILTER, which replaces what Vectorscan cannot
// run (back-references, lookaround, atomic groups) by constructs that match more, never less: no
// match of the prefilter anywhere in the buffer means no match of the rule. The Detector asks it
// about candidates that reached the full matcher (Detector::Evaluate), so that a content present
// in every X.509 certificate no longer sends every certificate to the regular expression.
//
// When the pcre's subject (from the cursor: what follows the content) and the prefilter's (the
// whole buffer) could disagree, no prefilter is made: a ^, \A, \G, \b, \B or lookbehind after the
// leading ^ (they would see the content's bytes, not the subject's start), an alternation at the
// top level (`^a|b` matches b anywhere), the m and x flags, inline option settings, \Q..\E,
// backtracking verbs. Everything Vectorscan refuses to compile leaves the rule without one too.
//
//   auto e = PrefilterExpressionOf(content, pcre);        // build side; nullopt: none
//   auto pf = RegexPrefilter::Build(*e, cache);            // compiles or loads from the cache
//   if (!pf->MayMatch(data, len, scratch)) ...             // the rule cannot match here
//
// Cost: building one is one Vectorscan compile (1 ms for most, 0.2 s for the worst of ET Open
// 2017's), skipped when the on-disk DatabaseCache has it; checking one is one block-mode scan of
// the buffer, stopped at the first match.
#pragma once

#include <hs/hs.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "detect/database_cache.h"
#include "rules/options.h"

namespace vigil::detect {

// A Vectorscan expression and its HS_FLAG_* flags.
struct PrefilterExpression {
  std::string expression;
  unsigned flags = 0;
  friend bool operator==(const PrefilterExpression&, const PrefilterExpression&) = default;
};

// The prefilter of `pcre` (positive, relative, anchored by a leading ^ or the A flag) whose
// cursor is the end of content `literal` (nocase or not): \xHH per byte of the content (a class
// of both cases for a nocase letter), then the pcre's body. nullopt when the pcre is not of that
// shape or when the two subjects could disagree (see above).
[[nodiscard]] std::optional<PrefilterExpression> PrefilterExpressionOf(
    const std::string& literal, bool nocase, const rules::PcreOption& pcre);

class RegexPrefilter {
 public:
  // Compiles `e` in prefilter mode, or loads it from `cache` (and stores what it compiled there).
  // Fails with Vectorscan's message.
  static base::Result<std::unique_ptr<RegexPrefilter>> Build(const PrefilterExpression& e,
                                                             DatabaseCache* cache = nullptr);
  ~RegexPrefilter();
  RegexPrefilter(const RegexPrefilter&) = delete;
  RegexPrefilter& operator=(const RegexPrefilter&) = delete;

  // False when the expression matches nowhere in data[0, len): the rule cannot match there. True
  // on a match, and when the scan could not run (a scratch not prepared for raw(): see
  // LiteralScratch::Prepare), so that a failure never rejects a match.
  [[nodiscard]] bool MayMatch(const uint8_t* data, uint32_t len, hs_scratch_t* scratch) const;

  [[nodiscard]] const hs_database_t* raw() const { return db_; }

 private:
  explicit RegexPrefilter(hs_database_t* db) : db_(db) {}
  hs_database_t* db_;
};

}  // namespace vigil::detect

// Content matching: evaluates a rule's content options against one buffer with Snort's
// semantics — absolute offset/depth windows, a cursor that relative contents (distance/within)
// start from, negated contents that must be absent from their window, nocase, and backtracking:
// when a later relative content fails, an earlier content is retried at its next occurrence.
//
// This is the full matcher for contents, shared by the Detector and by the brute-force reference
// used in tests, so both agree by construction on what a content means.
//
//   std::span<const rules::ContentOption* const> contents = ...;
//   bool hit = detect::MatchContents(contents, payload, payload_len);
//
// Cost: one memmem-like search per content per tried occurrence; backtracking is bounded by
// kMaxContentSteps searches per call (Snort bounds it the same way), after which the rule does not
// match.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "rules/rule.h"

namespace vigil::detect {

inline constexpr int kMaxContentSteps = 4096;

// Position of the first occurrence of `needle` in haystack[from, to) (to exclusive), or -1.
// ASCII letters compare case-insensitively when `nocase`.
[[nodiscard]] int64_t FindBytes(const uint8_t* haystack, int64_t from, int64_t to,
                                std::string_view needle, bool nocase);

// True when every content in `contents` (in rule order) holds on buffer[0, len).
[[nodiscard]] bool MatchContents(std::span<const rules::ContentOption* const> contents,
                                 const uint8_t* buffer, uint32_t len);

}  // namespace vigil::detect

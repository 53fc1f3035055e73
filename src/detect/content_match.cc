#include "detect/content_match.h"

#include <algorithm>
#include <cstring>

namespace vigil::detect {
namespace {

inline uint8_t Lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? uint8_t(c + 32) : c; }

// The window [start, end) a content may match in, given the cursor (end of the previous match).
struct Window {
  int64_t start;
  int64_t end;
};

Window WindowFor(const rules::ContentOption& c, int64_t cursor, int64_t len) {
  int64_t start = 0;
  int64_t end = len;
  if (c.IsRelative()) {
    start = cursor + c.distance.value_or(0);
    if (c.within) end = start + *c.within;
  } else {
    start = c.offset.value_or(0);
    if (c.depth) end = start + *c.depth;
  }
  start = std::max<int64_t>(start, 0);
  end = std::min<int64_t>(end, len);
  return {start, end};
}

struct Matcher {
  std::span<const rules::ContentOption* const> contents;
  const uint8_t* buffer;
  int64_t len;
  int steps = 0;

  // Does contents[i..] hold with the cursor at `cursor`?
  bool From(size_t i, int64_t cursor) {
    if (i == contents.size()) return true;
    const rules::ContentOption& c = *contents[i];
    Window w = WindowFor(c, cursor, len);
    if (c.negated) {
      if (++steps > kMaxContentSteps) return false;
      bool present = w.end - w.start >= int64_t(c.pattern.size()) &&
                     FindBytes(buffer, w.start, w.end, c.pattern, c.nocase) >= 0;
      return !present && From(i + 1, cursor);
    }
    // Later contents that are absolute do not depend on where this one matched, so only a later
    // relative content makes retrying this one at its next occurrence worthwhile.
    bool later_relative = false;
    for (size_t j = i + 1; j < contents.size(); ++j) later_relative |= contents[j]->IsRelative();
    int64_t from = w.start;
    while (from + int64_t(c.pattern.size()) <= w.end) {
      if (++steps > kMaxContentSteps) return false;
      int64_t at = FindBytes(buffer, from, w.end, c.pattern, c.nocase);
      if (at < 0) return false;
      if (From(i + 1, at + int64_t(c.pattern.size()))) return true;
      if (!later_relative) return false;
      from = at + 1;
    }
    return false;
  }
};

}  // namespace

int64_t FindBytes(const uint8_t* haystack, int64_t from, int64_t to, std::string_view needle,
                  bool nocase) {
  int64_t n = int64_t(needle.size());
  if (n == 0) return from <= to ? from : -1;
  if (to - from < n) return -1;
  const auto* pat = reinterpret_cast<const uint8_t*>(needle.data());
  if (!nocase) {
    const void* hit = memmem(haystack + from, size_t(to - from), pat, size_t(n));
    return hit ? static_cast<const uint8_t*>(hit) - haystack : -1;
  }
  uint8_t first = Lower(pat[0]);
  for (int64_t i = from; i + n <= to; ++i) {
    if (Lower(haystack[i]) != first) continue;
    int64_t k = 1;
    while (k < n && Lower(haystack[i + k]) == Lower(pat[k])) ++k;
    if (k == n) return i;
  }
  return -1;
}

bool MatchContents(std::span<const rules::ContentOption* const> contents, const uint8_t* buffer,
                   uint32_t len) {
  Matcher m{contents, buffer, int64_t(len)};
  return m.From(0, 0);
}

}  // namespace vigil::detect

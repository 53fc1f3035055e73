#include "detect/regex_prefilter.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cctype>
#include <cstring>
#include <string_view>

namespace vigil::detect {
namespace {

// Skips the character class that opens at re[i] ('['); returns the index after its ']', or npos
// for a class that does not end or holds \Q..\E.
size_t SkipClass(std::string_view re, size_t i) {
  size_t j = i + 1;
  if (j < re.size() && re[j] == '^') ++j;
  if (j < re.size() && re[j] == ']') ++j;  // a ']' first is a literal
  while (j < re.size() && re[j] != ']') {
    if (re[j] == '\\') {
      if (j + 1 >= re.size() || re[j + 1] == 'Q' || re[j + 1] == 'E') return std::string_view::npos;
      j += 2;
    } else if (re[j] == '[' && j + 1 < re.size() &&
               (re[j + 1] == ':' || re[j + 1] == '.' || re[j + 1] == '=')) {
      // [:alpha:], [.x.], [=x=]: ends at the same character and ']'.
      const char close[3] = {re[j + 1], ']', 0};
      const size_t end = re.find(close, j + 2);
      if (end == std::string_view::npos) return end;
      j = end + 2;
    } else {
      ++j;
    }
  }
  return j < re.size() ? j + 1 : std::string_view::npos;
}

// True when `body` matches the same at a position of the whole buffer as at the start of a subject
// beginning there, and is one alternative: no anchor or assertion that reads what lies before
// (^ \A \G \b \B, lookbehind), no top-level |, and nothing this scan does not follow (inline
// options, \Q..\E, verbs, a comment or group it cannot close). False whenever unsure.
bool ContextFree(std::string_view body) {
  int depth = 0;
  size_t i = 0;
  while (i < body.size()) {
    switch (body[i]) {
      case '\\': {
        if (i + 1 >= body.size()) return false;
        const char d = body[i + 1];
        if (std::strchr("AGbBQEK", d) != nullptr) return false;
        i += d == 'c' ? 3 : 2;  // \cX: X is the control character's letter, whatever it is
        continue;
      }
      case '[':
        i = SkipClass(body, i);
        if (i == std::string_view::npos) return false;
        continue;
      case '(':
        if (i + 1 < body.size() && body[i + 1] == '*') return false;  // (*VERB)
        if (i + 1 < body.size() && body[i + 1] == '?') {
          const char k = i + 2 < body.size() ? body[i + 2] : 0;
          if (k == '#') {  // (?#comment)
            const size_t end = body.find(')', i);
            if (end == std::string_view::npos) return false;
            i = end + 1;
            continue;
          }
          if (k == '<') {
            const char l = i + 3 < body.size() ? body[i + 3] : 0;
            if (l == '=' || l == '!') return false;  // lookbehind
          } else if (std::strchr(":=!>|P'", k) == nullptr || k == 0) {
            return false;  // inline options, conditions, recursion
          }
        }
        ++depth;
        break;
      case ')':
        if (--depth < 0) return false;
        break;
      case '|':
        if (depth == 0) return false;
        break;
      case '^':
        return false;
      default:
        break;
    }
    ++i;
  }
  return depth == 0;
}

// PCRE2's newline is a line feed alone, as Vectorscan's: its . and $ then mean what Vectorscan's
// do (under ANYCRLF, PCRE2's $ would also match before a final \r, which Vectorscan's does not).
bool NewlineIsLineFeed() {
  static const bool lf = [] {
    uint32_t newline = 0;
    return pcre2_config(PCRE2_CONFIG_NEWLINE, &newline) >= 0 && newline == PCRE2_NEWLINE_LF;
  }();
  return lf;
}

}  // namespace

std::optional<PrefilterExpression> PrefilterExpressionOf(const std::string& literal, bool nocase,
                                                         const rules::PcreOption& pcre) {
  if (pcre.negated || !pcre.HasFlag('R') || literal.empty() || !NewlineIsLineFeed()) {
    return std::nullopt;
  }
  PrefilterExpression e{.flags = HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH};
  for (char f : pcre.flags) {
    switch (f) {
      case 'i':
        e.flags |= HS_FLAG_CASELESS;
        break;
      case 's':
        e.flags |= HS_FLAG_DOTALL;
        break;
      // Relative; raw bytes and match limits change nothing here; ungreedy and $ only at the end
      // change no match's existence, or only narrow it; anchored: as ^.
      case 'R':
      case 'B':
      case 'O':
      case 'G':
      case 'E':
      case 'A':
        break;
      default:  // m, x, buffer letters, and any letter this does not know
        return std::nullopt;
    }
  }
  std::string_view body = pcre.regex;
  if (body.starts_with('^')) {
    body.remove_prefix(1);
  } else if (!pcre.HasFlag('A')) {
    return std::nullopt;
  }
  if (!ContextFree(body)) return std::nullopt;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : literal) {
    if (nocase && std::isalpha(c)) {
      e.expression += {'[', char(std::tolower(c)), char(std::toupper(c)), ']'};
    } else {
      e.expression += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
    }
  }
  // In a group of its own: a quantifier first in the body fails to compile instead of applying
  // to the content's last byte.
  e.expression += "(?:";
  e.expression += body;
  e.expression += ')';
  return e;
}

base::Result<std::unique_ptr<RegexPrefilter>> RegexPrefilter::Build(const PrefilterExpression& e,
                                                                    DatabaseCache* cache) {
  std::string material;
  if (cache != nullptr) {
    material = "regex prefilter\n";
    material.append(reinterpret_cast<const char*>(&e.flags), sizeof e.flags);
    material += e.expression;
    if (hs_database_t* cached = cache->Load(material)) {
      return std::unique_ptr<RegexPrefilter>(new RegexPrefilter(cached));
    }
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_compile(e.expression.c_str(), e.flags, HS_MODE_BLOCK, nullptr, &db, &error) !=
      HS_SUCCESS) {
    std::string message = error != nullptr ? error->message : "unknown error";
    hs_free_compile_error(error);
    return base::MakeError("prefilter " + e.expression + ": " + message);
  }
  if (cache != nullptr) cache->Store(material, db);
  return std::unique_ptr<RegexPrefilter>(new RegexPrefilter(db));
}

RegexPrefilter::~RegexPrefilter() { hs_free_database(db_); }

bool RegexPrefilter::MayMatch(const uint8_t* data, uint32_t len, hs_scratch_t* scratch) const {
  auto stop = [](unsigned int, unsigned long long, unsigned long long, unsigned int, void*) -> int {
    return 1;
  };
  static const char kNothing = 0;
  const hs_error_t r =
      hs_scan(db_, data != nullptr ? reinterpret_cast<const char*>(data) : &kNothing, len, 0,
              scratch, stop, nullptr);
  return r != HS_SUCCESS;  // HS_SCAN_TERMINATED: a match; any error: no verdict
}

}  // namespace vigil::detect

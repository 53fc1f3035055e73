// regex_prefilter_fuzz: libFuzzer target for the regex prefilter's reading of a rule's pcre
// (PrefilterExpressionOf: which patterns may be joined to their content) and for its soundness.
// Input: one byte of choices (nocase content, pcre flags i / s / A / m), the content up to a NUL,
// the regex up to a second NUL, then a payload. When a prefilter is made and Vectorscan compiles
// it, every match the full matcher's reading would find — the content at some place, then the
// pcre matching from its end as the subject's start — must be a match of the prefilter: a
// payload on which the prefilter says no while the pcre says yes aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "detect/literal_database.h"
#include "detect/pcre_match.h"
#include "detect/regex_prefilter.h"

namespace {

unsigned char Fold(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

bool At(std::string_view payload, size_t p, std::string_view literal, bool nocase) {
  for (size_t k = 0; k < literal.size(); ++k) {
    const auto a = static_cast<unsigned char>(payload[p + k]);
    const auto b = static_cast<unsigned char>(literal[k]);
    if (nocase ? Fold(a) != Fold(b) : a != b) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::detect;
  if (size < 1) return 0;
  const uint8_t choices = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t lit_end = rest.find('\0');
  if (lit_end == std::string_view::npos) return 0;
  const std::string literal(rest.substr(0, lit_end));
  rest.remove_prefix(lit_end + 1);
  const size_t re_end = rest.find('\0');
  if (re_end == std::string_view::npos || re_end > 128) return 0;  // Vectorscan compiles slowly
  vigil::rules::PcreOption pcre{.regex = std::string(rest.substr(0, re_end)), .flags = "R"};
  const std::string_view payload = rest.substr(re_end + 1);
  const bool nocase = choices & 1;
  if (choices & 2) pcre.flags += 'i';
  if (choices & 4) pcre.flags += 's';
  if (choices & 8) pcre.flags += 'A';
  if (choices & 16) pcre.flags += 'm';
  auto e = PrefilterExpressionOf(literal, nocase, pcre);
  if (!e) return 0;
  auto re = Pcre::Compile(pcre);
  auto prefilter = RegexPrefilter::Build(*e);
  if (!re || !prefilter)
    return 0;  // a pcre that does not compile is no rule; Vectorscan may refuse
  LiteralScratch scratch;
  if (!scratch.Prepare((*prefilter)->raw())) return 0;
  const auto* bytes = reinterpret_cast<const uint8_t*>(payload.data());
  const bool may = (*prefilter)->MayMatch(bytes, uint32_t(payload.size()), scratch.raw());
  for (size_t p = 0; !may && p + literal.size() <= payload.size(); ++p) {
    if (!At(payload, p, literal, nocase)) continue;
    const size_t cursor = p + literal.size();
    size_t begin, end;
    if (re->Find(bytes + cursor, payload.size() - cursor, 0, begin, end) == PcreStatus::kMatch) {
      std::fprintf(stderr, "prefilter %s rejects a match of /%s/%s at %zu\n", e->expression.c_str(),
                   pcre.regex.c_str(), pcre.flags.c_str(), p);
      std::abort();
    }
  }
  return 0;
}

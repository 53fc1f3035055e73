// rules_fuzz: libFuzzer target for the rule language — the lexer, the parser, variables and the
// canonical printer. Input is rule-file text. Every rule that loads must print (ToText) to text
// that parses back to an equal Rule; anything else aborts, so the fuzzer reports it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "rules/parser.h"
#include "rules/rule_file.h"
#include "rules/variables.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const vigil::rules::Variables vars;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  vigil::rules::LoadReport report;
  report.support_check = nullptr;  // parsing only: the round trip compares with ParseRule
  vigil::rules::LoadRuleText(text, vars, "fuzz.rules", report);
  for (const vigil::rules::Rule& r : report.rules) {
    std::string printed = vigil::rules::ToText(r);
    auto again = vigil::rules::ParseRule(printed, vars, r.file, r.line);
    if (!again || !(*again == r)) {
      std::fprintf(stderr, "round trip failed for: %s\n", printed.c_str());
      std::abort();
    }
  }
  return 0;
}

// Helpers shared by the line-oriented side files (classification.config, reference.config,
// threshold.config): read a whole file, and walk its meaningful lines.
//
//   auto text = ReadConfigFile(path, "reference file");   // Error names the file and errno text
//   auto st = ForEachConfigLine(*text, [&](Token line, uint32_t line_no) { return Parse(line); });
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "rules/lexer.h"

namespace vigil::rules {

// The file's bytes, or Error{"cannot read <what>: <reason>", path}.
[[nodiscard]] base::Result<std::string> ReadConfigFile(const std::string& path,
                                                       std::string_view what);

// Calls f(line, line_no) for every line that is neither blank nor a '#' comment, trimmed, with
// 1-based line numbers; returns the first failure f returns.
template <class F>
base::Status ForEachConfigLine(std::string_view text, F&& f) {
  size_t pos = 0;
  uint32_t line_no = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    size_t end = eol == std::string_view::npos ? text.size() : eol;
    Token line = Trim(Token{text.substr(pos, end - pos), 0});
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    ++line_no;
    if (line.text.empty() || line.text[0] == '#') continue;
    if (auto st = f(line, line_no); !st) return st;
  }
  return {};
}

}  // namespace vigil::rules

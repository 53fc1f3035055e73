#include "rules/reference_config.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "rules/config_text.h"
#include "rules/lexer.h"

namespace vigil::rules {

extern const std::string_view kDefaultReferenceConfig;  // reference_default.cc

namespace {

base::Error ErrorAt(const std::string& file, uint32_t line, size_t offset, std::string message) {
  base::Error e{std::move(message)};
  e.file = file;
  e.line = line;
  e.column = uint32_t(offset + 1);
  return e;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
  return out;
}

bool IsSystemName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// `config reference: system url`
base::Status ParseLine(Token line, const std::string& file, uint32_t line_no,
                       ReferenceTable& table) {
  constexpr std::string_view kConfig = "config";
  constexpr std::string_view kReference = "reference";
  std::string_view t = line.text;
  if (!t.starts_with(kConfig)) {
    return ErrorAt(file, line_no, line.offset, "expected 'config reference: system url'");
  }
  size_t pos = kConfig.size();
  size_t before = pos;
  while (pos < t.size() && IsSpace(t[pos])) ++pos;
  if (pos == before || t.substr(pos, kReference.size()) != kReference) {
    return ErrorAt(file, line_no, line.offset + pos, "expected 'reference' after 'config'");
  }
  pos += kReference.size();
  while (pos < t.size() && IsSpace(t[pos])) ++pos;
  if (pos >= t.size() || t[pos] != ':') {
    return ErrorAt(file, line_no, line.offset + pos, "expected ':' after 'config reference'");
  }
  Token body = Trim(Token{t.substr(pos + 1), line.offset + pos + 1});
  size_t space = 0;
  while (space < body.text.size() && !IsSpace(body.text[space])) ++space;
  Token name{body.text.substr(0, space), body.offset};
  Token url = Trim(Token{body.text.substr(space), body.offset + space});
  if (!IsSystemName(name.text)) {
    return ErrorAt(file, line_no, name.offset,
                   "reference system must be letters, digits, '_', '-' or '.'");
  }
  if (url.text.empty()) {
    return ErrorAt(file, line_no, body.offset + body.text.size(),
                   "reference system '" + std::string(name.text) + "' has no URL");
  }
  for (size_t i = 0; i < url.text.size(); ++i) {
    if (IsSpace(url.text[i])) {
      return ErrorAt(file, line_no, url.offset + i, "unexpected text after the URL");
    }
  }
  table.Add(ReferenceSystem{Lower(name.text), std::string(url.text)});
  return {};
}

}  // namespace

std::string_view ReferenceTable::DefaultText() { return kDefaultReferenceConfig; }

const ReferenceTable& ReferenceTable::Default() {
  static const ReferenceTable table = [] {
    auto parsed = Parse(kDefaultReferenceConfig, "<built-in reference.config>");
    if (!parsed) {
      // The text is etc/reference.config, checked by rules_test.
      std::fprintf(stderr, "vigil: built-in reference table: %s\n",
                   parsed.error().ToString().c_str());
      std::abort();
    }
    return std::move(*parsed);
  }();
  return table;
}

base::Result<ReferenceTable> ReferenceTable::Parse(std::string_view text, const std::string& file) {
  ReferenceTable table;
  auto st = ForEachConfigLine(
      text, [&](Token line, uint32_t line_no) { return ParseLine(line, file, line_no, table); });
  if (!st) return st.error();
  return table;
}

base::Result<ReferenceTable> ReferenceTable::LoadFile(const std::string& path) {
  auto text = ReadConfigFile(path, "reference file");
  if (!text) return text.error();
  return Parse(*text, path);
}

void ReferenceTable::Add(ReferenceSystem system) {
  auto [it, inserted] = index_.emplace(system.name, entries_.size());
  if (inserted) {
    entries_.push_back(std::move(system));
  } else {
    entries_[it->second] = std::move(system);
  }
}

const ReferenceSystem* ReferenceTable::Lookup(std::string_view name) const {
  auto it = index_.find(Lower(name));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::string ReferenceTable::Url(const Reference& reference) const {
  const ReferenceSystem* s = Lookup(reference.system);
  if (s == nullptr) return "";
  return s->url_prefix + reference.id;
}

}  // namespace vigil::rules

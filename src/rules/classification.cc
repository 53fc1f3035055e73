#include "rules/classification.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "rules/config_text.h"
#include "rules/lexer.h"

namespace vigil::rules {

extern const std::string_view kDefaultClassificationConfig;  // classification_default.cc

namespace {

base::Error ErrorAt(const std::string& file, uint32_t line, size_t offset, std::string message) {
  base::Error e{std::move(message)};
  e.file = file;
  e.line = line;
  e.column = uint32_t(offset + 1);
  return e;
}

bool IsClassName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

base::Status ParseLine(Token line, const std::string& file, uint32_t line_no,
                       ClassificationTable& table) {
  constexpr std::string_view kConfig = "config";
  constexpr std::string_view kClassification = "classification";
  std::string_view t = line.text;
  size_t pos = 0;
  auto skip_space = [&] {
    while (pos < t.size() && IsSpace(t[pos])) ++pos;
  };
  if (!t.starts_with(kConfig)) {
    return ErrorAt(file, line_no, line.offset,
                   "expected 'config classification: name,description,priority'");
  }
  pos = kConfig.size();
  size_t before = pos;
  skip_space();
  if (pos == before || t.substr(pos, kClassification.size()) != kClassification) {
    return ErrorAt(file, line_no, line.offset + pos, "expected 'classification' after 'config'");
  }
  pos += kClassification.size();
  skip_space();
  if (pos >= t.size() || t[pos] != ':') {
    return ErrorAt(file, line_no, line.offset + pos, "expected ':' after 'config classification'");
  }
  ++pos;
  Token body = Trim(Token{t.substr(pos), line.offset + pos});
  size_t first = body.text.find(',');
  size_t last = body.text.rfind(',');
  if (first == std::string_view::npos || first == last) {
    return ErrorAt(file, line_no, body.offset,
                   "expected three comma-separated fields: name,description,priority");
  }
  Token name = Trim(Token{body.text.substr(0, first), body.offset});
  Token desc = Trim(Token{body.text.substr(first + 1, last - first - 1), body.offset + first + 1});
  Token prio = Trim(Token{body.text.substr(last + 1), body.offset + last + 1});
  if (!IsClassName(name.text)) {
    return ErrorAt(file, line_no, name.offset,
                   "classification name must be letters, digits, '_', '-' or '.'");
  }
  if (desc.text.empty())
    return ErrorAt(file, line_no, desc.offset, "empty classification description");
  int64_t priority = 0;
  bool ok = !prio.text.empty() && prio.text.size() <= 9;
  for (char c : prio.text) {
    if (c < '0' || c > '9') ok = false;
    if (ok) priority = priority * 10 + (c - '0');
  }
  if (!ok || priority < 1) {
    return ErrorAt(file, line_no, prio.offset,
                   "classification priority must be a positive integer, found '" +
                       std::string(prio.text) + "'");
  }
  table.Add(Classification{std::string(name.text), std::string(desc.text), int(priority)});
  return {};
}

}  // namespace

std::string_view ClassificationTable::DefaultText() { return kDefaultClassificationConfig; }

const ClassificationTable& ClassificationTable::Default() {
  static const ClassificationTable table = [] {
    auto parsed = Parse(kDefaultClassificationConfig, "<built-in classification.config>");
    if (!parsed) {
      // The text is etc/classification.config, checked by rules_test.
      std::fprintf(stderr, "vigil: built-in classification table: %s\n",
                   parsed.error().ToString().c_str());
      std::abort();
    }
    return std::move(*parsed);
  }();
  return table;
}

base::Result<ClassificationTable> ClassificationTable::Parse(std::string_view text,
                                                             const std::string& file) {
  ClassificationTable table;
  auto st = ForEachConfigLine(
      text, [&](Token line, uint32_t line_no) { return ParseLine(line, file, line_no, table); });
  if (!st) return st.error();
  return table;
}

base::Result<ClassificationTable> ClassificationTable::LoadFile(const std::string& path) {
  auto text = ReadConfigFile(path, "classification file");
  if (!text) return text.error();
  return Parse(*text, path);
}

void ClassificationTable::Add(Classification c) {
  auto [it, inserted] = index_.emplace(c.name, entries_.size());
  if (inserted) {
    entries_.push_back(std::move(c));
  } else {
    entries_[it->second] = std::move(c);
  }
}

const Classification* ClassificationTable::Lookup(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::optional<int> RulePriority(const Rule& rule, const ClassificationTable& table) {
  if (rule.priority) return rule.priority;
  if (rule.classtype.empty()) return std::nullopt;
  const Classification* c = table.Lookup(rule.classtype);
  if (c == nullptr) return std::nullopt;
  return c->priority;
}

}  // namespace vigil::rules

#include "rules/rule_file.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

#include "base/parallel_for.h"
#include "rules/lexer.h"
#include "rules/parser.h"

namespace vigil::rules {

namespace {

// Deeper than any real include tree; stops runaway includes that a cycle check cannot see
// (e.g. through ever-changing relative paths).
constexpr size_t kMaxIncludeDepth = 32;

// LoadText's guess at how much rule text makes one rule, on the low side.
constexpr size_t kBytesPerRuleGuess = 400;

// Snort configuration directives that may appear in a snort.conf-style file but not among rules.
constexpr std::string_view kConfigDirectives[] = {
    "var",           "ipvar",
    "portvar",       "config",
    "preprocessor",  "output",
    "ruletype",      "dynamicpreprocessor",
    "dynamicengine", "dynamicdetection",
    "event_filter",  "suppress",
    "rate_filter",   "threshold",
};

base::Error ErrorAt(const std::string& file, uint32_t line, uint32_t column, std::string message) {
  base::Error e{std::move(message)};
  e.file = file;
  e.line = line;
  e.column = column;
  return e;
}

bool ReadFile(const std::string& path, std::string& out, std::string& why) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    why = std::strerror(errno);
    return false;
  }
  out.clear();
  // Read in place at the size the file has (a ruleset's files run to megabytes: growing the text
  // a chunk at a time copied it over and over), then on for whatever a growing file adds.
  struct stat st {};
  if (::fstat(::fileno(f), &st) == 0 && st.st_size > 0) {
    out.resize(size_t(st.st_size));
    out.resize(std::fread(out.data(), 1, out.size(), f));
  }
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  bool ok = !std::ferror(f);
  if (!ok) why = std::strerror(errno);
  std::fclose(f);
  return ok;
}

std::string Canonical(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(path, ec);
  return ec ? path : p.string();
}

class Loader {
 public:
  Loader(const Variables& vars, LoadReport& report) : vars_(vars), report_(report) {}

  void LoadFile(const std::string& path, const std::string& included_from, uint32_t from_line) {
    std::string canonical = Canonical(path);
    if (std::find(stack_.begin(), stack_.end(), canonical) != stack_.end()) {
      std::string chain;
      for (const std::string& s : stack_) chain += s + " -> ";
      report_.failures.push_back(
          ErrorAt(included_from, from_line, 0, "include cycle: " + chain + canonical));
      return;
    }
    if (stack_.size() >= kMaxIncludeDepth) {
      report_.failures.push_back(
          ErrorAt(included_from, from_line, 0,
                  "includes nested more than " + std::to_string(kMaxIncludeDepth) + " deep"));
      return;
    }
    std::string text;
    std::string why;
    if (!ReadFile(path, text, why)) {
      std::string message = "cannot read rule file '" + path + "': " + why;
      if (included_from.empty()) {
        report_.failures.push_back(ErrorAt(path, 0, 0, std::move(message)));
      } else {
        report_.failures.push_back(ErrorAt(included_from, from_line, 0, std::move(message)));
      }
      return;
    }
    stack_.push_back(canonical);
    LoadText(text, path);
    stack_.pop_back();
  }

  void LoadText(std::string_view text, const std::string& name) {
    // Room for the text's rules at once, guessing from its size (the rulesets here hold a rule per
    // 450 to 800 bytes, comments included): grown a doubling at a time, the vector of 550-byte
    // rules moved each of them again and touched twice the memory. Capacity never written costs
    // address space, not memory.
    report_.rules.reserve(report_.rules.size() + text.size() / kBytesPerRuleGuess);
    std::string joined;
    size_t pos = 0;
    uint32_t line_no = 0;
    while (pos < text.size()) {
      // Gather one logical line: physical lines joined while they end in '\'.
      uint32_t first_line = line_no + 1;
      joined.clear();
      bool continued = true;
      while (continued && pos < text.size()) {
        size_t eol = text.find('\n', pos);
        size_t end = eol == std::string_view::npos ? text.size() : eol;
        std::string_view line = text.substr(pos, end - pos);
        pos = eol == std::string_view::npos ? text.size() : eol + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        continued = !line.empty() && line.back() == '\\';
        if (continued) line.remove_suffix(1);
        joined.append(line);
      }
      HandleLine(joined, name, first_line);
    }
  }

 private:
  void HandleLine(std::string_view line, const std::string& name, uint32_t line_no) {
    Token t = Trim(Token{line, 0});
    if (t.text.empty() || t.text[0] == '#') return;
    size_t word_end = 0;
    while (word_end < t.text.size() && !IsSpace(t.text[word_end])) ++word_end;
    std::string_view word = t.text.substr(0, word_end);
    if (word == "include") {
      Token target = Trim(Token{t.text.substr(word_end), t.offset + word_end});
      uint32_t column = uint32_t(target.offset + 1);
      if (target.text.empty()) {
        report_.failures.push_back(ErrorAt(name, line_no, column, "include needs a file path"));
        return;
      }
      if (target.text.find('$') != std::string_view::npos) {
        report_.failures.push_back(
            ErrorAt(name, line_no, column, "variables in include paths are not supported"));
        return;
      }
      std::filesystem::path p(target.text);
      if (p.is_relative()) p = std::filesystem::path(name).parent_path() / p;
      LoadFile(p.string(), name, line_no);
      return;
    }
    for (std::string_view directive : kConfigDirectives) {
      if (word == directive) {
        report_.failures.push_back(ErrorAt(
            name, line_no, uint32_t(t.offset + 1),
            "configuration directive '" + std::string(word) + "' is not supported in a rule file"));
        return;
      }
    }
    auto rule = ParseRule(line, vars_, name, line_no);
    if (!rule) {
      report_.failures.push_back(std::move(rule.error()));
      return;
    }
    report_.Add(std::move(*rule));
  }

  const Variables& vars_;
  LoadReport& report_;
  std::vector<std::string> stack_;  // canonical paths of the files being read, outermost first
};

std::string Place(const Rule& r) { return r.file + ":" + std::to_string(r.line); }

}  // namespace

std::optional<std::string> PayloadContentOnly(const Rule& rule) {
  if (!rule.protocol_variant.empty()) return "unsupported protocol " + rule.protocol_variant;
  if (!rule.service.empty()) {
    return "unsupported protocol " + rule.service + " (application-layer detection)";
  }
  for (const Option& option : rule.options) {
    const auto* c = std::get_if<ContentOption>(&option);
    if (c == nullptr) return "unsupported keyword " + OptionKeyword(option);
    if (!c->buffer.empty()) return "unsupported buffer " + c->buffer;
    if (c->startswith) return std::string("unsupported keyword startswith");
    if (c->endswith) return std::string("unsupported keyword endswith");
    if (c->HasVariable()) {
      return std::string("unsupported byte_extract variable in a content modifier");
    }
  }
  return std::nullopt;
}

size_t LoadReport::disabled() const {
  return size_t(
      std::count_if(rules.begin(), rules.end(), [](const Rule& r) { return !r.enabled; }));
}

void LoadReport::Add(Rule rule) {
  if (support_check) {
    if (std::optional<std::string> reason = support_check(rule)) {
      rule.enabled = false;
      rule.disabled_reason = std::move(*reason);
    }
  }
  AddChecked(std::move(rule));
}

void LoadReport::AddChecked(Rule rule) {
  uint64_t key = uint64_t(rule.gid) << 32 | rule.sid;
  auto [it, inserted] = index_.emplace(key, rules.size());
  if (inserted) {
    rules.push_back(std::move(rule));
    return;
  }
  Rule& kept = rules[it->second];
  std::string id = std::to_string(rule.gid) + ":" + std::to_string(rule.sid);
  bool replace = rule.rev > kept.rev;
  const Rule& winner = replace ? rule : kept;
  base::Error e{"duplicate rule " + id + ": " + Place(kept) + " (rev " + std::to_string(kept.rev) +
                ") and " + Place(rule) + " (rev " + std::to_string(rule.rev) + "); keeping " +
                Place(winner)};
  e.file = rule.file;
  e.line = rule.line;
  duplicates.push_back(std::move(e));
  if (replace) kept = std::move(rule);
}

void LoadReport::Merge(LoadReport&& other) {
  for (base::Error& e : other.failures) failures.push_back(std::move(e));
  for (base::Error& e : other.duplicates) duplicates.push_back(std::move(e));
  for (Rule& r : other.rules) AddChecked(std::move(r));
}

void LoadRuleFile(const std::string& path, const Variables& vars, LoadReport& report) {
  Loader(vars, report).LoadFile(path, "", 0);
}

base::Result<std::vector<std::string>> RuleFilesIn(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".rules") files.push_back(e.path().string());
  }
  if (ec) return base::MakeError(dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

void LoadRuleFiles(const std::vector<std::string>& paths, const Variables& vars, LoadReport& report,
                   unsigned threads) {
  std::vector<LoadReport> parts(paths.size());
  for (LoadReport& part : parts) part.support_check = report.support_check;
  // The largest files first, so that no thread is left parsing a big one alone at the end (ET
  // Open's two largest files hold 44% of its rules); the parts still merge in the given order.
  std::vector<std::pair<uintmax_t, size_t>> by_size;
  for (size_t i = 0; i < paths.size(); ++i) {
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(paths[i], ec);
    by_size.emplace_back(ec ? 0 : size, i);
  }
  std::stable_sort(by_size.begin(), by_size.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  base::ParallelFor(
      paths.size(), threads,
      [&](size_t k) {
        const size_t i = by_size[k].second;
        LoadRuleFile(paths[i], vars, parts[i]);
      },
      1);
  size_t total = report.rules.size();
  for (const LoadReport& part : parts) total += part.rules.size();
  report.rules.reserve(total);  // one move of each rule, not one per file merged
  for (LoadReport& part : parts) report.Merge(std::move(part));
}

void LoadRuleText(std::string_view text, const Variables& vars, const std::string& name,
                  LoadReport& report) {
  Loader(vars, report).LoadText(text, name);
}

base::Result<std::vector<Rule>> ParseRuleText(std::string_view text, const Variables& vars,
                                              const std::string& name) {
  LoadReport report;
  LoadRuleText(text, vars, name, report);
  if (!report.failures.empty()) return report.failures.front();
  return std::move(report.rules);
}

}  // namespace vigil::rules

// Classification table: what a rule's `classtype:` means — a description for alerts and the
// default priority (1 = most severe) — read from Snort/Suricata classification.config files.
//
//   const ClassificationTable& table = ClassificationTable::Default();   //
//   etc/classification.config auto custom =
//   ClassificationTable::LoadFile("/etc/vigil/classification.config"); if (!custom) std::cerr <<
//   custom.error().ToString();                  // "file:line:col: ..." const Classification* c =
//   table.Lookup("trojan-activity");            // priority 1
//
// File format: one `config classification: shortname,description,priority` per line; blank lines
// and '#' comments are skipped. The description may hold commas (the first and last commas split
// the fields). A name given twice keeps the later entry, as Suricata does.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "rules/rule.h"

namespace vigil::rules {

struct Classification {
  std::string name;  // the classtype, e.g. "attempted-admin"
  std::string description;
  int priority = 0;

  friend bool operator==(const Classification&, const Classification&) = default;
};

class ClassificationTable {
 public:
  // The built-in table: etc/classification.config, compiled in.
  [[nodiscard]] static const ClassificationTable& Default();
  // The text etc/classification.config held at build time.
  [[nodiscard]] static std::string_view DefaultText();

  // Parses classification.config text; errors name `file`, the line and the column.
  [[nodiscard]] static base::Result<ClassificationTable> Parse(std::string_view text,
                                                               const std::string& file = "");
  [[nodiscard]] static base::Result<ClassificationTable> LoadFile(const std::string& path);

  // Adds or replaces one entry.
  void Add(Classification c);

  // The entry for `name`, or nullptr.
  [[nodiscard]] const Classification* Lookup(std::string_view name) const;
  [[nodiscard]] size_t size() const { return entries_.size(); }
  // Entries in the order they were first added.
  [[nodiscard]] const std::vector<Classification>& entries() const { return entries_; }

  friend bool operator==(const ClassificationTable& a, const ClassificationTable& b) {
    return a.entries_ == b.entries_;
  }

 private:
  std::vector<Classification> entries_;
  std::unordered_map<std::string, size_t> index_;
};

// A rule's priority: its own `priority:` when it has one, else its classtype's, else nullopt
// (no classtype, or one the table does not know).
[[nodiscard]] std::optional<int> RulePriority(const Rule& rule, const ClassificationTable& table);

}  // namespace vigil::rules

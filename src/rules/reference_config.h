// Reference systems: what a rule's `reference:system,id` points to — a URL prefix per system —
// read from Snort/Suricata reference.config files, for alert outputs.
//
//   const ReferenceTable& table = ReferenceTable::Default();       // etc/reference.config
//   auto custom = ReferenceTable::LoadFile("/etc/vigil/reference.config");
//   if (!custom) std::cerr << custom.error().ToString();           // "file:line:col: ..."
//   table.Url(Reference{"cve", "2021-44228"});
//   // "http://cve.mitre.org/cgi-bin/cvename.cgi?name=2021-44228"
//
// File format: one `config reference: system url-prefix` per line; blank lines and '#' comments
// are skipped. System names are case-insensitive (stored lowercase); a system given twice keeps
// the later entry, as Suricata does.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "rules/rule.h"

namespace vigil::rules {

struct ReferenceSystem {
  std::string name;        // lowercase, e.g. "cve"
  std::string url_prefix;  // e.g. "http://cve.mitre.org/cgi-bin/cvename.cgi?name="

  friend bool operator==(const ReferenceSystem&, const ReferenceSystem&) = default;
};

class ReferenceTable {
 public:
  // The built-in table: etc/reference.config, compiled in.
  [[nodiscard]] static const ReferenceTable& Default();
  [[nodiscard]] static std::string_view DefaultText();

  // Parses reference.config text; the first bad line fails it, naming `file`, line and column.
  [[nodiscard]] static base::Result<ReferenceTable> Parse(std::string_view text,
                                                          const std::string& file = "");
  [[nodiscard]] static base::Result<ReferenceTable> LoadFile(const std::string& path);

  // Adds or replaces one entry.
  void Add(ReferenceSystem system);

  // The entry for `name` (any case), or nullptr.
  [[nodiscard]] const ReferenceSystem* Lookup(std::string_view name) const;
  // The reference's URL: its system's prefix followed by the id; "" for an unknown system.
  [[nodiscard]] std::string Url(const Reference& reference) const;

  [[nodiscard]] size_t size() const { return entries_.size(); }
  [[nodiscard]] const std::vector<ReferenceSystem>& entries() const { return entries_; }

 private:
  std::vector<ReferenceSystem> entries_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace vigil::rules

// Rule files: reads .rules files (and in-memory rule text) into Rules, collecting every failure
// instead of stopping at the first, so one bad rule never hides the others.
//
//   Variables vars;
//   LoadReport report;
//   report.support_check = detect::UnsupportedReason;   // the detector's (default: see below)
//   LoadRuleFile("/etc/vigil/rules/local.rules", vars, report);
//   for (const base::Error& e : report.failures) std::cerr << e.ToString() << "\n";
//   std::cout << report.loaded() << " rules, " << report.disabled() << " disabled\n";
//
// File format, line by line:
//   - a line ending in '\' continues on the next line (the '\' and the line break are removed and
//     the lines joined as they are, as Snort and Suricata do); the rule's line is its first line
//     and error columns count in the joined text;
//   - blank lines and lines whose first non-blank character is '#' are skipped (a commented-out
//     rule is not a rule);
//   - `include PATH` reads another rule file, PATH relative to the including file's directory;
//     an include cycle, a missing file or a $VARIABLE in PATH is a failure entry;
//   - every other line is a rule (parser.h).
// A rule whose gid:sid was already loaded is a duplicate: the one with the higher rev is kept (the
// earlier one when revs are equal, as Suricata does) and an entry naming both places goes to
// `duplicates`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "rules/rule.h"
#include "rules/variables.h"

namespace vigil::rules {

// Decides whether the detector can evaluate a rule: nullopt when it can, else the reason, e.g.
// "unsupported keyword pcre". The rules library does not know the detector; the caller passes
// detect::UnsupportedReason (detect/support.h).
using SupportCheck = std::function<std::optional<std::string>(const Rule&)>;

// The support check a LoadReport starts with: the rules any version of the detector evaluates — a
// header on ip, tcp, udp or icmp (no application protocol, no narrowing such as tcp-pkt) and
// content options on the packet payload with their modifiers. Callers that build a detector pass
// detect::UnsupportedReason, the detector's own and possibly wider check; this default only makes
// sure that a caller who forgets never gets a rule evaluated wrongly.
[[nodiscard]] std::optional<std::string> PayloadContentOnly(const Rule& rule);

struct LoadReport {
  // Every rule added is checked and one it gives a reason for is kept with enabled = false and
  // that disabled_reason. Set it to nullptr to keep every parsed rule enabled (parse-only tools).
  SupportCheck support_check = PayloadContentOnly;

  std::vector<Rule> rules;              // parsed rules, enabled or not, without duplicates
  std::vector<base::Error> failures;    // rules that did not parse, unreadable files, ...
  std::vector<base::Error> duplicates;  // one entry per duplicate gid:sid, naming both places

  // Rules kept (enabled or not).
  [[nodiscard]] size_t loaded() const { return rules.size(); }
  // Rules kept but disabled (they use a keyword the engine cannot evaluate yet).
  [[nodiscard]] size_t disabled() const;
  [[nodiscard]] size_t enabled() const { return loaded() - disabled(); }

  // Adds a parsed rule, applying support_check and resolving a duplicate gid:sid (see the file
  // comment).
  void Add(Rule rule);
  // Appends what `other` loaded after what this report holds, as if its files had been loaded
  // here next: its rules (already checked) with duplicates resolved, its failures, duplicates.
  void Merge(LoadReport&& other);

 private:
  void AddChecked(Rule rule);
  std::unordered_map<uint64_t, size_t> index_;  // gid << 32 | sid -> position in `rules`
};

// Loads `path` (and what it includes) into `report`. Never fails as a whole: a missing file is
// one failure entry.
void LoadRuleFile(const std::string& path, const Variables& vars, LoadReport& report);

// The .rules files directly in folder `dir`, sorted by path (a ruleset folder as the benchmarks
// and tools load it); fails naming the folder when it cannot be read.
[[nodiscard]] base::Result<std::vector<std::string>> RuleFilesIn(const std::string& dir);

// Loads every file of `paths` into `report` as LoadRuleFile one after the other would, the files
// parsed on up to `threads` threads (0: one per core) and merged in order.
void LoadRuleFiles(const std::vector<std::string>& paths, const Variables& vars, LoadReport& report,
                   unsigned threads = 0);

// The same for rule text held in memory; `name` stands for the file name in messages, and
// includes are relative to its directory.
void LoadRuleText(std::string_view text, const Variables& vars, const std::string& name,
                  LoadReport& report);

// For tests and fuzzers: the rules of `text`, or its first failure.
[[nodiscard]] base::Result<std::vector<Rule>> ParseRuleText(std::string_view text,
                                                            const Variables& vars,
                                                            const std::string& name = "<text>");

}  // namespace vigil::rules

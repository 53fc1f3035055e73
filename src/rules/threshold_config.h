// Threshold configuration: Snort's and Suricata's threshold.config, which adjusts alerting per
// gen_id:sig_id without editing the rules — suppress, threshold (and Snort's alias event_filter)
// and rate_filter lines — read into typed entries. Every bad line is one failure entry
// (file:line:column), the others still load, as with rule files.
//
//   Variables vars;
//   ThresholdConfig config;
//   LoadThresholdFile("/etc/vigil/threshold.config", vars, config);
//   for (const base::Error& e : config.failures) std::cerr << e.ToString() << "\n";
//
// Lines (arguments after the first word are `name value` pairs separated by commas, any order):
//   suppress gen_id G, sig_id S[, track by_src|by_dst|by_either, ip ADDRESSES]
//   threshold gen_id G, sig_id S, type limit|threshold|both, track by_src|by_dst|by_rule|by_both,
//             count N, seconds N
//   event_filter ...  (the same as threshold)
//   rate_filter gen_id G, sig_id S, track by_src|by_dst|by_rule|by_both, count N, seconds N,
//               new_action alert|drop|pass|log|sdrop|reject, timeout N[, apply_to ADDRESSES]
// ADDRESSES is an address expression as in rule headers (variables.h): a CIDR, a [list] or a
// $VARIABLE. sig_id 0 means every rule of the generator. Blank lines and '#' comments are
// skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "rules/rule.h"
#include "rules/variables.h"

namespace vigil::rules {

struct SuppressEntry {
  uint32_t gid = 0;
  uint32_t sid = 0;
  std::optional<Track> track;     // with `ip`: kBySrc, kByDst or kByEither
  std::optional<AddressExpr> ip;  // set exactly when `track` is
  uint32_t line = 0;

  friend bool operator==(const SuppressEntry&, const SuppressEntry&) = default;
};

struct ThresholdEntry {
  bool event_filter = false;  // written `event_filter` (Snort's name)
  uint32_t gid = 0;
  uint32_t sid = 0;
  ThresholdOption::Type type = ThresholdOption::Type::kLimit;
  Track track = Track::kBySrc;
  uint32_t count = 0;
  uint32_t seconds = 0;
  uint32_t line = 0;

  friend bool operator==(const ThresholdEntry&, const ThresholdEntry&) = default;
};

struct RateFilterEntry {
  uint32_t gid = 0;
  uint32_t sid = 0;
  Track track = Track::kBySrc;
  uint32_t count = 0;
  uint32_t seconds = 0;
  Action new_action = Action::kAlert;
  uint32_t timeout = 0;
  std::optional<AddressExpr> apply_to;
  uint32_t line = 0;

  friend bool operator==(const RateFilterEntry&, const RateFilterEntry&) = default;
};

struct ThresholdConfig {
  std::vector<SuppressEntry> suppressions;
  std::vector<ThresholdEntry> thresholds;
  std::vector<RateFilterEntry> rate_filters;
  std::vector<base::Error> failures;  // one per bad line, or an unreadable file

  [[nodiscard]] size_t size() const {
    return suppressions.size() + thresholds.size() + rate_filters.size();
  }
};

// Adds the entries of `text` (`name` stands for the file in messages) to `out`.
void LoadThresholdText(std::string_view text, const Variables& vars, const std::string& name,
                       ThresholdConfig& out);
// The same for a file; a missing file is one failure entry.
void LoadThresholdFile(const std::string& path, const Variables& vars, ThresholdConfig& out);

}  // namespace vigil::rules

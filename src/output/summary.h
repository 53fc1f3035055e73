// RunSummary: the counters of a finished run, rendered for a person (stderr) and as JSON
// (stats.json). Counters keep their dotted names (`decode.ipv4.bad_checksum`) in both.
//
//   RunSummary s;
//   s.Add("packets", 102032);
//   s.seconds = 0.52;
//   std::fputs(s.ToText().c_str(), stderr);
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vigil::output {

struct RunSummary {
  std::vector<std::pair<std::string, uint64_t>> counters;  // in the order added
  uint64_t packets = 0;
  uint64_t bytes = 0;  // captured bytes processed (what Mbit/s is computed over)
  uint64_t alerts = 0;
  double seconds = 0;

  // Start-up figures ("parse_s", "cache_hits", ...), written to stats.json as "startup".
  std::vector<std::pair<std::string, double>> startup;

  void Add(std::string name, uint64_t value) { counters.emplace_back(std::move(name), value); }
  [[nodiscard]] double Mbps() const { return seconds > 0 ? bytes * 8 / seconds / 1e6 : 0; }

  // Headline figures, then every non-zero counter, one per line.
  [[nodiscard]] std::string ToText() const;
  // {"packets":…,"bytes":…,"alerts":…,"seconds":…,"mbit_per_s":…,"counters":{name: value, …},
  //  "startup":{name: value, …}}
  [[nodiscard]] std::string ToJson() const;
};

}  // namespace vigil::output

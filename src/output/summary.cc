#include "output/summary.h"

#include <fmt/format.h>

#include "output/alert_writers.h"

namespace vigil::output {

std::string RunSummary::ToText() const {
  std::string s;
  auto out = std::back_inserter(s);
  fmt::format_to(out, "=== vigil summary ===\n");
  fmt::format_to(out, "  {:<36} {:>14}\n", "packets", packets);
  fmt::format_to(out, "  {:<36} {:>14}\n", "bytes", bytes);
  fmt::format_to(out, "  {:<36} {:>14}\n", "alerts", alerts);
  fmt::format_to(out, "  {:<36} {:>14.3f}\n", "seconds", seconds);
  fmt::format_to(out, "  {:<36} {:>14.1f}\n", "Mbit/s", Mbps());
  for (const auto& [name, value] : counters) {
    if (value != 0) fmt::format_to(out, "  {:<36} {:>14}\n", name, value);
  }
  return s;
}

std::string RunSummary::ToJson() const {
  std::string s;
  auto out = std::back_inserter(s);
  fmt::format_to(out, R"({{"packets":{},"bytes":{},"alerts":{},"seconds":{:.6f},)", packets, bytes,
                 alerts, seconds);
  fmt::format_to(out, R"("mbit_per_s":{:.3f},"counters":{{)", Mbps());
  bool first = true;
  for (const auto& [name, value] : counters) {
    if (!first) s += ',';
    first = false;
    s += '"';
    AppendJsonEscaped(s, name);
    fmt::format_to(out, R"(":{})", value);
  }
  s += "},\"startup\":{";
  first = true;
  for (const auto& [name, value] : startup) {
    if (!first) s += ',';
    first = false;
    s += '"';
    AppendJsonEscaped(s, name);
    fmt::format_to(out, R"(":{})", value);
  }
  s += "}}\n";
  return s;
}

}  // namespace vigil::output

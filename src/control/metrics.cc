#include "control/metrics.h"

#include <fmt/format.h>

#include <cmath>

namespace vigil::control {

void Exposition::Add(const std::string& name, MetricType type, std::string_view help,
                     const Labels& labels, double value) {
  auto [it, fresh] = families_.try_emplace(name);
  if (fresh) {
    order_.push_back(name);
    it->second.type = type;
    it->second.help = std::string(help);
  }
  std::string line = name;
  if (!labels.empty()) {
    line += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) line += ',';
      line += labels[i].first + "=\"" + EscapeLabel(labels[i].second) + '"';
    }
    line += '}';
  }
  line += ' ';
  if (std::floor(value) == value && std::fabs(value) < 9.0e15) {
    line += fmt::format("{}", int64_t(value));
  } else {
    line += fmt::format("{}", value);
  }
  it->second.samples.push_back(std::move(line));
}

std::string Exposition::Text() const {
  std::string out;
  for (const std::string& name : order_) {
    const Family& f = families_.at(name);
    std::string help;
    for (char c : f.help) {
      if (c == '\\') {
        help += "\\\\";
      } else if (c == '\n') {
        help += "\\n";
      } else {
        help += c;
      }
    }
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                       f.type == MetricType::kCounter ? "counter" : "gauge");
    for (const std::string& s : f.samples) out += s + '\n';
  }
  return out;
}

std::string MetricName(std::string_view dotted) {
  std::string out = "vigil_";
  for (char c : dotted) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out += ok ? c : '_';
  }
  return out;
}

std::string EscapeLabel(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

bool IsLevel(std::string_view dotted) {
  return dotted == "detect.rules" || dotted.ends_with(".active") ||
         dotted.find("memory") != std::string_view::npos ||
         dotted.find("resident") != std::string_view::npos;
}

bool SplitTenantCounter(std::string_view dotted, std::string_view& tenant,
                        std::string_view& counter) {
  constexpr std::string_view kPrefix = "tenant.";
  if (!dotted.starts_with(kPrefix)) return false;
  const size_t last = dotted.rfind('.');
  if (last <= kPrefix.size()) return false;
  tenant = dotted.substr(kPrefix.size(), last - kPrefix.size());
  counter = dotted.substr(last + 1);
  return !counter.empty();
}

void AddWorkerCounters(Exposition& e, const std::vector<engine::CounterSum>& workers,
                       const std::vector<std::string>& interfaces, uint64_t cycles_per_second) {
  for (size_t w = 0; w < workers.size(); ++w) {
    const std::string worker = std::to_string(w);
    for (const auto& [name, value] : workers[w].counters()) {
      std::string_view n = name;
      // The lane's sums over its interfaces repeat the per-interface samples.
      if (n == "capture.packets" || n == "capture.kernel_drops") continue;
      if (n == "worker.cpu_ns") {
        e.Add("vigil_worker_cpu_seconds_total", MetricType::kCounter,
              "CPU time of the worker thread, as of its last counter snapshot",
              {{"worker", worker}}, double(value) / 1e9);
        continue;
      }
      bool done = false;
      for (const std::string& iface : interfaces) {
        const std::string prefix = "capture." + iface + ".";
        if (!n.starts_with(prefix)) continue;
        const std::string_view counter = n.substr(prefix.size());
        e.Add(MetricName("interface." + std::string(counter)) + "_total", MetricType::kCounter,
              fmt::format("capture.IFACE.{}: per interface and worker", counter),
              {{"interface", iface}, {"worker", worker}}, double(value));
        done = true;
        break;
      }
      if (done) continue;
      std::string_view tenant, counter;
      if (SplitTenantCounter(n, tenant, counter)) {
        if (counter == "tokens" || counter == "token_bank") {
          // Levels in cycles; the balance is tokens - debt (negative in debt).
          const double level =
              counter == "tokens"
                  ? double(value) -
                        double(workers[w].Get("tenant." + std::string(tenant) + ".debt"))
                  : double(value);
          const bool balance = counter == "tokens";
          e.Add(balance ? "vigil_tenant_tokens_seconds" : "vigil_tenant_token_bank_seconds",
                MetricType::kGauge,
                balance ? "the tenant's token balance in the worker's scheduler (CPU seconds; "
                          "negative: debt paid from the next hand-outs)"
                        : "the most token balance a tenant carries across a hand-out (CPU seconds)",
                {{"tenant", std::string(tenant)}, {"worker", worker}},
                cycles_per_second > 0 ? level / double(cycles_per_second) : 0);
        } else if (counter == "debt") {
          // In vigil_tenant_tokens_seconds.
        } else if (counter == "cycles") {
          e.Add("vigil_tenant_cpu_seconds_total", MetricType::kCounter,
                "CPU time spent on the tenant's packets (measured in TSC cycles)",
                {{"tenant", std::string(tenant)}, {"worker", worker}},
                cycles_per_second > 0 ? double(value) / double(cycles_per_second) : 0);
        } else {
          e.Add(MetricName("tenant." + std::string(counter)) + "_total", MetricType::kCounter,
                fmt::format("tenant.NAME.{}: per tenant and worker", counter),
                {{"tenant", std::string(tenant)}, {"worker", worker}}, double(value));
        }
        continue;
      }
      if (IsLevel(n)) {
        e.Add(MetricName(n), MetricType::kGauge, fmt::format("{} (per worker)", n),
              {{"worker", worker}}, double(value));
      } else {
        e.Add(MetricName(n) + "_total", MetricType::kCounter, fmt::format("{} (per worker)", n),
              {{"worker", worker}}, double(value));
      }
    }
  }
}

}  // namespace vigil::control

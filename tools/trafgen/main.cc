// trafgen: writes realistic, seeded, reproducible traffic to a pcap file, optionally with attacks
// built from rule files and a ground-truth file saying which packet must trigger which rule.
//
//   trafgen --out t.pcap --seed 7 --flows 10000 --concurrency 500
//           --mix http=60,dns=20,tls=15,raw=5 --mss 1460:70,1380:10,1200:10,536:10
//           --ipv6 0.1 --ooo 0.05 --retrans 0.01
//           --client-net 10.0.0.0/8 --server-net 172.16.0.0/12
//           --client-net6 fd00:c::/64 --server-net6 fd00:5::/64
//           --attack-rules community.rules --attack-rate 0.001
//           --ground-truth truth.jsonl --attack-report rules.jsonl
//
// Options:
//   --out FILE           pcap file to write (Ethernet, microsecond timestamps); required
//   --seed N             random seed (default 1): the same seed and options give the same bytes
//   --flows N            flows to generate (default 1000)
//   --concurrency N      flows interleaved at a time (default 100, up to millions)
//   --packets N          stop after N packets, cutting flows in progress (default 0: no limit)
//   --mix LIST           flow kind weights: http, dns, tls, raw (raw = half TCP, half UDP)
//   --mss LIST           TCP segment sizes SIZE[:WEIGHT]; each TCP flow draws one
//   --ipv6 P             share of flows over IPv6 (0..1)
//   --ooo P              per data segment: swapped with the next one of its message
//   --retrans P          per data segment: sent twice
//   --client-net/--server-net/--client-net6/--server-net6 CIDR   address pools
//   --gap-ns N           mean time between packets in nanoseconds (default 20000)
//   --attack-rules FILE  rule file to build attacks from (repeatable); variables are the
//                        defaults of `vigil -R` without a configuration (HOME_NET any, ...)
//   --attack-rate P      share of flows that are attack flows (0..1)
//   --ground-truth FILE  JSON lines {"pcap_cnt": N, "sid": S, "gid": G}, one per attack
//   --attack-report FILE JSON lines, one per attack rule: gid, sid, injected, skip reason
//   --quiet              no summary on standard error
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "detect/support.h"
#include "rules/rule_file.h"
#include "rules/variables.h"
#include "trafgen/trafgen.h"

namespace {

using namespace vigil;

struct Args {
  std::string out;
  trafgen::Options options;
  std::string mix = "http=60,dns=20,tls=15,raw=5";
  std::string mss = "1460:70,1380:10,1200:10,536:10";
  std::vector<std::string> attack_rules;
  std::string ground_truth;
  std::string attack_report;
  bool quiet = false;
};

// A string as a JSON string literal.
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(char(c));
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out.push_back(char(c));
    }
  }
  return out + "\"";
}

int Fail(std::string_view what, const base::Error& e) {
  fmt::print(stderr, "trafgen: {}{}\n", what, e.ToString());
  return 1;
}

base::Status WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return base::Error{"cannot create file", path};
  for (const std::string& l : lines) std::fprintf(f, "%s\n", l.c_str());
  if (std::fclose(f) != 0) return base::Error{"write failed", path};
  return {};
}

int Run(Args& args) {
  auto mix = trafgen::ParseProtocolMix(args.mix);
  if (!mix) return Fail("--mix: ", mix.error());
  args.options.mix = *mix;
  auto mss = trafgen::ParseSegmentSizes(args.mss);
  if (!mss) return Fail("--mss: ", mss.error());
  args.options.segment_sizes = *mss;

  if (!args.attack_rules.empty()) {
    rules::Variables vars;
    rules::LoadReport report;
    // Only rules the detector evaluates stay enabled, so that the ground truth never names a
    // rule the engine would not run.
    report.support_check = detect::UnsupportedReason;
    for (const std::string& f : args.attack_rules) rules::LoadRuleFile(f, vars, report);
    if (!args.quiet) {
      for (const base::Error& e : report.failures) {
        fmt::print(stderr, "trafgen: {}\n", e.ToString());
      }
      fmt::print(stderr, "attack rules: loaded={} failed={} disabled={}\n", report.loaded(),
                 report.failures.size(), report.disabled());
    }
    args.options.attack_rules = std::move(report.rules);
  }

  auto sink = trafgen::PcapSink::Open(args.out);
  if (!sink) return Fail("", sink.error());
  const auto t0 = std::chrono::steady_clock::now();
  auto summary = trafgen::Generate(args.options, **sink);
  if (!summary) return Fail("", summary.error());
  if (auto s = (*sink)->Close(); !s) return Fail("", s.error());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (!args.ground_truth.empty()) {
    std::vector<std::string> lines;
    for (const trafgen::GroundTruth& g : summary->ground_truth) {
      lines.push_back(
          fmt::format("{{\"pcap_cnt\": {}, \"sid\": {}, \"gid\": {}}}", g.pcap_cnt, g.sid, g.gid));
    }
    if (auto s = WriteLines(args.ground_truth, lines); !s) {
      return Fail("", s.error());
    }
  }
  if (!args.attack_report.empty()) {
    std::vector<std::string> lines;
    for (const trafgen::RuleAttackStatus& r : summary->rules) {
      lines.push_back(fmt::format(
          "{{\"gid\": {}, \"sid\": {}, \"usable\": {}, \"injected\": {}, \"skip_reason\": {}}}",
          r.gid, r.sid, r.usable, r.injected, JsonString(r.skip_reason)));
    }
    if (auto s = WriteLines(args.attack_report, lines); !s) {
      return Fail("", s.error());
    }
  }

  if (!args.quiet) {
    const trafgen::Summary& s = *summary;
    fmt::print(stderr,
               "trafgen: {} packets, {} bytes, {} flows (http {} with {} requests, dns {} with {} "
               "queries, tls {}, raw tcp {}, raw udp {}, attack {}; ipv6 {}), {} reordered, {} "
               "retransmitted\n",
               s.packets, s.bytes, s.flows_started, s.http_flows, s.http_requests, s.dns_flows,
               s.dns_queries, s.tls_flows, s.raw_tcp_flows, s.raw_udp_flows, s.attack_flows,
               s.ipv6_flows, s.reordered_segments, s.retransmitted_segments);
    fmt::print(stderr, "trafgen: {:.2f} s, {:.0f} packets/s, {:.1f} MB/s\n", seconds,
               double(s.packets) / seconds, double(s.bytes) / seconds / 1e6);
    if (!s.rules.empty()) {
      size_t usable = 0;
      size_t with_attacks = 0;
      std::map<std::string, size_t> reasons;
      for (const trafgen::RuleAttackStatus& r : s.rules) {
        usable += r.usable;
        with_attacks += r.injected > 0;
        if (!r.usable) ++reasons[r.skip_reason];
      }
      fmt::print(stderr,
                 "attacks: {} rules, {} usable, {} skipped, {} injected into {} rules, {} "
                 "unverified (left out)\n",
                 s.rules.size(), usable, s.rules.size() - usable, s.ground_truth.size(),
                 with_attacks, s.attacks_unverified);
      std::vector<std::pair<size_t, std::string>> sorted;
      for (auto& [reason, n] : reasons) sorted.emplace_back(n, reason);
      std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      });
      for (const auto& [n, reason] : sorted) fmt::print(stderr, "  skipped {:6}  {}\n", n, reason);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  trafgen::Options& o = args.options;
  CLI::App app{
      "trafgen: seeded, reproducible realistic traffic (HTTP, DNS, TLS, raw TCP/UDP) "
      "with optional rule-derived attacks and ground truth"};
  app.add_option("-o,--out", args.out, "pcap file to write")->required();
  app.add_option("--seed", o.seed, "random seed")->capture_default_str();
  app.add_option("--flows", o.flows, "flows to generate")->capture_default_str();
  app.add_option("--concurrency", o.concurrency, "flows interleaved at a time")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--packets", o.max_packets, "stop after this many packets (0: no limit)")
      ->capture_default_str();
  app.add_option("--mix", args.mix, "flow kind weights http=,dns=,tls=,raw=")
      ->capture_default_str();
  app.add_option("--mss", args.mss, "TCP segment sizes SIZE[:WEIGHT],...")->capture_default_str();
  app.add_option("--ipv6", o.ipv6_fraction, "share of flows over IPv6")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--ooo", o.reorder_rate, "per data segment: probability of swapping with the next")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--retrans", o.retransmit_rate, "per data segment: probability of resending")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--client-net", o.client_v4, "IPv4 client pool")->capture_default_str();
  app.add_option("--server-net", o.server_v4, "IPv4 server pool")->capture_default_str();
  app.add_option("--client-net6", o.client_v6, "IPv6 client pool")->capture_default_str();
  app.add_option("--server-net6", o.server_v6, "IPv6 server pool")->capture_default_str();
  app.add_option("--gap-ns", o.mean_gap_ns, "mean time between packets (ns)")
      ->capture_default_str();
  app.add_option("--attack-rules", args.attack_rules,
                 "rule file to build attacks from (repeatable)");
  app.add_option("--attack-rate", o.attack_rate, "share of flows that are attack flows")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--ground-truth", args.ground_truth,
                 "JSON lines {\"pcap_cnt\": N, \"sid\": S, \"gid\": G} for the attacks");
  app.add_option("--attack-report", args.attack_report,
                 "JSON lines per attack rule: usable, injected, skip_reason");
  app.add_flag("-q,--quiet", args.quiet, "no summary on standard error");
  CLI11_PARSE(app, argc, argv);
  return Run(args);
}

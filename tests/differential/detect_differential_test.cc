// Differential test of the detection engine on real traffic and real rules: the Detector (port
// groups, fast-pattern scan, address index, candidate filtering) must report exactly what
// evaluating every enabled rule on every packet reports (detect::MatchRule, the brute-force
// reference). Any difference is a lost or invented alert. Rules are loaded with the detector's
// own support check, so every rule it evaluates is compared; each packet is inspected outside a
// flow and inside an established one, and a TCP packet with payload also as the newest bytes of
// a reassembled stream (a chunk of up to 2,048 bytes of its direction's earlier compared payloads
// followed by its own), where the reference evaluates every rule on the packet and every
// payload rule on the chunk. In that stream context the payloads of each connection also go
// through an HTTP parser (app::HttpFlow, the client being the side with the higher port), and the
// reference evaluates every transaction rule (http.uri, file.data, ...) on each transaction stage
// the packet completed, as the Detector does after the packet's own rules. Likewise in a flow a UDP
// payload to or from port 53 is parsed as a DNS message, and the reference evaluates every DNS
// rule (dns.query) on it when it is a request; and the stream's payloads go through a TLS
// parser too (app::TlsFlow), the reference evaluating every TLS rule (tls.sni, tls.certs) at
// each handshake stage.
//
// Reads ../shared/pcaps/mixed-traffic.pcap and ../shared/rules/<ruleset>/*.rules; skips with a
// message when they are absent. When rules × packets is large, every k-th packet of the capture is
// compared so the test stays within a few seconds; the counts go to the test log. The long run:
//   VIGIL_DIFF_PACKETS=1000000 VIGIL_DIFF_EVERY_PACKET=1 build/tests/detect_differential_test
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "app/dns.h"
#include "app/http.h"
#include "app/smtp.h"
#include "app/tls.h"
#include "decode/decoder.h"
#include "detect/detector.h"
#include "detect/support.h"
#include "engine/decoded_capture.h"
#include "rules/classification.h"
#include "rules/rule_file.h"
#include "rules/variables.h"
#include "trafgen/trafgen.h"

namespace vigil::tests {
namespace {

namespace fs = std::filesystem;

const fs::path kShared = fs::path(VIGIL_SOURCE_DIR) / ".." / "shared";
constexpr double kMaxEvaluations = 1e8;  // brute-force rule evaluations per ruleset

// The decoded capture; empty when it cannot be read (the test then skips).
const engine::DecodedCapture& MixedTraffic() {
  static engine::DecodedCapture t = [] {
    auto c = engine::DecodedCapture::Load((kShared / "pcaps" / "mixed-traffic.pcap").string());
    return c ? std::move(*c) : engine::DecodedCapture{};
  }();
  return t;
}

// The rules of `dir` that the detector evaluates (loaded with its own support check).
std::vector<rules::Rule> LoadRuleset(const fs::path& dir) {
  rules::Variables vars;
  rules::LoadReport report;
  report.support_check = detect::UnsupportedReason;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".rules") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) rules::LoadRuleFile(f, vars, report);
  return std::move(report.rules);
}

// Every alert of a packet is compared: no packet-alert-max.
detect::PlanOptions AllAlerts() {
  detect::PlanOptions o;
  o.packet_alert_max = UINT32_MAX;
  return o;
}

struct Comparison {
  size_t compared = 0;
  size_t mismatches = 0;
  size_t alerts[3] = {0, 0, 0};  // without a flow, in a flow, in a reassembled stream
  size_t history_scans_skipped = 0;
  size_t transactions = 0;  // HTTP transaction stages the stream context completed
  size_t tx_alerts = 0;     // ... and the transaction rules' alerts on them
};

// The compared payloads of one direction of a TCP connection, as a stream: the last
// kStreamHistory bytes and how many came before them.
constexpr size_t kStreamHistory = 2048;
struct Stream {
  std::string tail;
  uint64_t dropped = 0;  // stream bytes before `tail`
  uint64_t flow_id = 0;
};
using Endpoint = std::pair<base::IpAddress, uint16_t>;

// One share of the work (below); the shares are summed.
Comparison CompareShare(const detect::DetectionPlan& plan, std::span<const packet::Packet> packets,
                        size_t step);

// Splits `packets` into contiguous shares, one per thread (VIGIL_DIFF_THREADS, default every
// core), each compared with its own Detector and its own threshold state on both sides.
Comparison Compare(const detect::DetectionPlan& plan, std::span<const packet::Packet> packets,
                   size_t step) {
  size_t threads = std::max(1u, std::thread::hardware_concurrency());
  if (const char* env = std::getenv("VIGIL_DIFF_THREADS"))
    threads = std::strtoull(env, nullptr, 10);
  threads = std::clamp<size_t>(threads, 1, std::max<size_t>(1, packets.size() / 1000));
  // Shares start on a multiple of `step` so the same packets are compared whatever the split.
  const size_t per = (packets.size() / threads + step - 1) / step * step;
  std::vector<Comparison> parts(threads);
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) {
    const size_t first = std::min(packets.size(), t * per);
    const size_t last = t + 1 == threads ? packets.size() : std::min(packets.size(), first + per);
    pool.emplace_back([&, t, first, last] {
      parts[t] = CompareShare(plan, packets.subspan(first, last - first), step);
    });
  }
  for (auto& th : pool) th.join();
  Comparison c;
  for (const Comparison& p : parts) {
    c.compared += p.compared;
    c.mismatches += p.mismatches;
    for (int k = 0; k < 3; ++k) c.alerts[k] += p.alerts[k];
    c.history_scans_skipped += p.history_scans_skipped;
    c.transactions += p.transactions;
    c.tx_alerts += p.tx_alerts;
  }
  return c;
}

// Inspects every `step`-th packet twice — outside any flow, and as part of an established flow
// (in the direction its ports suggest), so that flow:established / to_server rules are compared
// too — with the Detector and with the brute-force reference, and counts the differences.
Comparison CompareShare(const detect::DetectionPlan& plan, std::span<const packet::Packet> packets,
                        size_t step) {
  auto detector = detect::Detector::Create(plan);
  EXPECT_TRUE(detector);
  Comparison c;
  if (!detector) return c;
  const size_t n_rules = plan.rule_count();
  std::unique_ptr<detect::EventFilter> filter = plan.event_filter().NewWorkerFilter();
  std::vector<detect::Alert> found;
  std::map<std::pair<Endpoint, Endpoint>, Stream> streams;     // by (source, destination)
  std::map<std::pair<Endpoint, Endpoint>, uint64_t> flow_ids;  // by (lower, higher) endpoint
  std::map<uint64_t, app::HttpFlow> http_flows;                // by flow id
  const app::HttpConfig http_config;
  app::HttpStats http_stats;
  std::vector<app::HttpEvent> events;
  std::map<uint64_t, app::TlsFlow> tls_flows;  // by flow id
  std::map<uint64_t, uint8_t> smtp_flows;      // by flow id: 0 undecided, 1 SMTP, 2 not
  app::TlsStats tls_stats;
  std::vector<app::TlsStage> tls_events;
  app::DnsMessage dns_message;
  app::DnsStats dns_stats;
  for (size_t i = 0; i < packets.size(); i += step) {
    const packet::Packet& p = packets[i];
    const bool streamed = p.has_tcp && p.payload_len > 0;
    for (int context = 0; context < (streamed ? 3 : 2); ++context) {
      detect::FlowContext flow;
      if (context >= 1) {
        flow = {.has_flow = true, .established = true, .to_server = p.dst_port <= p.src_port};
      }
      std::string chunk_bytes;
      detect::StreamChunk chunk;
      if (context == 1 && p.has_udp && (p.src_port == 53 || p.dst_port == 53) &&
          app::ParseDns(p.payload, p.payload_len, dns_message, dns_stats)) {
        flow.dns = true;
        flow.dns_messages = std::span(&dns_message, 1);
        c.transactions += !dns_message.response;
      }
      if (context == 2) {
        const Endpoint src{p.src_ip, p.src_port}, dst{p.dst_ip, p.dst_port};
        auto [id, fresh] = flow_ids.try_emplace(std::minmax(src, dst), flow_ids.size() + 1);
        Stream& s = streams[{src, dst}];
        s.flow_id = id->second;
        // SMTP is decided on the client's first bytes (app/smtp.h), as the worker does.
        uint8_t& smtp = smtp_flows[s.flow_id];
        if (smtp == 0 && flow.to_server) {
          const bool first = s.tail.empty() && s.dropped == 0;
          smtp = first && app::IsSmtpClientStart(p.payload, p.payload_len) ? 1 : 2;
        }
        flow.smtp = smtp == 1;
        chunk_bytes = s.tail;
        chunk_bytes.append(reinterpret_cast<const char*>(p.payload), p.payload_len);
        chunk = {.data = reinterpret_cast<const uint8_t*>(chunk_bytes.data()),
                 .len = uint32_t(chunk_bytes.size()),
                 .new_from = uint32_t(s.tail.size()),
                 .stream_offset = s.dropped};
        // The next chunk's history.
        const size_t keep = std::min(kStreamHistory, chunk_bytes.size());
        s.dropped += chunk_bytes.size() - keep;
        s.tail = chunk_bytes.substr(chunk_bytes.size() - keep);
        flow.flow_id = s.flow_id;
        flow.reassembled = true;
        app::HttpFlow& http = http_flows[s.flow_id];
        events.clear();
        http.BeginPacket(http_config, http_stats);
        http.Feed(flow.to_server, p.payload, p.payload_len, http_config, http_stats, events);
        flow.http = http.is_http();
        flow.http_events = events;
        c.transactions += events.size();
        app::TlsFlow& tls = tls_flows[s.flow_id];
        tls_events.clear();
        tls.Feed(flow.to_server, p.payload, p.payload_len, tls_stats, tls_events);
        flow.tls = tls.is_tls();
        flow.ssl_flags = tls.current_flags() | tls.version_flags();
        flow.tls_handshake = &tls.handshake();
        flow.tls_events = tls_events;
        c.transactions += tls_events.size();
      }
      found.clear();
      (void)(*detector)->Inspect(
          p, flow, context == 2 ? std::span(&chunk, 1) : std::span<const detect::StreamChunk>(),
          found);
      std::vector<uint32_t> got;
      for (const auto& a : found) got.push_back(uint32_t(a.rule - &plan.rule(0)));
      // Alerts come grouped by action (the action order), each group in rule order.
      std::sort(got.begin(), got.end());
      detect::MatchInput in = detect::MatchInput::OfPacket(p, &flow);
      const detect::MatchInput chunk_in = detect::ChunkInput(p, chunk, flow);
      std::vector<uint32_t> want;
      bool passed = false;  // pass rules suppress; the reference applies the same precedence
      size_t tx_want = 0;
      // Thresholds and detection_filter as the Detector applies them: its own counters, fed the
      // same matches in the same order.
      auto record = [&](uint32_t r, uint64_t flow_id) {
        const detect::CompiledRule& cr = plan.rule(r);
        detect::FilterVerdict v = filter->OnMatch(r, p, detect::CaptureTimeNs(p), flow_id);
        if (!v.matched) return false;
        rules::Action action = v.action.value_or(cr.rule.action);
        if (action == rules::Action::kPass) passed = true;
        if (action != rules::Action::kPass && action != rules::Action::kSdrop && v.alert &&
            !cr.flowbits.noalert) {
          want.push_back(r);
          return true;
        }
        return false;
      };
      for (uint32_t r = 0; r < n_rules && p.ip_version != 0; ++r) {
        const detect::CompiledRule& cr = plan.rule(r);
        // In a stream: the packet itself, and the chunk for the rules that read the payload.
        const bool matched = detect::MatchRule(cr, in) ||
                             (context == 2 && cr.reads_payload && detect::MatchRule(cr, chunk_in));
        if (matched) record(r, flow.flow_id);
      }
      // Then every transaction rule on each stage the packet completed, at its stage.
      for (const app::HttpEvent& e : flow.http_events) {
        if (p.ip_version == 0) break;
        detect::FlowContext tx_flow = flow;
        tx_flow.to_server = !app::IsResponseStage(e.stage);
        detect::MatchInput tx_in = detect::MatchInput::OfPacket(p, &tx_flow);
        tx_in.tx = e.tx;
        for (uint32_t r = 0; r < n_rules; ++r) {
          const detect::CompiledRule& cr = plan.rule(r);
          if (cr.tx_stage != int8_t(e.stage) || !detect::MatchRule(cr, tx_in)) continue;
          tx_want += record(r, flow.flow_id);
        }
      }
      for (app::TlsStage e : flow.tls_events) {
        if (p.ip_version == 0) break;
        detect::FlowContext tls_flow = flow;
        tls_flow.to_server = e == app::TlsStage::kClientHello;
        detect::MatchInput tls_in = detect::MatchInput::OfPacket(p, &tls_flow);
        tls_in.tls = flow.tls_handshake;
        for (uint32_t r = 0; r < n_rules; ++r) {
          const detect::CompiledRule& cr = plan.rule(r);
          if (cr.tx_stage != int8_t(detect::kTlsStage + size_t(e)) ||
              !detect::MatchRule(cr, tls_in)) {
            continue;
          }
          tx_want += record(r, flow.flow_id);
        }
      }
      for (const app::DnsMessage& m : flow.dns_messages) {
        if (p.ip_version == 0 || m.response) break;
        detect::MatchInput dns_in = detect::MatchInput::OfPacket(p, &flow);
        dns_in.dns = &m;
        for (uint32_t r = 0; r < n_rules; ++r) {
          const detect::CompiledRule& cr = plan.rule(r);
          if (cr.tx_stage != int8_t(detect::kDnsStage) || !detect::MatchRule(cr, dns_in)) continue;
          tx_want += record(r, flow.flow_id);
        }
      }
      if (passed) want.clear();
      c.tx_alerts += passed ? 0 : tx_want;
      ++c.compared;
      c.alerts[context] += want.size();
      if (got != want && ++c.mismatches <= 5) {
        ADD_FAILURE() << "packet " << p.number
                      << (context == 2   ? " in a stream"
                          : context == 1 ? " in a flow"
                                         : "")
                      << ": detector found " << got.size() << " rules, reference " << want.size();
      }
    }
  }
  c.history_scans_skipped = (*detector)->stats().history_scans_skipped;
  return c;
}

class DetectDifferentialTest : public ::testing::TestWithParam<const char*> {};

TEST_P(DetectDifferentialTest, DetectorEqualsEveryRuleOnEveryPacket) {
  fs::path dir = kShared / "rules" / GetParam();
  const engine::DecodedCapture& traffic = MixedTraffic();
  if (!fs::exists(dir) || traffic.packets.empty()) {
    GTEST_SKIP() << "needs " << dir << " and ../shared/pcaps/mixed-traffic.pcap";
  }
  auto plan = detect::DetectionPlan::Build(LoadRuleset(dir), rules::ClassificationTable::Default(),
                                           AllAlerts());
  ASSERT_TRUE(plan) << plan.error().ToString();
  size_t n_rules = (*plan)->rule_count();
  // VIGIL_DIFF_EVERY_PACKET=1 (the long run) compares every packet.
  const bool every = std::getenv("VIGIL_DIFF_EVERY_PACKET") != nullptr;
  size_t step = every
                    ? 1
                    : std::max<size_t>(1, size_t(2.0 * double(n_rules) *
                                                 double(traffic.packets.size()) / kMaxEvaluations) +
                                              1);
  Comparison c = Compare(**plan, traffic.packets, step);
  std::cout << GetParam() << ": mixed-traffic, " << n_rules << " enabled rules, " << c.compared
            << " inspections compared (every " << step << " packet, with and without a flow), "
            << c.alerts[0] << " alerts without a flow, " << c.alerts[1] << " in a flow, "
            << c.alerts[2] << " in a stream (" << c.history_scans_skipped
            << " chunks with a clean history), " << c.transactions
            << " HTTP transaction stages, DNS requests and TLS handshake stages (" << c.tx_alerts
            << " alerts), " << c.mismatches << " mismatches\n";
  EXPECT_EQ(c.mismatches, 0u);
}

// Generated traffic that carries the rules' own literals: trafgen's HTTP, DNS, TLS and binary
// flows, with a fifth of the flows built to trigger a rule of the set (attack.h) — real rule
// contents in payloads, next to near misses where the other options fail. Every packet is
// compared. VIGIL_DIFF_PACKETS sets how many packets (default 10,000; the long run uses 1M).
TEST_P(DetectDifferentialTest, DetectorEqualsEveryRuleOnGeneratedTraffic) {
  fs::path dir = kShared / "rules" / GetParam();
  if (!fs::exists(dir)) GTEST_SKIP() << "needs " << dir;
  uint64_t packets = 10'000;
  if (const char* env = std::getenv("VIGIL_DIFF_PACKETS"))
    packets = std::strtoull(env, nullptr, 10);
  std::vector<rules::Rule> ruleset = LoadRuleset(dir);
  trafgen::Options options;
  options.seed = 29;
  options.flows = packets;  // more than can finish: max_packets stops it
  options.concurrency = 1000;
  options.max_packets = packets;
  options.attack_rules = ruleset;
  options.attack_rate = 0.2;
  trafgen::MemorySink sink;
  auto summary = trafgen::Generate(options, sink);
  ASSERT_TRUE(summary) << summary.error().ToString();
  std::vector<packet::Packet> decoded(sink.size());
  decode::Decoder decoder;
  for (size_t i = 0; i < sink.size(); ++i) {
    packet::Packet& p = decoded[i];
    std::span<const uint8_t> frame = sink.frame(i);
    p.data = frame.data();
    p.caplen = p.wirelen = uint32_t(frame.size());
    p.linktype = packet::LinkType::kEthernet;
    p.ts = sink.timestamp(i);
    p.number = i + 1;
    decoder.Decode(p);
  }
  auto plan = detect::DetectionPlan::Build(std::move(ruleset),
                                           rules::ClassificationTable::Default(), AllAlerts());
  ASSERT_TRUE(plan) << plan.error().ToString();
  Comparison c = Compare(**plan, decoded, 1);
  std::cout << GetParam() << ": generated traffic, " << (*plan)->rule_count() << " enabled rules, "
            << decoded.size() << " packets (" << summary->attack_flows << " attack flows), "
            << c.compared << " inspections compared, " << c.alerts[0] << " alerts without a flow, "
            << c.alerts[1] << " in a flow, " << c.alerts[2] << " in a stream ("
            << c.history_scans_skipped << " chunks with a clean history), " << c.transactions
            << " HTTP transaction stages, DNS requests and TLS handshake stages (" << c.tx_alerts
            << " alerts), " << c.mismatches << " mismatches\n";
  EXPECT_GT(c.alerts[1], 0u) << "the attacks must trigger rules";
  EXPECT_EQ(c.mismatches, 0u);
}

INSTANTIATE_TEST_SUITE_P(Rulesets, DetectDifferentialTest,
                         ::testing::Values("snort3-community", "et-open-suricata-2024"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           std::replace(n.begin(), n.end(), '.', '_');
                           return n;
                         });

}  // namespace
}  // namespace vigil::tests

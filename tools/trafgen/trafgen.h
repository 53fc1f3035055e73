// trafgen: a seeded, deterministic generator of realistic traffic, with optional attacks built
// from a ruleset and a ground truth of which packet must trigger which rule.
//
// Flows (HTTP/1.1 keep-alive sessions, DNS over UDP, TLS 1.2/1.3 sessions, raw TCP and UDP with
// binary payloads) are started until `flows` have been made, at most `concurrency` at a time;
// each emitted packet comes from a randomly chosen active flow, so flows interleave as they do on
// a busy link. Every frame is a complete Ethernet frame with correct lengths and checksums
// (craft/frame.h), TCP sessions keep sequence and acknowledgment numbers right
// (craft/tcp_session.h), and the same Options give byte-identical output on every platform
// (trafgen/random.h).
//
//   trafgen::Options options;
//   options.seed = 7;
//   options.flows = 10'000;
//   options.concurrency = 500;
//   auto sink = trafgen::PcapSink::Open("/tmp/t.pcap");
//   if (!sink) return sink.error();
//   auto summary = trafgen::Generate(options, **sink);   // Result<Summary>
//   if (!summary) return summary.error();
//   (void)(*sink)->Close();
//
// For benchmarks, MemorySink keeps the frames in one contiguous buffer instead.
//
// Attacks: give `attack_rules` (loaded rules; pass the loader's support check so that only rules
// the detector evaluates are enabled) and `attack_rate`. Each new flow is, with that
// probability, an attack flow instead: a TCP session (handshake, the attack segment, close) or a
// UDP datagram whose addresses, ports and payload satisfy one rule (attack.h). The rules are
// used round-robin. Before an attack enters the ground truth its frame is decoded
// (decode::Decoder) and checked with detect::MatchRule, and no pass rule of the set may match it;
// a frame that fails is dropped from the ground truth and counted.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "io/pcap_writer.h"
#include "packet/packet.h"
#include "rules/rule.h"
#include "trafgen/attack.h"

namespace vigil::trafgen {

// Relative weights of the flow kinds (they need not add up to 100). "raw" is split evenly
// between raw TCP and raw UDP.
struct ProtocolMix {
  uint32_t http = 60;
  uint32_t dns = 20;
  uint32_t tls = 15;
  uint32_t raw = 5;
};
// Parses "http=60,dns=20,tls=15,raw=5" (any subset; names not given get 0).
[[nodiscard]] base::Result<ProtocolMix> ParseProtocolMix(std::string_view text);

// A TCP segment size and its weight in the mix: each TCP flow draws one segment size (its MSS,
// maximum segment size) from this list.
struct SegmentSize {
  uint16_t size = 1460;
  uint32_t weight = 1;
};
// Parses "1460:70,1380:10,1200:10,536:10" (a size without ":weight" weighs 1).
[[nodiscard]] base::Result<std::vector<SegmentSize>> ParseSegmentSizes(std::string_view text);

struct Options {
  uint64_t seed = 1;
  uint64_t flows = 1000;       // flows to start in all
  uint64_t concurrency = 100;  // flows active (interleaved) at a time, at least 1
  // Stop after this many packets even if flows remain (0: no limit); flows in progress are cut
  // off, as at the end of a capture.
  uint64_t max_packets = 0;
  ProtocolMix mix;
  std::vector<SegmentSize> segment_sizes = {{1460, 70}, {1380, 10}, {1200, 10}, {536, 10}};
  double ipv6_fraction = 0.0;  // share of flows over IPv6
  // Per data segment of a multi-segment message: the probability that it is swapped with the
  // next segment of the same message (out of order), and that it is sent twice (retransmitted).
  double reorder_rate = 0.0;
  double retransmit_rate = 0.0;
  // Address pools: clients and servers draw random hosts from these.
  std::string client_v4 = "10.0.0.0/8";
  std::string server_v4 = "172.16.0.0/12";
  std::string client_v6 = "fd00:c::/64";
  std::string server_v6 = "fd00:5::/64";
  packet::Timestamp start{1'700'000'000, 0};
  uint64_t mean_gap_ns = 20'000;  // mean time between packets (uniform in [1, 2*mean])
  // Attacks.
  std::vector<rules::Rule> attack_rules;
  double attack_rate = 0.0;  // probability that a new flow is an attack flow
};

// One ground-truth entry: packet number `pcap_cnt` (1-based, as Suricata's pcap_cnt) must
// trigger rule gid:sid.
struct GroundTruth {
  uint64_t pcap_cnt = 0;
  uint32_t gid = 1;
  uint32_t sid = 0;
};

// What became of one attack rule.
struct RuleAttackStatus {
  uint32_t gid = 1;
  uint32_t sid = 0;
  bool usable = false;
  std::string skip_reason;  // when !usable
  uint64_t injected = 0;    // attacks of this rule in the ground truth
};

struct Summary {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t flows_started = 0;
  uint64_t http_flows = 0;
  uint64_t http_requests = 0;  // requests generated (all emitted unless max_packets cut a flow)
  uint64_t dns_flows = 0;
  uint64_t dns_queries = 0;
  uint64_t tls_flows = 0;
  uint64_t raw_tcp_flows = 0;
  uint64_t raw_udp_flows = 0;
  uint64_t attack_flows = 0;
  uint64_t ipv6_flows = 0;
  uint64_t reordered_segments = 0;
  uint64_t retransmitted_segments = 0;
  // Attack frames that failed the check with detect::MatchRule (or that a pass rule matched) and
  // were left out of the ground truth; they are still in the traffic.
  uint64_t attacks_unverified = 0;
  std::vector<GroundTruth> ground_truth;
  std::vector<RuleAttackStatus> rules;  // one per attack rule, in the order given
};

// Receives the generated frames in order.
class Sink {
 public:
  virtual ~Sink() = default;
  [[nodiscard]] virtual base::Status Write(packet::Timestamp ts,
                                           std::span<const uint8_t> frame) = 0;
};

// Writes an Ethernet pcap file (microsecond timestamps) through io::PcapWriter.
class PcapSink : public Sink {
 public:
  [[nodiscard]] static base::Result<std::unique_ptr<PcapSink>> Open(const std::string& path);
  [[nodiscard]] base::Status Write(packet::Timestamp ts, std::span<const uint8_t> frame) override;
  [[nodiscard]] base::Status Close() { return writer_->Close(); }

 private:
  explicit PcapSink(std::unique_ptr<io::PcapWriter> writer) : writer_(std::move(writer)) {}
  std::unique_ptr<io::PcapWriter> writer_;
};

// Keeps every frame in memory, back to back in one buffer, for benchmarks and tests.
class MemorySink : public Sink {
 public:
  [[nodiscard]] base::Status Write(packet::Timestamp ts, std::span<const uint8_t> frame) override;

  [[nodiscard]] size_t size() const { return offsets_.size(); }
  [[nodiscard]] std::span<const uint8_t> frame(size_t i) const {
    size_t end = i + 1 < offsets_.size() ? offsets_[i + 1] : bytes_.size();
    return {bytes_.data() + offsets_[i], end - offsets_[i]};
  }
  [[nodiscard]] packet::Timestamp timestamp(size_t i) const { return timestamps_[i]; }
  [[nodiscard]] const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
  std::vector<size_t> offsets_;
  std::vector<packet::Timestamp> timestamps_;
};

// Generates the traffic `options` describe into `sink`. Fails when an option is invalid (a
// malformed subnet, no flow kind with a weight, no segment size, concurrency 0) or when the sink
// fails.
[[nodiscard]] base::Result<Summary> Generate(const Options& options, Sink& sink);

}  // namespace vigil::trafgen

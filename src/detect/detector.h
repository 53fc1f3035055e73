// Detection: DetectionPlan (immutable, built once from the loaded rules) and Detector (the run
// side, one per worker thread, with its own scratch).
//
// Per packet the Detector
//   1. picks the rule group of the packet's transport (tcp, udp, icmp, other IP);
//   2. scans the payload once with the group's fast-pattern database (Vectorscan): each rule has
//      one fast pattern — its `fast_pattern` content, else its longest positive content — and a
//      hit makes the rule a candidate; a rule with no positive content is a candidate when the
//      packet's source or destination is in its address list (AddressIndex), or on every packet
//      of its group when its addresses cannot be indexed;
//   3. checks each candidate's cheap conditions (MatchPacketConditions: header, flow, flowbits,
//      packet tests, absolute byte_tests and short content windows, a stream chunk's reach), then
//      its regex prefilter where it has one (a Vectorscan scan for the content and the pcre
//      anchored after it: RegexPrefilterHolds, regex_prefilter.h), then the payload steps before
//      its first pcre (PrefixBeforePcreHolds), and evaluates the survivors fully (every option)
//      in rule order, reporting the matches. A packet with at least one full evaluation counts in
//      DetectStats::packets_full_match.
// Rules that read HTTP transaction buffers (http.uri, http_header, ...) are not in the groups: per
// transaction stage the worker's HTTP parser reports (FlowContext::http_events), their fast
// patterns are scanned over the transaction's buffers and the candidates evaluated once, on the
// packet that completed the stage (see DetectionPlan::TxStagePlan), after the same conditions and
// a literal filter (LiteralsPresent: every positive content in its buffer).
//
//   auto plan = DetectionPlan::Build(std::move(rules), classifications);
//   Detector detector(*plan);
//   std::vector<Alert> alerts;
//   detector.Inspect(packet, alerts);
//
// Cost per packet: one to three Vectorscan scans of the payload (none for an empty payload; see
// Group), plus a full evaluation of each candidate.
//
// Build cost: DetectionPlan::Build compiles its rules and its Vectorscan databases on every core
// (PlanOptions::compile_threads), equal databases once, each through the on-disk DatabaseCache
// when one is given: snort3-community compiles 9.9K literals into 300-odd databases in about a
// second and loads them from the cache in 0.03 s. The regex prefilters are compiled (or loaded)
// with the rules: ET Open 2017 has 455, 1.1-1.7 s of one core's time when the cache is cold.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "detect/address_index.h"
#include "detect/literal_database.h"
#include "detect/option_program.h"
#include "detect/rule_match.h"
#include "detect/thresholds.h"
#include "packet/packet.h"
#include "rules/classification.h"
#include "rules/rule.h"
#include "rules/threshold_config.h"

namespace vigil::detect {

// Bytes of a reassembled TCP stream delivered with a packet (reassembly::StreamView): data[0,
// new_from) is history an earlier chunk showed, data[new_from, len) is new, and data[0] is at
// offset `stream_offset` of the stream direction.
struct StreamChunk {
  const uint8_t* data = nullptr;
  uint32_t len = 0;
  uint32_t new_from = 0;
  uint64_t stream_offset = 0;
};

// What the full matcher sees of chunk `c`, which packet `p` of `flow` completed.
[[nodiscard]] inline MatchInput ChunkInput(const packet::Packet& p, const StreamChunk& c,
                                           const FlowContext& flow) {
  return {.packet = &p,
          .data = c.data,
          .len = c.len,
          .origin = c.stream_offset,
          .min_end = c.new_from,
          .rebuilt = true,
          .flow = &flow};
}

// A rule that matched a packet.
struct Alert {
  const CompiledRule* rule = nullptr;
  // True when the rule's action would drop or reject the packet (reported as "would drop" /
  // EVE action "allowed" unless running inline).
  bool wants_drop = false;
  bool in_stream = false;  // matched on reassembled stream data rather than the packet's own
  // The action that took effect: the rule's, or a rate_filter's new_action (thresholds.h).
  rules::Action action = rules::Action::kAlert;
};

// What the matches of a packet decided, after the action order (see Detector::Inspect).
struct Verdict {
  bool drop = false;       // a drop or reject rule took effect: an inline engine drops the packet
  bool drop_flow = false;  // ... with flow scope: drop the rest of the flow too (inline)
  bool pass_flow = false;  // a pass rule with flow scope took effect: inspect no more of the flow
};

// Port lists wider than this are treated as `any` when rules are grouped by port.
inline constexpr uint32_t kMaxGroupedPortSpan = 1024;

// The classes of rule actions, in the order Suricata's `action-order` setting names them.
enum class ActionClass : uint8_t { kPass, kDrop, kReject, kAlert };
[[nodiscard]] ActionClass ClassOf(rules::Action a);

struct PlanOptions {
  // Which matches take effect first on a packet (Suricata's action-order; default pass, drop,
  // reject, alert): see Detector::Inspect.
  std::array<ActionClass, 4> action_order = {ActionClass::kPass, ActionClass::kDrop,
                                             ActionClass::kReject, ActionClass::kAlert};
  // threshold.config entries (suppress, threshold / event_filter, rate_filter); may be null. Only
  // read during Build.
  const rules::ThresholdConfig* thresholds = nullptr;
  EventFilterOptions event_filter;  // the per-worker threshold counters' cap
  // Suricata's packet-alert-max: at most this many alerts are reported per packet, the first
  // ones in the order the matches take effect; the rest are discarded (their actions still
  // apply) and counted in DetectStats::alerts_discarded. 0 = no alert is reported.
  uint32_t packet_alert_max = 15;

  // Vectorscan databases: compiled on `compile_threads` threads (0: one per core), through
  // `cache` when given; `progress` is called as each distinct database is ready.
  DatabaseCache* cache = nullptr;
  unsigned compile_threads = 0;
  std::function<void(size_t done, size_t total)> progress;
  // How many any-port rules may be copied into port sets, over the whole plan (see Group). A
  // copy saves the packets of those ports a second scan and costs the compile time of the
  // any-port rules' fast patterns again: snort3-community has 464 TCP any-port rules and 183
  // distinct TCP port lists, and copying them into all (what Snort 2 does without
  // split-any-any) took 6 s of its cold start on 2 cores instead of 0.5 s. Measured on this
  // project's 2-core machine (engine_bench, snort3-community): budget 0 / 2,048 / 8,192 compile
  // in 1.5 / 1.3 / 2.6 s and scan mixed-traffic with 0.78 / 0.78 / 0.73 scans a packet (0.68
  // with every set carrying them); trafgen traffic needs 0.654 with each, the hot ports' sets
  // (below) carrying what its packets need.
  uint64_t any_port_copy_budget = 2048;
  // ... and the sets of these ports carry them whatever the budget: most traffic goes to them,
  // while rules name other ports more (ET Open's most-named TCP ports are 445, 139, 443 and
  // 5060; with its 1,362 TCP any-port rules the budget covers six copies).
  std::vector<uint16_t> hot_ports = {80, 443, 53, 8080};
};

// What DetectionPlan::Build did, for the start-up report.
struct PlanBuildStats {
  double rules_s = 0;      // rule compilation: option programs, pcre, flowbits, thresholds
  double databases_s = 0;  // Vectorscan databases, compiled or loaded from the cache
  size_t databases = 0;    // databases the plan uses
  size_t distinct_databases = 0;
  uint64_t literals = 0;  // literals in the distinct databases
  // Rules with a regex prefilter (regex_prefilter.h), and those whose prefilter Vectorscan would
  // not compile (checked without one).
  size_t regex_prefilters = 0;
  size_t regex_prefilter_failures = 0;
};

class DetectionPlan {
 public:
  // Compiles the enabled rules that detect::UnsupportedReason accepts; the others are ignored.
  // Fails only if Vectorscan fails.
  static base::Result<std::unique_ptr<const DetectionPlan>> Build(
      std::vector<rules::Rule> rules, const rules::ClassificationTable& classifications,
      const PlanOptions& options = {});

  // What Build skipped or could not apply, each naming the rule or threshold entry: a threshold
  // entry for an unknown sid, a rule whose flowbits could not be compiled, ...
  [[nodiscard]] const std::vector<base::Error>& warnings() const { return warnings_; }
  [[nodiscard]] const PlanBuildStats& build_stats() const { return build_stats_; }

  // The thresholds of every rule with no counters yet; each Detector takes its own copy.
  [[nodiscard]] const EventFilter& event_filter() const { return *event_filter_; }
  // The flowbit names by id (FlowbitRegistry::BitName): a reload carries a flow's bits from one
  // plan to the next by name.
  [[nodiscard]] const std::vector<std::string>& flowbit_names() const { return flowbit_names_; }

  // Position of the action class in the action order (0 = takes effect first).
  [[nodiscard]] uint8_t rank(ActionClass c) const { return rank_[size_t(c)]; }
  [[nodiscard]] uint32_t packet_alert_max() const { return packet_alert_max_; }

  [[nodiscard]] size_t rule_count() const { return rules_.size(); }
  [[nodiscard]] const CompiledRule& rule(size_t i) const { return rules_[i]; }

  // One fast-pattern database and the rules behind each of its literals.
  //
  // The set's literal filter (NFP = non-fast-pattern): every other positive payload literal of its
  // rules, in a second database scanned only when a fast-pattern hit produced a candidate that
  // needs one. A rule must find each of its literals somewhere in the payload (wherever its
  // offsets would put it), so a candidate with a literal absent from the payload is dropped
  // before the full matcher.
  struct ScanSet {
    std::shared_ptr<const LiteralDatabase> fast_patterns;
    std::vector<std::vector<uint32_t>> rules_of_pattern;  // literal id -> rule indexes
    // Literal id -> the furthest position of the payload (of the packet, or of the stream) at
    // which the literal can end and still let one of its rules match: offset + depth of a fast
    // pattern content held to the start of the buffer, kUnbounded otherwise. A hit that ends
    // later selects no rule (GNUTELLA at depth 8 is no candidate 2 KB into a stream).
    std::vector<int64_t> max_end;
    static constexpr int64_t kUnbounded = INT64_MAX;
    uint32_t max_literal_len = 0;  // the longest fast pattern
    size_t rule_count = 0;
    bool has_any_port_rules = false;  // the group's any-port rules are in this set too
    std::shared_ptr<const LiteralDatabase> literal_filter;  // null when no rule needs one
    size_t literal_count = 0;
    // Rule index -> the literal_filter ids it needs (sorted by rule; rules needing none absent).
    std::vector<std::pair<uint32_t, std::vector<uint32_t>>> needs;
    [[nodiscard]] const std::vector<uint32_t>* NeedsOf(uint32_t rule) const;
  };
  // The rules of one transport class, split by port (tcp and udp only) as Snort's port groups
  // are: a rule naming destination ports sits in the set of each of those ports, a rule naming
  // only source ports in the source-port sets, and a rule with any ports in `any_set`. A packet
  // is scanned with its destination port's set, its source port's, and `any_set` — unless one of
  // the port sets carries the any-port rules too (ScanSet::has_any_port_rules), as the sets of the
  // ports most rules name do while PlanOptions::any_port_copy_budget lasts: one scan instead of
  // two for the traffic of those services, for a longer compile. (Snort 3 keeps any-port rules
  // apart, split_any_any; Snort 2 copies them into every group.) Ports with equal rule sets share
  // one ScanSet. Port lists too wide to enumerate (negations, ranges over kMaxGroupedPortSpan
  // ports) count as any.
  struct Group {
    std::vector<ScanSet> sets;
    int32_t any_set = -1;  // -1 when no such rule
    // Rules with neither a positive content nor an indexable address: `always` on every packet
    // of the group, the port's lists (PortEntry) on packets to or from it. Each with the packet
    // keys its tests admit (KeysAdmitted): `flags:S` is no candidate on an ACK, `itype:8` on a
    // reply.
    struct KeyedRule {
      uint32_t rule;
      KeySet keys;
    };
    std::vector<KeyedRule> always;
    std::vector<std::vector<KeyedRule>> always_lists;
    // What a port adds to the any-port rules (indexes into `sets` and `always_lists`, -1: none).
    struct PortEntry {
      int32_t dst_set = -1;     // for packets to the port: its set
      int32_t src_set = -1;     // for packets from the port
      int32_t always_dst = -1;  // always-evaluated rules for packets to the port
      int32_t always_src = -1;  // ... and from it
    };
    // The entry of `port`. Most ports have none of their own (an ephemeral port, any port of
    // icmp): one bit of an 8 KB map, which stays in cache, says so without reading the table.
    [[nodiscard]] const PortEntry& PortOf(uint16_t port) const {
      return (special_ports[port >> 6] >> (port & 63)) & 1 ? ports[port] : plain_port;
    }
    PortEntry plain_port;                        // {-1, -1, -1, -1}
    std::array<uint64_t, 1024> special_ports{};  // bit p: ports[p] differs from plain_port
    std::vector<PortEntry> ports;                // 65,536 entries when a port has an entry
  };
  [[nodiscard]] const Group& group(GroupKind k) const { return groups_[size_t(k)]; }
  // Rules without a positive content, by the address list of the packet's source (resp.
  // destination) they need; a bidirectional rule is in both, once per orientation.
  [[nodiscard]] const AddressIndex& by_src() const { return by_src_; }
  [[nodiscard]] const AddressIndex& by_dst() const { return by_dst_; }

  // Rules that read HTTP transaction buffers (CompiledRule::tx_stage >= 0) are in no Group: they
  // are evaluated on transactions (Detector::Inspect, FlowContext::http_events), at their stage.
  // Per stage, per buffer: a fast-pattern database over the fast patterns lying in that buffer
  // (the rule's fast_pattern content, else its best positive content in a transaction buffer),
  // scanned over the transaction's buffer; rules with no such content are candidates on every
  // transaction of their stage.
  struct TxScanSet {
    std::shared_ptr<const LiteralDatabase> fast_patterns;  // null when no rule's pattern lies here
    std::vector<std::vector<uint32_t>> rules_of_pattern;   // literal id -> rule indexes
  };
  struct TxStagePlan {
    std::array<TxScanSet, kAppBufferCount> by_buffer;  // by buffer id - 1
    std::vector<uint32_t> always;
    size_t rule_count = 0;
  };
  [[nodiscard]] const TxStagePlan& tx_stage(app::HttpStage s) const {
    return tx_stages_[size_t(s)];
  }
  // Rules that read DNS buffers (dns.query) likewise: evaluated once per DNS request
  // (FlowContext::dns_messages), their fast patterns scanned over each name it asks for.
  [[nodiscard]] const TxStagePlan& dns_stage() const { return tx_stages_[kDnsStage]; }
  // ... and rules that read TLS buffers (tls.sni, tls.certs), once per handshake stage
  // (FlowContext::tls_events).
  [[nodiscard]] const TxStagePlan& tls_stage(app::TlsStage s) const {
    return tx_stages_[kTlsStage + size_t(s)];
  }
  [[nodiscard]] const TxStagePlan& stage_at(size_t i) const { return tx_stages_[i]; }

 private:
  DetectionPlan() = default;
  // The databases a set waits for while the DatabaseBatch compiles.
  struct PendingSet {
    GroupKind kind;
    int32_t set;
    uint32_t fast_patterns;
    int64_t literal_filter;  // -1: none
  };
  // Builds groups_[kind] from the rules already in rules_, queueing its databases in `batch`.
  // `port_weight`: how much rules name each port (Build); `merge_budget`: any-port rules that may
  // still be copied into port sets. What BuildGroup reads of each rule, worked out once per rule
  // (on every core) rather than once per scan set the rule is copied into:
  struct RuleGrouping {
    // The ports the rule's destination and source lists admit (nullopt: treated as any).
    std::optional<std::vector<uint16_t>> dst, src;
    // The bytes its fast pattern scans for (into the rule), and the furthest payload position at
    // which they can end in a match (kUnbounded: anywhere).
    std::string_view fast_pattern;
    int64_t max_end = 0;
  };
  void BuildGroup(GroupKind kind, const std::vector<bool>& address_indexed,
                  const std::vector<RuleGrouping>& grouping,
                  const std::vector<uint32_t>& port_weight, const std::vector<uint16_t>& hot_ports,
                  uint64_t& merge_budget, DatabaseBatch& batch, std::vector<PendingSet>& pending);
  std::vector<CompiledRule> rules_;
  std::array<Group, size_t(GroupKind::kCount)> groups_;
  AddressIndex by_src_;
  AddressIndex by_dst_;
  // Builds tx_stages_ from the rules with a tx_stage; returns, per stage and buffer, the handle of
  // its database in `batch` (-1: none).
  std::vector<int64_t> BuildTransactionRules(DatabaseBatch& batch);
  std::array<TxStagePlan, kAppStageCount> tx_stages_;
  std::array<uint8_t, 4> rank_ = {0, 1, 2, 3};
  uint32_t packet_alert_max_ = 15;
  std::unique_ptr<EventFilter> event_filter_;
  std::vector<std::string> flowbit_names_;
  std::vector<base::Error> warnings_;
  PlanBuildStats build_stats_;
};

struct DetectStats {
  uint64_t packets = 0;          // packets inspected (IP packets)
  uint64_t packets_scanned = 0;  // packets whose payload went through a fast-pattern scan
  uint64_t scans = 0;            // fast-pattern scans (a packet may need a second, source-side)
  uint64_t packets_with_candidates = 0;  // fast-pattern candidates before the literal filter
  // Fast-pattern hits past their literal's reach (ScanSet::max_end), which select no rule.
  uint64_t fast_pattern_out_of_reach = 0;
  // Stream chunks whose history needed no scan: the window before it had no fast-pattern hit
  // (Detector::CleanWindow), so only the new bytes and the few before them were scanned.
  uint64_t history_scans_skipped = 0;
  uint64_t clean_window_evictions = 0;  // a direction's clean-window entry taken by another's
  uint64_t literal_filter_scans = 0;
  uint64_t literal_filter_rejects = 0;  // candidates dropped by the literal filter
  uint64_t packets_full_match = 0;      // packets with at least one rule to evaluate fully
  // Packets on which some rule's option walk ran at all: its steps before its first pcre
  // (PrefixBeforePcreHolds), or its whole walk. packets_full_match counts those whose walk went
  // on to the end, pcre included; this is the stricter figure, where byte_* and content windows
  // belong to the full matcher too.
  uint64_t packets_walked = 0;
  uint64_t address_candidates = 0;  // candidates found through the address index
  uint64_t condition_rejects = 0;   // candidates failing their header / packet conditions
  // Candidates whose payload steps before their first pcre fail (PrefixBeforePcreHolds): the
  // regular expression is not needed.
  uint64_t prefix_rejects = 0;
  // Candidates whose regex prefilter (regex_prefilter.h: the content, then the pcre anchored
  // after it) matches nowhere in the buffer: the option walk is not needed.
  uint64_t regex_prefilter_rejects = 0;
  uint64_t candidates = 0;  // rule evaluations by the full matcher
  uint64_t matches = 0;     // rules that matched (before pass suppression)
  uint64_t alerts = 0;      // alerts reported
  // Alerts past PlanOptions::packet_alert_max on their packet, not reported (Suricata's
  // detect.alert_queue_overflow).
  uint64_t alerts_discarded = 0;
  uint64_t passed = 0;         // packets a pass rule let through
  uint64_t filtered = 0;       // full matches a threshold or detection_filter did not let count
  uint64_t transactions = 0;   // HTTP transaction stages inspected
  uint64_t tx_candidates = 0;  // rule candidates on transactions
  // ... dropped before the full matcher: a literal absent from its buffer (LiteralsPresent)
  uint64_t tx_literal_rejects = 0;
};

class Detector {
 public:
  // `plan` must outlive the Detector.
  // `event_filter`: threshold counters shared with other workers (EventFilter::NewSharedFilter);
  // null gives the detector counters of its own.
  static base::Result<std::unique_ptr<Detector>> Create(
      const DetectionPlan& plan, std::shared_ptr<EventFilter> event_filter = nullptr);

  // Appends to `alerts` the rules that match `p`, in rule order.
  Verdict Inspect(const packet::Packet& p, std::vector<Alert>& alerts) {
    return Inspect(p, FlowContext{}, {}, alerts);
  }

  // The same for a packet of a tracked flow. As in Snort and Suricata (whose payload rules are
  // "packet-stream" rules), every rule but flow:only_stream ones is evaluated on the packet
  // itself; and when `flow.reassembled`, `chunks` holds what stream reassembly delivered with the
  // packet (none when the segment filled no hole), and the rules that read the payload, but
  // flow:no_stream ones, are evaluated on each chunk too — a match counts there only when it ends
  // in the chunk's new bytes, so a pattern split over segments is found once, on the packet that
  // completed it. A rule matches at most once per packet.
  //
  // Rules with no options and any ports (Suricata's IP-only rules) are evaluated once per flow
  // direction (on flow.first_in_direction), or on every packet when the packet has no flow or
  // the rule negates an address.
  //
  // Then, as Suricata does, the matches take effect in the plan's action order (default pass,
  // drop, reject, alert), rule order within a class: an alert or log rule alerts; a drop or reject
  // rule alerts and drops the packet (Verdict::drop); sdrop drops without alerting; a pass rule
  // stops the walk — the matches after it neither alert nor act — unless the packet is already
  // dropped. Scope: a drop or pass of an IP-only rule, or of a payload rule matched on data the
  // stream took (flow.payload_in_stream, or a chunk), applies to the whole flow (drop_flow,
  // pass_flow); other rules' to the packet alone. Alerts are appended in the order they took
  // effect, at most the plan's packet_alert_max of them.
  Verdict Inspect(const packet::Packet& p, const FlowContext& flow,
                  std::span<const StreamChunk> chunks, std::vector<Alert>& alerts);

  [[nodiscard]] const DetectStats& stats() const { return stats_; }

  // Per rule, what the full matcher spent on it: a diagnostic of what sends packets there
  // (bench/engine_bench --full-match-report), off unless a tally is given. Indexed by rule.
  struct FullMatchTally {
    std::array<std::vector<uint64_t>, 3> evaluations;  // by unit: packet, chunk, transaction
    std::vector<uint64_t> packets;       // packets on which the rule reached the full matcher
    std::vector<uint64_t> sole;          // ... and was the only rule that did
    std::vector<uint64_t> matches;       // full-matcher evaluations that matched
    std::vector<uint64_t> walk_packets;  // packets on which the rule's option walk began at all
    std::vector<uint64_t> walk_sole;     // ... and no other rule's did (packets_walked's share)
  };
  // Starts tallying into `tally` (sized here; null stops). Costs a test per full-matcher call.
  void SetFullMatchTally(FullMatchTally* tally);
  // Continues counting from `stats` (a reload's new detector takes over its predecessor's).
  void ContinueStats(const DetectStats& stats) { stats_ = stats; }

 private:
  explicit Detector(const DetectionPlan& plan) : plan_(plan) {}
  // Starts a new candidate list: forgets which rules were candidates.
  void NewCandidates();
  // What is scanned: `data`, and where its bytes are. `origin` is the payload position of data[0]
  // for the most permissive unit the candidates serve (0 for the packet, the stream offset for a
  // chunk, minus new_from for a chunk that stands for the packet too): hits that end past their
  // literal's max_end there are no candidates. A chunk also names its flow direction and place
  // in the stream, for the clean-window cache.
  struct ScanInput {
    const uint8_t* data = nullptr;
    uint32_t len = 0;
    int64_t origin = 0;
    const StreamChunk* chunk = nullptr;  // null: the packet's own payload
    uint64_t flow_id = 0;                // with a chunk: its flow (0: none) ...
    bool to_server = true;               // ... and direction
  };
  // Scans with the ScanSets of the packet's ports in `group`, adding candidates.
  void ScanPorts(GroupKind kind, const DetectionPlan::Group& group, const packet::Packet& p,
                 const ScanInput& in);
  // Scans with one ScanSet of `group`, adding the rules of its hits as candidates.
  void Scan(GroupKind kind, const DetectionPlan::Group& group, int32_t set_index,
            const ScanInput& in);
  // The clean-window cache. A stream chunk is its direction's history (bytes already scanned as
  // part of the previous chunk) followed by new bytes. When the previous chunk of the same flow
  // direction, scanned with the same ScanSet, ended exactly where this one's new bytes begin and
  // held no fast-pattern hit that the stream could still use, the history holds none either:
  // only the new bytes, and the max_literal_len - 1 before them (for a literal that straddles),
  // need scanning. Entries are direct-mapped by (flow, direction, set); a colliding direction
  // takes the slot, and the one it displaced scans its next chunk in full (a miss costs only
  // the saving). kCleanWindows slots of 24 bytes (192 KB).
  struct CleanWindow {
    uint64_t flow_id = 0;    // 0: empty
    uint64_t clean_end = 0;  // the stream offset the clean window ends at
    uint32_t set = 0;        // group << 24 | set index, and the direction in bit 23
  };
  static constexpr size_t kCleanWindows = 8192;
  // Adds the candidates that do not come from a scan: address-indexed and always-evaluated rules.
  void AddPacketCandidates(GroupKind kind, const DetectionPlan::Group& group,
                           const packet::Packet& p);
  enum class Unit : uint8_t { kPacket, kChunk };
  // Evaluates the candidates that apply to `unit` on `in`, recording the rules that match and
  // have not matched this packet yet in matched_.
  void Evaluate(const MatchInput& in, Unit unit);
  // Applies matched_ in action order: appends alerts, returns the verdict.
  Verdict Finish(const FlowContext& flow, std::vector<Alert>& alerts);
  // Evaluates the transaction rules of each stage in flow.http_events (on its transaction, with
  // the packet's payload for their pkt_data options), then the DNS rules on each request in
  // flow.dns_messages and the TLS rules at each handshake stage in flow.tls_events, recording
  // matches in matched_.
  void InspectTransactions(const packet::Packet& p, const FlowContext& flow);
  // Evaluates the TLS rules of each handshake stage in flow.tls_events on flow.tls_handshake.
  void InspectTls(const packet::Packet& p, const FlowContext& flow);
  // Evaluates the candidates on transaction input `in` (the stage's transaction, DNS message or
  // TLS handshake), recording matches.
  void EvaluateTx(const MatchInput& in);
  // Records a transaction rule's match as Evaluate records a packet rule's.
  void RecordTxMatch(uint32_t r, const MatchInput& in);
  // Counts an evaluation of rule `r` by the full matcher on `unit` (0 packet, 1 chunk, 2 tx).
  void CountFullMatch(uint32_t r, int unit) {
    ++stats_.candidates;
    if (tally_ != nullptr) [[unlikely]] {
      ++tally_->evaluations[size_t(unit)][r];
      tally_rules_.push_back(r);
    }
  }
  // Notes that rule `r`'s option walk begins on this packet (packets_walked).
  void CountWalk(uint32_t r) {
    walked_ = true;
    if (tally_ != nullptr) [[unlikely]]
      tally_walks_.push_back(r);
  }
  void CountFullMatchResult(uint32_t r, bool matched) {
    if (tally_ != nullptr && matched) [[unlikely]]
      ++tally_->matches[r];
  }
  void AddCandidate(uint32_t rule) {
    if (seen_stamp_[rule] != stamp_) {
      seen_stamp_[rule] = stamp_;
      candidates_.push_back(rule);
    }
  }
  const DetectionPlan& plan_;
  LiteralScratch scratch_;
  std::vector<uint32_t> candidates_;
  std::vector<uint32_t> seen_stamp_;     // per rule: the candidate-list stamp that added it
  std::vector<uint32_t> alerted_stamp_;  // per rule: the packet stamp of its last match
  uint32_t packet_stamp_ = 0;
  struct Match {
    uint32_t rule;
    bool in_stream;
    bool alert;            // false: silent (noalert, suppressed, past a limit); the action applies
    rules::Action action;  // the rule's, or a rate_filter's new_action
  };
  std::shared_ptr<EventFilter> filter_;  // this worker's threshold counters, or shared ones
  std::vector<Match> matched_;           // this packet's matches
  std::vector<uint32_t> literal_seen_;   // per literal-filter id: stamp of the scan that found it
  uint32_t literal_stamp_ = 0;
  std::vector<CleanWindow> clean_windows_;  // kCleanWindows
  FullMatchTally* tally_ = nullptr;
  std::vector<uint32_t> tally_rules_;  // with a tally: this packet's full-matcher rules
  std::vector<uint32_t> tally_walks_;  // ... and the rules whose walk began on it
  bool walked_ = false;                // some rule's option walk ran on this packet
  bool fast_pattern_hit_ = false;      // this packet's fast-pattern scans found a candidate
  uint32_t stamp_ = 0;
  DetectStats stats_;
};

}  // namespace vigil::detect

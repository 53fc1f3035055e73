// Event filtering: decides, after a rule fully matched a packet, whether the match takes effect and
// whether it becomes an alert — the rule's own `threshold:` and `detection_filter:` options and
// the threshold.config entries (suppress, threshold / event_filter, rate_filter; parsed by
// rules/threshold_config.h), with Suricata's semantics and precedence.
//
//   auto filter = detect::EventFilter::Build(rules_in_plan_order, &threshold_config);
//   if (!filter) return filter.error();
//   for (const base::Error& w : (*filter)->warnings()) Log(w.ToString());  // unknown sid, ...
//   // per full match of rule i (header, every option, its flowbits tests):
//   detect::ApplyAll(rule_flowbits, flow.bits);     // state changes ignore thresholds (below)
//   detect::FilterVerdict v = (*filter)->OnMatch(i, packet, detect::CaptureTimeNs(packet));
//   if (!v.matched) continue;                       // detection_filter not yet exceeded, ...
//   rules::Action action = v.action.value_or(rule.action);   // rate_filter's new_action
//   if (v.alert) Alert(rule, action);
//
// Where it runs. OnMatch is called once per full match of every rule, pass rules included (a pass
// rule below its detection_filter does not pass the packet). A noalert rule — flowbits:noalert,
// Suricata's `noalert;`, or a whole-rule suppress — answers {true, false, none} without counting:
// Suricata never sends a noalert signature to thresholding ("apply actions even if not alerting",
// detect.c), so its action applies on every match. State keywords are not subject to it: flowbits
// commands run on every full match, even when OnMatch answers no match or silent (Suricata
// thresholding.rst: "Keywords that change state are not subject to threshold limits. They are
// applied even when the alert is suppressed"; Snort 2, where detection_filter is part of
// detection, would not set them below the rate).
//
// FilterVerdict, as Suricata's PacketAlertHandle return value (detect-engine-alert.c): 0 = no
// match, 2 = silent match (the rule's action applies, no alert), 1 = match and alert.
//   matched  false: treat the rule as not matched: neither its action nor an alert. That is
//            detection_filter at or below its count, type threshold below its count (or between
//            two alerts), type both before its count (Suricata thresholding.rst: "For
//            detection_filter, and types both and threshold neither the rule action nor its alert
//            are applied before (threshold and both) or at (detection_filter) the count limit").
//   alert    whether the match is logged. Suppressed, or past a limit: matched but no alert
//            ("For limit, backoff and both, rule actions drop and reject are applied to each
//            packet").
//   action   set while a rate_filter is active: the rule's action becomes new_action for this
//            match (Suricata RateFilterSetAction); the alert is still logged (alert stays true).
//            new_action may be log or sdrop (Snort's silent actions), which the caller applies
//            with their usual meaning; Suricata implements only alert, drop, pass and reject.
// A rule with none of these options or entries answers {true, true, none} after one array load.
// A packet without an IP (Internet Protocol) layer is never thresholded, suppressed by address or
// rate-filtered (Suricata: PacketAlertHandle returns 1 for non-IP packets); a noalert rule still
// does not alert.
//
// Semantics of one counter (Suricata 7 detect-engine-threshold.c, ThresholdHandlePacket): a
// tracked key (rule entry + track addresses) has a window that starts at its first match; a match
// at time t is in the window when t <= start + seconds (inclusive); a match past it starts a new
// window with count 1. With N = count and c = the match's position in its window:
//   limit      c <= N: alert; c > N: silent.
//   threshold  c % N == 0 (the count restarts after each alert): alert; else no match.
//   both       c == N: alert; c > N: silent; c < N: no match.
//   detection_filter  c > N: alert; else no match.
//   rate_filter  always alerts; once c > N within a window, new_action is active for `timeout`
//              seconds: every match while (t - activation) <= timeout gets it, and the first
//              match after that only ends it (its count is not taken). As in Suricata, that
//              timeout compares whole seconds (activation second vs. the match's second).
//   backoff    (no window) c == N * M^k for some k >= 0: alert; else silent. So count 1,
//              multiplier 10 alerts on the 1st, 10th, 100th, ... match (Suricata 7.0.3+).
// track by_src / by_dst: one counter per source / destination address; by_both: per unordered
// address pair (both directions count together, as Suricata's IP-pair table); by_rule: one per
// rule; by_flow: one per flow (Suricata keeps those in the flow; here they share the table, keyed
// by the flow's id, and a packet without a flow is not counted). Time is the packet's capture time
// in nanoseconds (CaptureTimeNs), never the wall clock.
//
// Precedence (Suricata global-thresholds.rst "Global thresholds vs rule thresholds" and
// util-threshold-config.c). Suricata applies the lines one by one, so its result depends on how
// lines of different kinds interleave; here it depends only on the order within each kind
// (ThresholdConfig keeps each kind's entries in file order):
//   1. suppress entries first. Without `track`/`ip` the rule becomes noalert (as Suricata
//      does; see above); with them a match whose source (by_src), destination (by_dst) or either
//      (by_either) is in the list is silent, and the counters below do not count it (Suricata
//      returns at the first suppress that holds).
//   2. the counters, in order, stopping at the first that answers no-match or silent:
//        - a threshold / event_filter line naming the rule's exact gen_id and sig_id replaces the
//          rule's own `threshold:` (or, when it has none, its `detection_filter:`); the last such
//          line wins ("Each of these will replace the threshold setting");
//        - else the rule's own detection_filter then threshold (Snort evaluates detection_filter
//          as the last step of detection, before event filtering; Suricata rejects a rule with
//          both);
//        - else, for a rule with neither option, the first wildcard line in file order
//          (gen_id 0 sig_id 0, or gen_id G sig_id 0): "overriding all gids or sids (by using
//          gen_id 0 or sig_id 0) is not supported" — a wildcard never replaces a rule's own.
//      then the rate_filter: the first line naming the exact gen_id:sig_id, else the first
//      wildcard line; none for a rule with its own threshold or detection_filter (Suricata:
//      "The signature event var is given precedence over the threshold.conf one", bug #425;
//      a warning says so). Snort 2's apply_to limits it to tracked addresses in the list
//      (by_src: the source, by_dst: the destination, by_rule / by_both: either).
//   Config entries with sig_id > 0 and gen_id 0 are skipped with a warning (Suricata rejects them);
//   entries naming no rule of the plan are skipped with a warning.
//
// Tracking state is bounded: one hash table (open addressing) of at most
// EventFilterOptions::max_entries counters, keyed by (rule counter, tracked addresses). When it is
// full a new key evicts the counter whose window was started longest ago — with time moving
// forward, the oldest window, which has usually expired, and evicting an expired counter changes
// nothing (a new key and an expired one behave alike, except a rate_filter whose new action is
// active). Evictions are counted (evictions()). Nothing else is ever freed: a worker's table stays
// at its high-water mark.
//
// Threads: a filter from NewSharedFilter serves several workers at once, as Suricata's one locked
// table does: OnMatch takes its lock for rules that have a filter (matches of the others, nearly
// all, never touch it), and a by_src limit of N lets N alerts through per window whatever the
// number of workers. Any other EventFilter is for one thread (NewWorkerFilter shares the
// immutable part and counts on its own).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/ip_address.h"
#include "base/result.h"
#include "packet/packet.h"
#include "rules/rule.h"
#include "rules/threshold_config.h"

namespace vigil::detect {

struct EventFilterOptions {
  // Counters kept at most (each 80 bytes, plus 8 to 16 bytes of hash index).
  uint32_t max_entries = 65536;
};

struct FilterVerdict {
  bool matched = true;
  bool alert = true;
  std::optional<rules::Action> action;  // rate_filter's new_action while it is active

  friend bool operator==(const FilterVerdict&, const FilterVerdict&) = default;
};

// The packet's capture time in nanoseconds since the epoch, saturated at the int64 range (a
// crafted capture file may hold any 64-bit seconds value).
[[nodiscard]] inline int64_t CaptureTimeNs(const packet::Packet& p) {
  int64_t ns;
  if (__builtin_mul_overflow(p.ts.sec, int64_t{1'000'000'000}, &ns) ||
      __builtin_add_overflow(ns, int64_t(p.ts.nsec), &ns)) {
    return p.ts.sec < 0 ? INT64_MIN : INT64_MAX;
  }
  return ns;
}

class EventFilter {
 public:
  // `rules_in_plan_order[i]` is the rule OnMatch calls index i; `config` may be null. Fails on a
  // null rule or max_entries 0; config entries that cannot apply are warnings, not failures.
  [[nodiscard]] static base::Result<std::unique_ptr<EventFilter>> Build(
      const std::vector<const rules::Rule*>& rules_in_plan_order,
      const rules::ThresholdConfig* config, const EventFilterOptions& options = {});

  // A filter with the same rules and entries and no counters, for another worker thread.
  [[nodiscard]] std::unique_ptr<EventFilter> NewWorkerFilter() const;
  // The same, with one set of counters for every thread that calls OnMatch (see Threads above).
  [[nodiscard]] std::shared_ptr<EventFilter> NewSharedFilter() const;

  // Rule `rule_index` fully matched packet `p` (its addresses are the tracked ones) at capture
  // time `now_ns`. An index past the plan answers {true, true, none}.
  // `flow_id` identifies the packet's flow for counters tracked by_flow (0: no flow; such a
  // counter then does not apply to the packet).
  [[nodiscard]] FilterVerdict OnMatch(uint32_t rule_index, const packet::Packet& p, int64_t now_ns,
                                      uint64_t flow_id = 0);

  // Takes over the counters of `from` (another plan's filter, e.g. before a reload) whose rule
  // (gen_id:sig_id) has the same counter, with the same settings, here: a rule's threshold
  // window goes on across a reload instead of starting afresh. Counters of rules or settings
  // this plan does not have are left behind. Locks both filters when they are shared.
  void CarryCounters(const EventFilter& from);

  // True when some suppress, threshold, detection_filter or rate_filter applies to the rule, or it
  // is noalert: OnMatch may answer something other than {true, true, none}.
  [[nodiscard]] bool HasFilter(uint32_t rule_index) const;

  [[nodiscard]] const std::vector<base::Error>& warnings() const;
  [[nodiscard]] uint32_t entries() const { return uint32_t(entries_.size()); }
  [[nodiscard]] uint32_t capacity() const { return max_entries_; }
  [[nodiscard]] uint64_t evictions() const { return evictions_; }

  ~EventFilter();

 private:
  struct Spec;  // the immutable per-rule part, shared by worker filters (thresholds.cc)

  // One counter.
  struct Key {
    uint32_t counter = 0;  // which counter of which rule (Spec numbering)
    base::IpAddress a;     // by_src: source; by_dst: destination; by_both: the lower address
    base::IpAddress b;     // by_both: the higher address
    uint64_t flow = 0;     // by_flow: the flow
    friend bool operator==(const Key&, const Key&) = default;
  };
  static constexpr uint32_t kNil = UINT32_MAX;
  struct Entry {
    Key key;
    uint64_t hash = 0;
    int64_t window_start = 0;
    int64_t action_since = 0;  // rate_filter: the second new_action became active in
    uint32_t count = 0;
    uint32_t backoff_next = 0;  // backoff: the count of the next match that alerts
    bool action_active = false;
    uint32_t older = kNil;  // list by window start, oldest first
    uint32_t newer = kNil;
  };

  explicit EventFilter(std::shared_ptr<const Spec> spec, uint32_t max_entries);

  // The counter for `key`; `fresh` says it was just created (count 0, window at now).
  Entry& Lookup(const Key& key, int64_t now_ns, bool& fresh);
  void Rehash(size_t buckets);
  void EraseBucket(size_t bucket);
  void Unlink(uint32_t e);
  void PushNewest(uint32_t e);
  void Touch(uint32_t e) {
    Unlink(e);
    PushNewest(e);
  }

  std::shared_ptr<const Spec> spec_;
  uint32_t max_entries_;
  std::unique_ptr<std::mutex> lock_;  // set for a shared filter
  std::vector<Entry> entries_;
  std::vector<uint32_t> buckets_;  // entry index or kNil; size a power of two, load <= 1/2
  uint32_t oldest_ = kNil;
  uint32_t newest_ = kNil;
  uint64_t evictions_ = 0;
};

}  // namespace vigil::detect

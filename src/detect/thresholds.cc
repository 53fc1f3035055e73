#include "detect/thresholds.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>

#include "base/hash.h"

namespace vigil::detect {

namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

// One counter of a rule: a threshold / detection_filter (own or from threshold.config) or a
// rate_filter.
struct Counter {
  enum class Kind : uint8_t { kLimit, kThreshold, kBoth, kBackoff, kDetection, kRate };
  Kind kind = Kind::kLimit;
  rules::Track track = rules::Track::kBySrc;
  uint32_t count = 1;
  uint32_t multiplier = 0;  // backoff
  int64_t window_ns = 0;
  uint32_t id = 0;  // unique in the plan: part of every key of this counter
  // rate_filter only
  rules::Action new_action = rules::Action::kAlert;
  int64_t timeout_s = 0;
  std::optional<rules::AddressExpr> apply_to;
};

struct Suppression {
  rules::Track track = rules::Track::kBySrc;  // kBySrc, kByDst or kByEither
  rules::AddressExpr ip;
};

struct RuleFilters {
  bool noalert = false;  // flowbits:noalert, noalert, or a suppress without track / ip
  std::vector<Suppression> suppress;
  std::vector<Counter> counters;  // evaluated in order
  std::optional<Counter> rate;
};

Counter::Kind KindOf(rules::ThresholdOption::Type t) {
  switch (t) {
    case rules::ThresholdOption::Type::kLimit:
      return Counter::Kind::kLimit;
    case rules::ThresholdOption::Type::kThreshold:
      return Counter::Kind::kThreshold;
    case rules::ThresholdOption::Type::kBoth:
      return Counter::Kind::kBoth;
    case rules::ThresholdOption::Type::kBackoff:
      return Counter::Kind::kBackoff;
  }
  return Counter::Kind::kLimit;
}

Counter FromOption(const rules::ThresholdOption& o) {
  Counter c;
  c.kind = o.detection_filter ? Counter::Kind::kDetection : KindOf(o.type);
  c.track = o.track;
  c.count = o.count;
  c.multiplier = o.multiplier;
  // backoff counts for as long as its counter lives: no window.
  c.window_ns = c.kind == Counter::Kind::kBackoff ? INT64_MAX : int64_t(o.seconds) * kNsPerSecond;
  return c;
}

Counter FromEntry(const rules::ThresholdEntry& e) {
  Counter c;
  c.kind = KindOf(e.type);
  c.track = e.track;
  c.count = e.count;
  c.window_ns = int64_t(e.seconds) * kNsPerSecond;
  return c;
}

Counter FromRate(const rules::RateFilterEntry& e) {
  Counter c;
  c.kind = Counter::Kind::kRate;
  c.track = e.track;
  c.count = e.count;
  c.window_ns = int64_t(e.seconds) * kNsPerSecond;
  c.new_action = e.new_action;
  c.timeout_s = e.timeout;
  c.apply_to = e.apply_to;
  return c;
}

base::Error Warning(uint32_t line, std::string message) {
  base::Error e{"threshold config: " + std::move(message)};
  e.line = line;
  return e;
}

std::string GidSid(uint32_t gid, uint32_t sid) {
  return "gen_id " + std::to_string(gid) + ", sig_id " + std::to_string(sid);
}

uint64_t HashAddress(uint64_t h, const base::IpAddress& a) {
  uint64_t lo, hi;
  std::memcpy(&lo, a.bytes.data(), 8);
  std::memcpy(&hi, a.bytes.data() + 8, 8);
  h = base::Mix64(h ^ lo);
  return base::Mix64(h ^ hi ^ (uint64_t(a.family) << 56));
}

// now - since, saturated: capture times may jump anywhere.
int64_t Elapsed(int64_t now, int64_t since) {
  int64_t d;
  if (__builtin_sub_overflow(now, since, &d)) return now < since ? INT64_MIN : INT64_MAX;
  return d;
}

int64_t FloorSeconds(int64_t ns) { return ns / kNsPerSecond - (ns % kNsPerSecond < 0 ? 1 : 0); }

}  // namespace

struct EventFilter::Spec {
  std::vector<uint32_t> rule_filters;  // per rule index: 0 = none, else 1 + index into `filters`
  std::vector<RuleFilters> filters;
  // Per counter id: what the counter is — its rule's gen_id:sig_id, its place among the rule's
  // counters and its settings — so that another plan's counter for the same thing is found
  // (CarryCounters).
  std::vector<uint64_t> counter_identity;
  std::vector<base::Error> warnings;
};

EventFilter::EventFilter(std::shared_ptr<const Spec> spec, uint32_t max_entries)
    : spec_(std::move(spec)), max_entries_(max_entries) {}

EventFilter::~EventFilter() = default;

base::Result<std::unique_ptr<EventFilter>> EventFilter::Build(
    const std::vector<const rules::Rule*>& rules_in_plan_order,
    const rules::ThresholdConfig* config, const EventFilterOptions& options) {
  if (options.max_entries == 0) return base::MakeError("event filter: max_entries must be >= 1");
  const size_t n = rules_in_plan_order.size();
  for (size_t i = 0; i < n; ++i) {
    if (rules_in_plan_order[i] == nullptr) {
      return base::MakeError("event filter: rule " + std::to_string(i) + " of the plan is null");
    }
  }
  auto spec = std::make_shared<Spec>();
  rules::ThresholdConfig empty;
  const rules::ThresholdConfig& cfg = config != nullptr ? *config : empty;

  // Only entries of the configuration look rules up by gen_id:sig_id; most plans have none, and a
  // map of tens of thousands of rules is not free.
  std::unordered_map<uint64_t, std::vector<uint32_t>> by_gid_sid;
  if (cfg.size() > 0) {
    for (size_t i = 0; i < n; ++i) {
      const rules::Rule& r = *rules_in_plan_order[i];
      by_gid_sid[(uint64_t(r.gid) << 32) | r.sid].push_back(uint32_t(i));
    }
  }
  // The rules an entry names: exact gen_id:sig_id, gen_id G sig_id 0 (all of G), or 0 0 (all).
  // Sets `valid` false (and warns) for sig_id > 0 with gen_id 0, which Suricata rejects.
  auto named = [&](uint32_t gid, uint32_t sid, uint32_t line, const char* what,
                   bool& exact) -> std::vector<uint32_t> {
    exact = sid != 0;
    std::vector<uint32_t> out;
    if (sid != 0 && gid == 0) {
      spec->warnings.push_back(Warning(line, std::string(what) + " " + GidSid(gid, sid) +
                                                 ": a sig_id needs a gen_id; entry skipped"));
      return out;
    }
    if (sid != 0) {
      auto it = by_gid_sid.find((uint64_t(gid) << 32) | sid);
      if (it == by_gid_sid.end()) {
        spec->warnings.push_back(Warning(
            line, std::string(what) + " " + GidSid(gid, sid) + ": no such rule; entry skipped"));
        return out;
      }
      return it->second;
    }
    for (size_t i = 0; i < n; ++i) {
      if (gid == 0 || rules_in_plan_order[i]->gid == gid) out.push_back(uint32_t(i));
    }
    return out;
  };

  // Per rule: what applies, before precedence is resolved.
  struct Pending {
    RuleFilters filters;
    const rules::ThresholdEntry* exact_threshold = nullptr;     // the last one
    const rules::ThresholdEntry* wildcard_threshold = nullptr;  // the first one
    const rules::RateFilterEntry* exact_rate = nullptr;         // the first one
    const rules::RateFilterEntry* wildcard_rate = nullptr;      // the first one
  };
  std::vector<Pending> pending(n);

  for (const rules::SuppressEntry& s : cfg.suppressions) {
    bool exact;
    for (uint32_t i : named(s.gid, s.sid, s.line, "suppress", exact)) {
      if (!s.track.has_value() || !s.ip.has_value()) {
        pending[i].filters.noalert = true;
      } else {
        pending[i].filters.suppress.push_back(Suppression{*s.track, *s.ip});
      }
    }
  }
  for (const rules::ThresholdEntry& t : cfg.thresholds) {
    bool exact;
    for (uint32_t i :
         named(t.gid, t.sid, t.line, t.event_filter ? "event_filter" : "threshold", exact)) {
      if (exact) {
        pending[i].exact_threshold = &t;
      } else if (pending[i].wildcard_threshold == nullptr) {
        pending[i].wildcard_threshold = &t;
      }
    }
  }
  for (const rules::RateFilterEntry& rf : cfg.rate_filters) {
    bool exact;
    for (uint32_t i : named(rf.gid, rf.sid, rf.line, "rate_filter", exact)) {
      const rules::RateFilterEntry*& slot =
          exact ? pending[i].exact_rate : pending[i].wildcard_rate;
      if (slot == nullptr) slot = &rf;
    }
  }

  // Wildcard entries that rules with their own threshold / detection_filter keep out, for one
  // summary warning per entry rather than one per rule.
  std::unordered_map<const void*, uint32_t> kept_out;
  uint32_t next_counter = 0;
  for (size_t i = 0; i < n; ++i) {
    const rules::Rule& rule = *rules_in_plan_order[i];
    Pending& p = pending[i];
    const rules::ThresholdOption* own_threshold = nullptr;
    const rules::ThresholdOption* own_detection = nullptr;
    for (const rules::Option& o : rule.options) {
      if (const auto* t = std::get_if<rules::ThresholdOption>(&o)) {
        (t->detection_filter ? own_detection : own_threshold) = t;
      }
    }
    const bool has_own = own_threshold != nullptr || own_detection != nullptr;
    RuleFilters& f = p.filters;
    for (const rules::Option& o : rule.options) {
      const auto* fb = std::get_if<rules::FlowbitsOption>(&o);
      const auto* flag = std::get_if<rules::FlagOption>(&o);
      if ((fb != nullptr && fb->command == rules::FlowbitsOption::Command::kNoalert) ||
          (flag != nullptr && flag->kind == rules::FlagOption::Kind::kNoalert)) {
        f.noalert = true;
      }
    }
    if (p.exact_threshold != nullptr) {
      // Replaces the rule's threshold, or its detection_filter when it has no threshold.
      if (own_threshold != nullptr && own_detection != nullptr) {
        f.counters.push_back(FromOption(*own_detection));
      }
      f.counters.push_back(FromEntry(*p.exact_threshold));
    } else if (has_own) {
      if (own_detection != nullptr) f.counters.push_back(FromOption(*own_detection));
      if (own_threshold != nullptr) f.counters.push_back(FromOption(*own_threshold));
      if (p.wildcard_threshold != nullptr) ++kept_out[p.wildcard_threshold];
    } else if (p.wildcard_threshold != nullptr) {
      f.counters.push_back(FromEntry(*p.wildcard_threshold));
    }
    const rules::RateFilterEntry* rate = p.exact_rate != nullptr ? p.exact_rate : p.wildcard_rate;
    if (rate != nullptr && has_own) {
      if (rate == p.exact_rate) {
        spec->warnings.push_back(Warning(
            rate->line, "rate_filter " + GidSid(rate->gid, rate->sid) +
                            ": the rule has its own threshold or detection_filter, which takes "
                            "precedence; entry skipped"));
      } else {
        ++kept_out[rate];
      }
      rate = nullptr;
    }
    if (rate != nullptr) f.rate = FromRate(*rate);
    for (Counter& c : f.counters) c.id = next_counter++;
    if (f.rate) f.rate->id = next_counter++;
    auto identity = [&](const Counter& c, uint64_t slot) {
      uint64_t h = base::Mix64((uint64_t(rule.gid) << 32 | rule.sid) ^ slot << 56);
      h = base::Mix64(h ^ (uint64_t(c.kind) << 8 | uint64_t(c.track) | uint64_t(c.count) << 16));
      h = base::Mix64(h ^ uint64_t(c.window_ns) ^ uint64_t(c.multiplier) << 48);
      return base::Mix64(h ^ uint64_t(c.new_action) ^ uint64_t(c.timeout_s) << 8);
    };
    for (size_t k = 0; k < f.counters.size(); ++k) {
      spec->counter_identity.push_back(identity(f.counters[k], k));
    }
    if (f.rate) spec->counter_identity.push_back(identity(*f.rate, 255));
  }
  auto summarize = [&](const void* entry, uint32_t line, uint32_t gid, uint32_t sid,
                       const char* what) {
    auto it = kept_out.find(entry);
    if (it == kept_out.end()) return;
    spec->warnings.push_back(Warning(
        line, std::string(what) + " " + GidSid(gid, sid) + ": not applied to " +
                  std::to_string(it->second) +
                  " rule(s) with their own threshold or detection_filter, which take precedence"));
  };
  for (const rules::ThresholdEntry& t : cfg.thresholds) {
    summarize(&t, t.line, t.gid, t.sid, t.event_filter ? "event_filter" : "threshold");
  }
  for (const rules::RateFilterEntry& rf : cfg.rate_filters) {
    summarize(&rf, rf.line, rf.gid, rf.sid, "rate_filter");
  }

  spec->rule_filters.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    RuleFilters& f = pending[i].filters;
    if (!f.noalert && f.suppress.empty() && f.counters.empty() && !f.rate) continue;
    spec->filters.push_back(std::move(f));
    spec->rule_filters[i] = uint32_t(spec->filters.size());
  }
  return std::unique_ptr<EventFilter>(new EventFilter(std::move(spec), options.max_entries));
}

std::unique_ptr<EventFilter> EventFilter::NewWorkerFilter() const {
  return std::unique_ptr<EventFilter>(new EventFilter(spec_, max_entries_));
}

std::shared_ptr<EventFilter> EventFilter::NewSharedFilter() const {
  std::shared_ptr<EventFilter> f(new EventFilter(spec_, max_entries_));
  f->lock_ = std::make_unique<std::mutex>();
  return f;
}

void EventFilter::CarryCounters(const EventFilter& from) {
  std::unordered_map<uint64_t, uint32_t> ids;
  for (uint32_t id = 0; id < spec_->counter_identity.size(); ++id) {
    ids.emplace(spec_->counter_identity[id], id);
  }
  std::unique_lock<std::mutex> from_lock, lock;
  if (from.lock_) from_lock = std::unique_lock(*from.lock_);
  if (lock_) lock = std::unique_lock(*lock_);
  // Oldest first, so that the eviction order stays as it was.
  for (uint32_t idx = from.oldest_; idx != kNil; idx = from.entries_[idx].newer) {
    const Entry& old = from.entries_[idx];
    if (old.key.counter >= from.spec_->counter_identity.size()) continue;
    auto it = ids.find(from.spec_->counter_identity[old.key.counter]);
    if (it == ids.end()) continue;
    Key key = old.key;
    key.counter = it->second;
    bool fresh = false;
    Entry& e = Lookup(key, old.window_start, fresh);
    e.window_start = old.window_start;
    e.action_since = old.action_since;
    e.count = old.count;
    e.backoff_next = old.backoff_next;
    e.action_active = old.action_active;
  }
}

bool EventFilter::HasFilter(uint32_t rule_index) const {
  return rule_index < spec_->rule_filters.size() && spec_->rule_filters[rule_index] != 0;
}

const std::vector<base::Error>& EventFilter::warnings() const { return spec_->warnings; }

FilterVerdict EventFilter::OnMatch(uint32_t rule_index, const packet::Packet& p, int64_t now_ns,
                                   uint64_t flow_id) {
  if (rule_index >= spec_->rule_filters.size()) return {};
  uint32_t index = spec_->rule_filters[rule_index];
  if (index == 0) return {};
  const RuleFilters& f = spec_->filters[index - 1];
  // Suricata applies a noalert signature's actions at once and never thresholds it.
  if (f.noalert) return {.matched = true, .alert = false};
  FilterVerdict v;
  if (p.ip_version == 0) return v;
  std::unique_lock<std::mutex> guard;
  if (lock_) guard = std::unique_lock<std::mutex>(*lock_);

  for (const Suppression& s : f.suppress) {
    bool hit = s.track == rules::Track::kByDst ? s.ip.Matches(p.dst_ip) : s.ip.Matches(p.src_ip);
    if (!hit && s.track == rules::Track::kByEither) hit = s.ip.Matches(p.dst_ip);
    if (hit) return {.matched = true, .alert = false};
  }

  auto key_of = [&](const Counter& c) {
    Key k;
    k.counter = c.id;
    switch (c.track) {
      case rules::Track::kByDst:
        k.a = p.dst_ip;
        break;
      case rules::Track::kByBoth:
        k.a = std::min(p.src_ip, p.dst_ip);
        k.b = std::max(p.src_ip, p.dst_ip);
        break;
      case rules::Track::kByRule:
        break;
      case rules::Track::kByFlow:
        k.flow = flow_id;
        break;
      case rules::Track::kBySrc:
      case rules::Track::kByEither:  // never for counters (the parsers refuse it)
        k.a = p.src_ip;
        break;
    }
    return k;
  };

  for (const Counter& c : f.counters) {
    // Suricata creates no counter for type threshold with count 1: every match alerts.
    if (c.kind == Counter::Kind::kThreshold && c.count == 1) continue;
    if (c.track == rules::Track::kByFlow && flow_id == 0) continue;
    bool fresh;
    Entry& e = Lookup(key_of(c), now_ns, fresh);
    if (fresh) {
      e.count = 1;
      e.backoff_next = c.count;
    } else if (Elapsed(now_ns, e.window_start) <= c.window_ns) {
      if (e.count != UINT32_MAX) ++e.count;
    } else {
      e.window_start = now_ns;
      e.count = 1;
      Touch(uint32_t(&e - entries_.data()));
    }
    int result = 1;  // Suricata's 0 no match / 1 alert / 2 silent
    switch (c.kind) {
      case Counter::Kind::kLimit:
        result = e.count <= c.count ? 1 : 2;
        break;
      case Counter::Kind::kThreshold:
        if (e.count >= c.count) {
          e.count = 0;
          result = 1;
        } else {
          result = 0;
        }
        break;
      case Counter::Kind::kBoth:
        result = e.count == c.count ? 1 : e.count > c.count ? 2 : 0;
        break;
      case Counter::Kind::kBackoff:
        if (e.count == e.backoff_next) {
          uint64_t next = uint64_t(e.backoff_next) * c.multiplier;
          e.backoff_next = next > UINT32_MAX ? 0 : uint32_t(next);  // 0: never again
          result = 1;
        } else {
          result = 2;
        }
        break;
      case Counter::Kind::kDetection:
        result = e.count > c.count ? 1 : 0;
        break;
      case Counter::Kind::kRate:
        break;
    }
    if (result == 0) return {.matched = false, .alert = false};
    if (result == 2) return {.matched = true, .alert = false};
  }

  if (f.rate) {
    const Counter& c = *f.rate;
    bool applies = c.track != rules::Track::kByFlow || flow_id != 0;
    if (applies && c.apply_to) {
      switch (c.track) {
        case rules::Track::kBySrc:
          applies = c.apply_to->Matches(p.src_ip);
          break;
        case rules::Track::kByDst:
          applies = c.apply_to->Matches(p.dst_ip);
          break;
        default:
          applies = c.apply_to->Matches(p.src_ip) || c.apply_to->Matches(p.dst_ip);
          break;
      }
    }
    if (applies) {
      bool fresh;
      Entry& e = Lookup(key_of(c), now_ns, fresh);
      uint32_t self = uint32_t(&e - entries_.data());
      if (fresh) {
        e.count = 1;
      } else if (e.action_active) {
        // Suricata IsThresholdReached: whole seconds since activation, strictly more than
        // `timeout` ends it, and the match that ends it is not counted.
        if (FloorSeconds(now_ns) - e.action_since > c.timeout_s) {
          e.action_active = false;
        } else {
          v.action = c.new_action;
        }
      } else if (Elapsed(now_ns, e.window_start) <= c.window_ns) {
        if (e.count != UINT32_MAX) ++e.count;
        if (e.count > c.count) {
          e.action_active = true;
          e.action_since = FloorSeconds(now_ns);
          Touch(self);  // an active action keeps its counter as if its window had just started
          v.action = c.new_action;
        }
      } else {
        e.window_start = now_ns;
        e.count = 1;
        Touch(self);
      }
    }
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// The counter table: open addressing with linear probing, entries in a slab with a list ordered
// by window start for eviction.

EventFilter::Entry& EventFilter::Lookup(const Key& key, int64_t now_ns, bool& fresh) {
  if (buckets_.empty()) Rehash(64);
  uint64_t h = base::Mix64(uint64_t(key.counter) * 0x9E3779B97F4A7C15ULL);
  h = HashAddress(h, key.a);
  h = HashAddress(h, key.b);
  if (key.flow != 0) h = base::Mix64(h ^ key.flow);
  size_t mask = buckets_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    uint32_t idx = buckets_[i];
    if (idx == kNil) break;
    if (entries_[idx].hash == h && entries_[idx].key == key) {
      fresh = false;
      return entries_[idx];
    }
  }
  uint32_t idx;
  if (entries_.size() < max_entries_) {
    if ((entries_.size() + 1) * 2 > buckets_.size()) Rehash(buckets_.size() * 2);
    idx = uint32_t(entries_.size());
    entries_.emplace_back();
  } else {
    // Full: the counter whose window started longest ago makes room.
    idx = oldest_;
    size_t m = buckets_.size() - 1;
    size_t i = entries_[idx].hash & m;
    while (buckets_[i] != idx) i = (i + 1) & m;
    EraseBucket(i);
    Unlink(idx);
    ++evictions_;
  }
  Entry& e = entries_[idx];
  e = Entry{};
  e.key = key;
  e.hash = h;
  e.window_start = now_ns;
  mask = buckets_.size() - 1;
  size_t i = h & mask;
  while (buckets_[i] != kNil) i = (i + 1) & mask;
  buckets_[i] = idx;
  PushNewest(idx);
  fresh = true;
  return e;
}

void EventFilter::Rehash(size_t buckets) {
  buckets_.assign(buckets, kNil);
  size_t mask = buckets - 1;
  for (uint32_t idx = 0; idx < entries_.size(); ++idx) {
    size_t i = entries_[idx].hash & mask;
    while (buckets_[i] != kNil) i = (i + 1) & mask;
    buckets_[i] = idx;
  }
}

// Backward-shift deletion: later members of the probe run move up so no search stops early.
void EventFilter::EraseBucket(size_t bucket) {
  size_t mask = buckets_.size() - 1;
  size_t hole = bucket;
  for (size_t j = (bucket + 1) & mask;; j = (j + 1) & mask) {
    uint32_t idx = buckets_[j];
    if (idx == kNil) break;
    size_t home = entries_[idx].hash & mask;
    // Move it when its home is not cyclically within (hole, j].
    bool move = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
    if (move) {
      buckets_[hole] = idx;
      hole = j;
    }
  }
  buckets_[hole] = kNil;
}

void EventFilter::Unlink(uint32_t e) {
  Entry& x = entries_[e];
  if (x.older != kNil) {
    entries_[x.older].newer = x.newer;
  } else {
    oldest_ = x.newer;
  }
  if (x.newer != kNil) {
    entries_[x.newer].older = x.older;
  } else {
    newest_ = x.older;
  }
  x.older = x.newer = kNil;
}

void EventFilter::PushNewest(uint32_t e) {
  Entry& x = entries_[e];
  x.older = newest_;
  x.newer = kNil;
  if (newest_ != kNil) {
    entries_[newest_].newer = e;
  } else {
    oldest_ = e;
  }
  newest_ = e;
}

}  // namespace vigil::detect

#include "detect/detector.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "base/parallel_for.h"
#include "detect/content_match.h"
#include "detect/option_program.h"
#include "detect/support.h"

namespace vigil::detect {
namespace {

// The content that drives the fast-pattern scan, or null when the rule has no positive content.
// How well a literal serves as a fast pattern: longer and more varied is rarer in traffic.
// Literals that run through ordinary traffic (a repeated byte, protocol boilerplate such as
// "HTTP/1.1" or "\r\n") would make their rule a candidate on most packets, so they rank low.
int FastPatternScore(const rules::ContentOption& c) {
  static constexpr std::string_view kCommon[] = {
      "GET ",         "POST",     "HTTP/1.",       "HTTP/1.1",        "HTTP/1.0",
      "\r\n",         "\r\n\r\n", "Host:",         "Host: ",          "User-Agent:",
      "User-Agent: ", "Accept:",  "Content-Type:", "Content-Length:", "Cookie:",
      ".com",         ".php",     "http://",       "https://",        "www."};
  std::string_view p = c.pattern;
  bool distinct[256] = {};
  int n_distinct = 0;
  for (unsigned char b : p) n_distinct += !std::exchange(distinct[b], true);
  int score = int(std::min<size_t>(p.size(), 32)) + 2 * std::min(n_distinct, 16);
  if (n_distinct == 1) score -= 24;  // runs of one byte: NUL padding, spaces, 0x90 sleds
  for (std::string_view common : kCommon) {
    if (p.size() == common.size() &&
        std::equal(p.begin(), p.end(), common.begin(), [&](char a, char b) {
          return c.nocase ? std::tolower(static_cast<unsigned char>(a)) ==
                                std::tolower(static_cast<unsigned char>(b))
                          : a == b;
        })) {
      score -= 24;
    }
  }
  return score;
}

// The content that drives the fast-pattern scan: the rule's `fast_pattern` content, else its
// best-scoring positive payload content; null when the rule has no positive payload content.
const rules::ContentOption* ChooseFastPattern(const std::vector<const rules::ContentOption*>& cs) {
  const rules::ContentOption* best = nullptr;
  int best_score = 0;
  for (const rules::ContentOption* c : cs) {
    if (c->negated || !(c->buffer.empty() || c->buffer == "raw_data")) continue;
    if (c->fast_pattern) return c;
    int score = FastPatternScore(*c);
    if (!best || score > best_score) {
      best = c;
      best_score = score;
    }
  }
  return best;
}

// The content that drives a transaction rule's scan: a positive content in a transaction buffer,
// the rule's fast_pattern one if it is there, else the best scoring; null when there is none.
const rules::ContentOption* ChooseTxFastPattern(const CompiledRule& cr) {
  const rules::ContentOption* best = nullptr;
  int best_score = 0;
  for (const rules::ContentOption* c : cr.contents) {
    if (c->negated || !AppBufferOf(cr.rule, *c)) continue;
    int score = c->fast_pattern ? 1 << 20 : FastPatternScore(*c);
    if (!best || score > best_score) {
      best = c;
      best_score = score;
    }
  }
  return best;
}

// The bytes the scan looks for, in c.pattern: the fast_pattern:offset,length slice when one is
// given.
std::string_view FastPatternBytes(const rules::ContentOption& c) {
  const std::string_view pattern = c.pattern;
  if (!c.fast_pattern_offset && !c.fast_pattern_length) return pattern;
  size_t off = std::min<size_t>(size_t(c.fast_pattern_offset.value_or(0)), pattern.size());
  size_t len = c.fast_pattern_length ? size_t(*c.fast_pattern_length) : std::string_view::npos;
  std::string_view slice = pattern.substr(off, len);
  return slice.empty() ? pattern : slice;
}

// A literal as scan sets number them: its bytes (into a rule) and whether case is ignored.
struct LiteralKey {
  std::string_view bytes;
  bool nocase;
  friend bool operator==(const LiteralKey&, const LiteralKey&) = default;
};
struct LiteralKeyHash {
  size_t operator()(const LiteralKey& k) const {
    return std::hash<std::string_view>{}(k.bytes) ^ size_t(k.nocase);
  }
};
// Literal key -> its number in one set's database, in order of first appearance.
using LiteralIds = std::unordered_map<LiteralKey, uint32_t, LiteralKeyHash>;

// The furthest payload position at which content `c` of `rule` can end in a match, or
// kUnbounded. The content's own window bounds it (offset + depth, or the pattern's length for
// startswith; not when relative or placed by a variable), and so does an absolute isdataat:!N
// on the payload, which holds only while the payload — of the packet, or of the stream up to
// the chunk's end — is at most N bytes long (rule_match.cc).
int64_t MaxEndOf(const rules::Rule& rule, const rules::ContentOption& c) {
  int64_t reach = DetectionPlan::ScanSet::kUnbounded;
  if (!c.IsRelative() && !c.HasVariable() && !c.endswith) {
    if (c.startswith) {
      reach = int64_t(c.pattern.size());
    } else if (c.depth) {
      reach = int64_t(c.offset.value_or(0)) + int64_t(*c.depth);
    }
  }
  for (const rules::Option& o : rule.options) {
    const auto* d = std::get_if<rules::IsDataAtOption>(&o);
    if (d && d->negated && !d->relative && !d->offset.IsVar() && d->buffer.empty() &&
        d->offset.value >= 0) {
      reach = std::min(reach, d->offset.value);
    }
  }
  return reach;
}

// A stream offset as a payload position, held where the full matcher holds it (kFar in
// option_program.cc): no literal reaches that far.
int64_t StreamOrigin(uint64_t stream_offset) {
  return int64_t(std::min<uint64_t>(stream_offset, uint64_t{1} << 40));
}

// The ports a port expression admits, or nullopt when it admits more than kMaxGroupedPortSpan
// (or is negated at the top), in which case grouping treats it as any.
std::optional<std::vector<uint16_t>> EnumeratePorts(const rules::PortExpr& e) {
  if (e.IsAny() || e.negated) return std::nullopt;
  if (e.flattened) {  // ParsePort's ranges: what the whole expression admits
    std::vector<uint16_t> ports;
    for (const auto& [lo, hi] : e.flat) {
      if (ports.size() + (uint32_t(hi) - lo + 1) > kMaxGroupedPortSpan) return std::nullopt;
      for (uint32_t p = lo; p <= hi; ++p) ports.push_back(uint16_t(p));
    }
    if (ports.empty()) return std::nullopt;
    return ports;
  }
  if (e.kind == rules::PortExpr::Kind::kRange) {
    if (uint32_t(e.hi) - e.lo + 1 > kMaxGroupedPortSpan) return std::nullopt;
    std::vector<uint16_t> ports;
    for (uint32_t p = e.lo; p <= e.hi; ++p) ports.push_back(uint16_t(p));
    return ports;
  }
  // A list: enumerate its positive members, keep those the whole list admits.
  std::vector<uint16_t> ports;
  for (const rules::PortExpr& m : e.members) {
    if (m.negated) continue;
    auto sub = EnumeratePorts(m);
    if (!sub) return std::nullopt;
    for (uint16_t p : *sub) {
      if (e.Matches(p)) ports.push_back(p);
    }
    if (ports.size() > kMaxGroupedPortSpan) return std::nullopt;
  }
  if (ports.empty()) return std::nullopt;  // only negations: admits nearly everything
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  return ports;
}

}  // namespace

void DetectionPlan::BuildGroup(GroupKind kind, const std::vector<bool>& address_indexed,
                               const std::vector<RuleGrouping>& grouping,
                               const std::vector<uint32_t>& port_weight,
                               const std::vector<uint16_t>& hot_ports, uint64_t& merge_budget,
                               DatabaseBatch& batch, std::vector<PendingSet>& pending) {
  Group& group = groups_[size_t(kind)];
  bool by_port = kind == GroupKind::kTcp || kind == GroupKind::kUdp;
  std::vector<uint32_t> any_rules;
  // Rule lists per port; sorted because rules are visited in order.
  std::unordered_map<uint16_t, std::vector<uint32_t>> dst_rules;
  std::unordered_map<uint16_t, std::vector<uint32_t>> src_rules;
  // The same for the rules without a fast pattern (the always-evaluated ones).
  std::unordered_map<uint16_t, std::vector<uint32_t>> always_dst;
  std::unordered_map<uint16_t, std::vector<uint32_t>> always_src;
  for (uint32_t i = 0; i < rules_.size(); ++i) {
    const CompiledRule& cr = rules_[i];
    if (!(cr.group_mask & (1u << size_t(kind)))) continue;
    const rules::Rule& r = cr.rule;
    auto add = [&](auto& table, const std::vector<uint16_t>& ports) {
      for (uint16_t p : ports) {
        auto& v = table[p];
        if (v.empty() || v.back() != i) v.push_back(i);
      }
    };
    const std::optional<std::vector<uint16_t>>& dst =
        by_port ? grouping[i].dst : std::optional<std::vector<uint16_t>>();
    const std::optional<std::vector<uint16_t>>& src =
        by_port && !dst ? grouping[i].src : std::optional<std::vector<uint16_t>>();
    if (!cr.fast_pattern) {
      if (address_indexed[i]) continue;
      if (dst) {
        add(always_dst, *dst);
        if (r.bidirectional) add(always_src, *dst);
      } else if (src) {
        add(always_src, *src);
        if (r.bidirectional) add(always_dst, *src);
      } else {
        group.always.push_back({i, KeysAdmitted(cr, kind)});
      }
      continue;
    }
    if (dst) {
      add(dst_rules, *dst);
      if (r.bidirectional) add(src_rules, *dst);
    } else if (src) {
      add(src_rules, *src);
      if (r.bidirectional) add(dst_rules, *src);
    } else {
      any_rules.push_back(i);
    }
  }

  // One ScanSet per distinct rule list; its databases are compiled later, with every other set's.
  std::map<std::vector<uint32_t>, int32_t> set_of_rules;
  auto set_for = [&](std::vector<uint32_t> rule_ids, bool has_any_port_rules) -> int32_t {
    auto [it, inserted] = set_of_rules.try_emplace(rule_ids, int32_t(group.sets.size()));
    if (!inserted) return it->second;
    ScanSet& set = group.sets.emplace_back();
    set.rule_count = rule_ids.size();
    set.has_any_port_rules = has_any_port_rules;
    LiteralIds literal_ids;
    literal_ids.reserve(rule_ids.size());
    std::vector<Literal> literals;
    for (uint32_t r : rule_ids) {
      const std::string_view bytes = grouping[r].fast_pattern;
      const bool nocase = rules_[r].fast_pattern->nocase;
      auto [lit, fresh] = literal_ids.try_emplace({bytes, nocase}, uint32_t(literals.size()));
      if (fresh) {
        literals.push_back({std::string(bytes), nocase, lit->second});
        set.rules_of_pattern.emplace_back();
        set.max_end.push_back(INT64_MIN);
        set.max_literal_len = std::max(set.max_literal_len, uint32_t(bytes.size()));
      }
      set.rules_of_pattern[lit->second].push_back(r);
      set.max_end[lit->second] = std::max(set.max_end[lit->second], grouping[r].max_end);
    }
    PendingSet& waiting = pending.emplace_back();
    waiting = {kind, it->second, batch.Add(std::move(literals)), -1};

    // The literal filter: each rule's other positive payload literals.
    LiteralIds filter_ids;
    std::vector<Literal> filter_literals;
    for (uint32_t r : rule_ids) {
      const CompiledRule& cr = rules_[r];
      const rules::ContentOption* fp = cr.fast_pattern;
      std::vector<uint32_t> needs;
      for (const rules::ContentOption* c : cr.contents) {
        if (c == fp || c->negated || !c->buffer.empty()) continue;
        auto [lit, fresh] =
            filter_ids.try_emplace({c->pattern, c->nocase}, uint32_t(filter_literals.size()));
        if (fresh) filter_literals.push_back({c->pattern, c->nocase, lit->second});
        needs.push_back(lit->second);
      }
      if (!needs.empty()) set.needs.emplace_back(r, std::move(needs));
    }
    if (!filter_literals.empty()) {
      set.literal_count = filter_literals.size();
      waiting.literal_filter = batch.Add(std::move(filter_literals));
    }
    return it->second;
  };

  if (!any_rules.empty()) group.any_set = set_for(any_rules, true);
  const uint64_t any_literals = any_rules.size();  // one fast pattern each
  // The distinct rule lists of ports, destination and source. The lists of the ports that rules
  // name most (the services traffic goes to: 80, 443, 53, ...) also carry the any-port rules, so
  // that their packets need one scan, not two: those of the hot ports first, whatever the cost,
  // then the others by weight for as long as the plan's merge budget lasts. Each copy compiles
  // the any-port rules' fast patterns again.
  struct PortList {
    std::vector<uint16_t> ports;
    uint32_t weight = 0;  // the largest port_weight of its ports
    bool hot = false;     // holds one of PlanOptions::hot_ports
    int32_t set = -1;     // its ScanSet
  };
  std::array<std::map<std::vector<uint32_t>, PortList>, 2> lists;  // destination, source
  std::vector<std::pair<const std::vector<uint32_t>*, PortList*>> by_weight;
  for (int side = 0; side < 2; ++side) {
    for (const auto& [port, ids] : side == 0 ? dst_rules : src_rules) {
      PortList& l = lists[side][ids];
      l.ports.push_back(port);
      l.weight = std::max(l.weight, port_weight[port]);
      l.hot |= std::find(hot_ports.begin(), hot_ports.end(), port) != hot_ports.end();
    }
    for (auto& [ids, l] : lists[side]) by_weight.emplace_back(&ids, &l);
  }
  // Ties (the ports of one long list, $HTTP_PORTS) go to the list with more rules of its own:
  // port 80 before 36.
  std::stable_sort(by_weight.begin(), by_weight.end(), [](const auto& a, const auto& b) {
    if (a.second->hot != b.second->hot) return a.second->hot;
    if (a.second->weight != b.second->weight) return a.second->weight > b.second->weight;
    return a.first->size() > b.first->size();
  });
  for (const auto& [own, l] : by_weight) {
    if (!any_rules.empty() && (l->hot || merge_budget >= any_literals)) {
      merge_budget -= std::min(merge_budget, any_literals);
      std::vector<uint32_t> merged;
      std::merge(own->begin(), own->end(), any_rules.begin(), any_rules.end(),
                 std::back_inserter(merged));
      l->set = set_for(std::move(merged), true);
    } else {
      l->set = set_for(*own, false);
    }
  }
  auto entry = [&](uint16_t port) -> Group::PortEntry& {
    if (group.ports.empty()) group.ports.assign(65536, group.plain_port);
    group.special_ports[port >> 6] |= uint64_t{1} << (port & 63);
    return group.ports[port];
  };
  // The always-evaluated rules by port; equal lists are shared.
  std::map<std::vector<uint32_t>, int32_t> list_of_rules;
  auto list_for = [&](const std::vector<uint32_t>& ids) {
    auto [it, fresh] = list_of_rules.try_emplace(ids, int32_t(group.always_lists.size()));
    if (fresh) {
      std::vector<Group::KeyedRule>& list = group.always_lists.emplace_back();
      for (uint32_t r : ids) list.push_back({r, KeysAdmitted(rules_[r], kind)});
    }
    return it->second;
  };
  for (auto& [port, ids] : always_dst) entry(port).always_dst = list_for(ids);
  for (auto& [port, ids] : always_src) entry(port).always_src = list_for(ids);
  for (const auto& [ids, l] : lists[0]) {
    for (uint16_t port : l.ports) entry(port).dst_set = l.set;
  }
  for (const auto& [ids, l] : lists[1]) {
    for (uint16_t port : l.ports) entry(port).src_set = l.set;
  }
}

ActionClass ClassOf(rules::Action a) {
  switch (a) {
    case rules::Action::kPass:
      return ActionClass::kPass;
    case rules::Action::kDrop:
    case rules::Action::kSdrop:
      return ActionClass::kDrop;
    case rules::Action::kReject:
    case rules::Action::kRejectSrc:
    case rules::Action::kRejectDst:
    case rules::Action::kRejectBoth:
      return ActionClass::kReject;
    case rules::Action::kAlert:
    case rules::Action::kLog:
      break;
  }
  return ActionClass::kAlert;
}

namespace {

// 0: sets flowbits without testing any; 1: sets and tests; 2: everything else.
int FlowbitsRank(const rules::Rule& r) {
  bool sets = false, tests = false;
  for (const rules::Option& o : r.options) {
    const auto* f = std::get_if<rules::FlowbitsOption>(&o);
    if (f == nullptr) continue;
    using C = rules::FlowbitsOption::Command;
    if (f->command == C::kIsset || f->command == C::kIsnotset) {
      tests = true;
    } else if (f->command != C::kNoalert) {
      sets = true;
    }
  }
  return !sets ? 2 : tests ? 1 : 0;
}

bool HasNegation(const rules::AddressExpr& e) {
  if (e.negated) return true;
  for (const rules::AddressExpr& m : e.members) {
    if (HasNegation(m)) return true;
  }
  return false;
}

// The groups a packet matching the rule's `ip_proto:N` tests can be in: an `ip any any` rule
// with ip_proto:88 never needs checking on TCP, UDP or ICMP packets. A packet whose transport
// header did not decode is in kOtherIp whatever its protocol, so that group always stays.
uint8_t GroupsOfIpProto(const rules::Rule& r) {
  uint8_t mask = 0xff;
  for (const rules::Option& o : r.options) {
    const auto* n = std::get_if<rules::NumericOption>(&o);
    if (n == nullptr || n->field != rules::NumericField::kIpProto ||
        n->test.op != rules::NumberTest::Op::kEq) {
      continue;
    }
    uint8_t g = uint8_t(1u << size_t(GroupKind::kOtherIp));
    if (n->test.lo == packet::kProtoTcp) g |= uint8_t(1u << size_t(GroupKind::kTcp));
    if (n->test.lo == packet::kProtoUdp) g |= uint8_t(1u << size_t(GroupKind::kUdp));
    if (n->test.lo == packet::kProtoIcmp || n->test.lo == packet::kProtoIcmpv6)
      g |= uint8_t(1u << size_t(GroupKind::kIcmp));
    mask &= g;
  }
  return mask;
}

}  // namespace

base::Result<std::unique_ptr<const DetectionPlan>> DetectionPlan::Build(
    std::vector<rules::Rule> rules, const rules::ClassificationTable& classifications,
    const PlanOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<DetectionPlan> plan(new DetectionPlan());
  plan->rank_ = {4, 4, 4, 4};
  plan->packet_alert_max_ = options.packet_alert_max;
  for (size_t i = 0; i < options.action_order.size(); ++i) {
    uint8_t& r = plan->rank_[size_t(options.action_order[i])];
    if (r == 4) r = uint8_t(i);
  }
  for (uint8_t& r : plan->rank_) {
    if (r == 4) return base::MakeError("action order must name pass, drop, reject and alert once");
  }
  // A rule the evaluators cannot handle is never compiled, whoever loaded it: evaluating only
  // the options it understands would report matches the rule does not make. The check is the
  // compilation (pcre above all), done once per rule, on every core; a kept rule keeps its program.
  std::vector<std::unique_ptr<RuleProgram>> programs(rules.size());
  std::vector<int> rank(rules.size());
  PcreCache pcres;
  std::atomic<size_t> prefilters{0}, prefilter_failures{0};
  base::ParallelFor(rules.size(), options.compile_threads, [&](size_t i) {
    if (!rules[i].enabled) return;
    if (auto program = CompileSupported(rules[i], true, &pcres)) {
      programs[i] = std::move(*program);
      // The regex prefilter, when the rule has one (regex_prefilter.h); one Vectorscan will not
      // compile leaves the rule checked without it.
      if (!AttachRegexPrefilter(*programs[i], options.cache)) ++prefilter_failures;
      prefilters += programs[i]->prefilter != nullptr;
    }
    rank[i] = FlowbitsRank(rules[i]);
  });
  plan->build_stats_.regex_prefilters = prefilters;
  plan->build_stats_.regex_prefilter_failures = prefilter_failures;
  // Rules that set flowbits come before rules that test them (as Suricata orders signatures), so
  // that a setter and a checker matching the same packet chain: flowbits commands run as soon as
  // their rule matches, and candidates are evaluated in plan order.
  std::vector<size_t> order;
  order.reserve(rules.size());
  for (int k = 0; k <= 2; ++k) {
    for (size_t i = 0; i < rules.size(); ++i) {
      if (programs[i] && rank[i] == k) order.push_back(i);
    }
  }
  std::vector<const rules::Rule*> in_order;
  for (size_t i : order) in_order.push_back(&rules[i]);
  auto registry = FlowbitRegistry::Build(in_order);
  if (!registry) return registry.error();
  for (uint32_t id = 0; id < registry->bit_count(); ++id) {
    plan->flowbit_names_.push_back(registry->BitName(id));
  }
  plan->rules_.reserve(order.size());
  for (size_t i : order) {
    rules::Rule& r = rules[i];
    auto flowbits = CompileRule(r, *registry);
    if (!flowbits) {
      plan->warnings_.push_back(base::MakeError(
          fmt::format("rule {}:{} skipped: {}", r.gid, r.sid, flowbits.error().message)));
      continue;
    }
    CompiledRule& cr = plan->rules_.emplace_back();
    cr.rule = std::move(r);
    cr.flowbits = std::move(*flowbits);
    cr.program.Set(std::move(programs[i]));
  }
  // Pointers into each rule are taken only once rules_ has stopped moving. What each rule needs
  // of the grouping below is worked out here, on every core; the grouping itself runs on one.
  std::vector<RuleGrouping> grouping(plan->rules_.size());
  base::ParallelFor(plan->rules_.size(), options.compile_threads, [&](size_t i) {
    CompiledRule& cr = plan->rules_[i];
    const rules::Rule& r = cr.rule;
    if (!r.classtype.empty()) {
      if (const rules::Classification* c = classifications.Lookup(r.classtype)) {
        cr.class_description = c->description;
        cr.priority = c->priority;
      } else {
        cr.class_description = r.classtype;
      }
    }
    if (r.priority) cr.priority = *r.priority;
    if (auto stream = StreamOfProtocol(r)) cr.stream = *stream;
    for (const rules::Option& o : r.options) {
      if (const auto* c = std::get_if<rules::ContentOption>(&o)) cr.contents.push_back(c);
      if (const auto* f = std::get_if<rules::FlowOption>(&o)) {
        if (f->stream != rules::FlowOption::Stream::kAny) cr.stream = f->stream;
      }
      cr.reads_payload |= ReadsPayload(o);
    }
    cr.ip_only = r.options.empty() && r.src_port.IsAny() && r.dst_port.IsAny();
    cr.negated_address = HasNegation(r.src_addr) || HasNegation(r.dst_addr);
    cr.needs_full_matcher = NeedsFullMatcher(cr);
    // HTTP transaction rules: in no group (BuildTransactionRules).
    if (auto stage = TxStageOf(r)) {
      cr.tx_stage = int8_t(*stage);
    } else if (IsDnsRule(r)) {
      cr.tx_stage = int8_t(kDnsStage);
    } else if (auto tls = TlsStageOf(r)) {
      cr.tx_stage = int8_t(kTlsStage + size_t(*tls));
    }
    if (cr.tx_stage >= 0) {
      cr.fast_pattern = ChooseTxFastPattern(cr);
    } else {
      cr.fast_pattern = ChooseFastPattern(cr.contents);
      for (size_t g = 0; g < size_t(GroupKind::kCount); ++g) {
        if (RuleInGroup(r, GroupKind(g))) cr.group_mask |= uint8_t(1u << g);
      }
      cr.group_mask &= GroupsOfIpProto(r);
    }
    RuleGrouping& g = grouping[i];
    g.dst = EnumeratePorts(r.dst_port);
    g.src = EnumeratePorts(r.src_port);
    if (cr.tx_stage < 0 && cr.fast_pattern) {
      g.fast_pattern = FastPatternBytes(*cr.fast_pattern);
      g.max_end = MaxEndOf(r, *cr.fast_pattern);
    }
  });
  std::vector<const rules::Rule*> plan_rules;
  for (const CompiledRule& cr : plan->rules_) plan_rules.push_back(&cr.rule);
  auto filter = EventFilter::Build(plan_rules, options.thresholds, options.event_filter);
  if (!filter) return filter.error();
  plan->event_filter_ = std::move(*filter);
  for (const base::Error& w : plan->event_filter_->warnings()) plan->warnings_.push_back(w);

  // Rules with no positive content wait on their addresses when a side's list can be indexed.
  std::vector<bool> address_indexed(plan->rules_.size(), false);
  for (uint32_t i = 0; i < plan->rules_.size(); ++i) {
    const CompiledRule& cr = plan->rules_[i];
    if (cr.tx_stage >= 0 || cr.fast_pattern) continue;
    const rules::Rule& r = cr.rule;
    if (plan->by_src_.Add(r.src_addr, i)) {
      if (r.bidirectional) (void)plan->by_dst_.Add(r.src_addr, i);
      address_indexed[i] = true;
    } else if (plan->by_dst_.Add(r.dst_addr, i)) {
      if (r.bidirectional) (void)plan->by_src_.Add(r.dst_addr, i);
      address_indexed[i] = true;
    }
  }

  // How many rules name each port, as a destination or a source: the services traffic goes to.
  // (Counting a rule as 1/N for each of its N ports ranks obscure ports that single rules name
  // first: snort3-community's trafgen traffic then needed 1.07 scans a packet instead of 0.67.)
  std::vector<uint32_t> port_weight(65536, 0);
  for (size_t i = 0; i < plan->rules_.size(); ++i) {
    for (const auto* ports : {&grouping[i].dst, &grouping[i].src}) {
      if (!*ports) continue;
      for (uint16_t p : **ports) ++port_weight[p];
    }
  }
  // Every Vectorscan database of the plan, compiled together.
  DatabaseBatch batch;
  std::vector<PendingSet> pending;
  uint64_t merge_budget = options.any_port_copy_budget;
  for (size_t g = 0; g < size_t(GroupKind::kCount); ++g) {
    plan->BuildGroup(GroupKind(g), address_indexed, grouping, port_weight, options.hot_ports,
                     merge_budget, batch, pending);
  }
  std::vector<int64_t> tx_handles = plan->BuildTransactionRules(batch);
  const auto databases_start = std::chrono::steady_clock::now();
  plan->build_stats_.rules_s = std::chrono::duration<double>(databases_start - start).count();
  if (auto st = batch.Compile({.cache = options.cache,
                               .threads = options.compile_threads,
                               .progress = options.progress});
      !st) {
    return st.error();
  }
  for (const PendingSet& w : pending) {
    ScanSet& set = plan->groups_[size_t(w.kind)].sets[size_t(w.set)];
    set.fast_patterns = batch.Get(w.fast_patterns);
    if (w.literal_filter >= 0) set.literal_filter = batch.Get(uint32_t(w.literal_filter));
  }
  for (size_t i = 0; i < tx_handles.size(); ++i) {
    if (tx_handles[i] < 0) continue;
    plan->tx_stages_[i / kAppBufferCount].by_buffer[i % kAppBufferCount].fast_patterns =
        batch.Get(uint32_t(tx_handles[i]));
  }
  PlanBuildStats& stats = plan->build_stats_;
  stats.databases_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - databases_start).count();
  stats.databases = batch.requested();
  stats.distinct_databases = batch.distinct();
  stats.literals = batch.literals();
  return std::unique_ptr<const DetectionPlan>(std::move(plan));
}

base::Result<std::unique_ptr<Detector>> Detector::Create(
    const DetectionPlan& plan, std::shared_ptr<EventFilter> event_filter) {
  std::unique_ptr<Detector> d(new Detector(plan));
  for (size_t g = 0; g < size_t(GroupKind::kCount); ++g) {
    for (const DetectionPlan::ScanSet& set : plan.group(GroupKind(g)).sets) {
      if (auto s = d->scratch_.Prepare(*set.fast_patterns); !s) return s.error();
      if (set.literal_filter) {
        if (auto s = d->scratch_.Prepare(*set.literal_filter); !s) return s.error();
      }
    }
  }
  for (size_t st = 0; st < kAppStageCount; ++st) {
    for (const DetectionPlan::TxScanSet& set : plan.stage_at(st).by_buffer) {
      if (!set.fast_patterns) continue;
      if (auto s = d->scratch_.Prepare(*set.fast_patterns); !s) return s.error();
    }
  }
  for (uint32_t r = 0; r < plan.rule_count(); ++r) {
    const RegexPrefilter* prefilter = RegexPrefilterOf(plan.rule(r));
    if (prefilter == nullptr) continue;
    if (auto s = d->scratch_.Prepare(prefilter->raw()); !s) return s.error();
  }
  d->filter_ = event_filter ? std::move(event_filter)
                            : std::shared_ptr<EventFilter>(plan.event_filter().NewWorkerFilter());
  d->seen_stamp_.assign(plan.rule_count(), 0);
  d->clean_windows_.resize(kCleanWindows);
  d->alerted_stamp_.assign(plan.rule_count(), 0);
  return d;
}

void Detector::SetFullMatchTally(FullMatchTally* tally) {
  tally_ = tally;
  tally_rules_.clear();
  tally_walks_.clear();
  if (tally == nullptr) return;
  for (std::vector<uint64_t>& v : tally->evaluations) v.resize(plan_.rule_count(), 0);
  tally->packets.resize(plan_.rule_count(), 0);
  tally->sole.resize(plan_.rule_count(), 0);
  tally->matches.resize(plan_.rule_count(), 0);
  tally->walk_packets.resize(plan_.rule_count(), 0);
  tally->walk_sole.resize(plan_.rule_count(), 0);
}

const std::vector<uint32_t>* DetectionPlan::ScanSet::NeedsOf(uint32_t rule) const {
  auto it = std::lower_bound(needs.begin(), needs.end(), rule,
                             [](const auto& entry, uint32_t r) { return entry.first < r; });
  return it != needs.end() && it->first == rule ? &it->second : nullptr;
}

void Detector::Scan(GroupKind kind, const DetectionPlan::Group& group, int32_t set_index,
                    const ScanInput& in) {
  const DetectionPlan::ScanSet& set = group.sets[size_t(set_index)];
  ++stats_.scans;
  size_t first = candidates_.size();
  // A chunk whose history is known clean is scanned from `from` on (see CleanWindow).
  CleanWindow* window = nullptr;
  const uint32_t key =
      uint32_t(kind) << 24 | uint32_t(!in.to_server) << 23 | (uint32_t(set_index) & 0x7fffff);
  uint32_t from = 0;
  int64_t stream_origin = 0;
  if (in.chunk != nullptr && in.flow_id != 0) {
    const StreamChunk& c = *in.chunk;
    stream_origin = StreamOrigin(c.stream_offset);
    window =
        &clean_windows_[(in.flow_id * 0x9E3779B97F4A7C15ull ^ key) * 0xff51afd7ed558ccdull >> 52 &
                        (kCleanWindows - 1)];
    if (window->flow_id == in.flow_id && window->set == key &&
        window->clean_end == c.stream_offset + c.new_from) {
      const uint32_t overlap = set.max_literal_len - 1;
      from = c.new_from > overlap ? c.new_from - overlap : 0;
      stats_.history_scans_skipped += from > 0;
    }
  }
  bool clean = true;  // no hit the stream can use, now or in a later chunk
  set.fast_patterns->Scan(in.data + from, in.len - from, scratch_, [&](uint32_t id, uint64_t end) {
    const int64_t at = int64_t(from + end);
    clean &= at + stream_origin > set.max_end[id];
    // The first occurrence ends first: when it is past the literal's reach, so is every other.
    if (at + in.origin > set.max_end[id]) {
      ++stats_.fast_pattern_out_of_reach;
      return;
    }
    for (uint32_t r : set.rules_of_pattern[id]) AddCandidate(r);
  });
  if (window != nullptr) {
    if (clean) {
      stats_.clean_window_evictions +=
          window->flow_id != 0 && (window->flow_id != in.flow_id || window->set != key);
      *window = {.flow_id = in.flow_id, .clean_end = in.chunk->stream_offset + in.len, .set = key};
    } else if (window->flow_id == in.flow_id && window->set == key) {
      window->flow_id = 0;
    }
  }
  if (candidates_.size() == first) return;
  fast_pattern_hit_ = true;
  if (!set.literal_filter) return;
  bool any_needs = false;
  for (size_t i = first; i < candidates_.size() && !any_needs; ++i) {
    any_needs = set.NeedsOf(candidates_[i]) != nullptr;
  }
  if (!any_needs) return;

  // One scan marks every filter literal present in the payload.
  ++stats_.literal_filter_scans;
  if (literal_seen_.size() < set.literal_count) literal_seen_.resize(set.literal_count, 0);
  if (++literal_stamp_ == 0) {
    std::fill(literal_seen_.begin(), literal_seen_.end(), 0);
    literal_stamp_ = 1;
  }
  set.literal_filter->Scan(in.data, in.len, scratch_,
                           [&](uint32_t id) { literal_seen_[id] = literal_stamp_; });
  size_t kept = first;
  for (size_t i = first; i < candidates_.size(); ++i) {
    const std::vector<uint32_t>* needs = set.NeedsOf(candidates_[i]);
    bool all_present = true;
    if (needs) {
      for (uint32_t lit : *needs) all_present &= literal_seen_[lit] == literal_stamp_;
    }
    if (all_present) {
      candidates_[kept++] = candidates_[i];
    } else {
      ++stats_.literal_filter_rejects;
    }
  }
  candidates_.resize(kept);
}

void Detector::NewCandidates() {
  candidates_.clear();
  if (++stamp_ == 0) {  // wrapped: forget every old stamp
    std::fill(seen_stamp_.begin(), seen_stamp_.end(), 0);
    stamp_ = 1;
  }
}

void Detector::ScanPorts(GroupKind kind, const DetectionPlan::Group& group, const packet::Packet& p,
                         const ScanInput& in) {
  if (in.len == 0) return;
  const int32_t dst_set = group.PortOf(p.dst_port).dst_set;
  const int32_t src_set = group.PortOf(p.src_port).src_set;
  // The any-port rules, unless a port's set carries them.
  int32_t any_set = group.any_set;
  if ((dst_set >= 0 && group.sets[size_t(dst_set)].has_any_port_rules) ||
      (src_set >= 0 && group.sets[size_t(src_set)].has_any_port_rules)) {
    any_set = -1;
  }
  if (dst_set < 0 && src_set < 0 && any_set < 0) return;
  ++stats_.packets_scanned;
  fast_pattern_hit_ = false;
  if (dst_set >= 0) Scan(kind, group, dst_set, in);
  if (src_set >= 0) Scan(kind, group, src_set, in);
  if (any_set >= 0) Scan(kind, group, any_set, in);
  stats_.packets_with_candidates += fast_pattern_hit_;
}

void Detector::AddPacketCandidates(GroupKind kind, const DetectionPlan::Group& group,
                                   const packet::Packet& p) {
  size_t before = candidates_.size();
  auto in_group = [&](uint32_t r) {
    if (plan_.rule(r).group_mask & (1u << size_t(kind))) AddCandidate(r);
  };
  if (!plan_.by_src().empty()) plan_.by_src().Lookup(p.src_ip, in_group);
  if (!plan_.by_dst().empty()) plan_.by_dst().Lookup(p.dst_ip, in_group);
  stats_.address_candidates += candidates_.size() - before;
  const uint8_t key = PacketKey(kind, p);
  auto add_admitted = [&](const std::vector<DetectionPlan::Group::KeyedRule>& list) {
    for (const DetectionPlan::Group::KeyedRule& k : list) {
      if (Admits(k.keys, key)) AddCandidate(k.rule);
    }
  };
  add_admitted(group.always);
  if (int32_t l = group.PortOf(p.dst_port).always_dst; l >= 0) {
    add_admitted(group.always_lists[size_t(l)]);
  }
  if (int32_t l = group.PortOf(p.src_port).always_src; l >= 0) {
    add_admitted(group.always_lists[size_t(l)]);
  }
}

void Detector::Evaluate(const MatchInput& in, Unit unit) {
  if (candidates_.empty()) return;
  std::sort(candidates_.begin(), candidates_.end());
  using Stream = rules::FlowOption::Stream;
  const FlowContext& flow = *in.flow;
  for (uint32_t r : candidates_) {
    const CompiledRule& cr = plan_.rule(r);
    bool applies = unit == Unit::kPacket ? cr.stream != Stream::kOnlyStream
                                         : cr.reads_payload && cr.stream != Stream::kNoStream;
    // IP-only rules: once per flow direction.
    if (cr.ip_only && !cr.negated_address && flow.has_flow && !flow.first_in_direction) {
      applies = false;
    }
    if (!applies || alerted_stamp_[r] == packet_stamp_) continue;
    // The rule's own packet conditions (header, flowbits, flags, dsize, ...) before the full
    // matcher: rules without a content, which no scan selects, mostly stop here.
    if (!MatchPacketConditions(cr, in)) {
      ++stats_.condition_rejects;
      continue;
    }
    // A rule with no option on a buffer is decided by its conditions; the others go through the
    // full matcher (the option walk).
    if (cr.needs_full_matcher) {
      // The regex prefilter first: a Vectorscan scan, no walk (for the rules that have one, the
      // steps before the pcre are a content the literal filter already found).
      if (!RegexPrefilterHolds(cr, in, scratch_.raw())) {
        ++stats_.regex_prefilter_rejects;
        continue;
      }
      CountWalk(r);
      if (!PrefixBeforePcreHolds(cr, in)) {
        ++stats_.prefix_rejects;
        continue;
      }
      CountFullMatch(r, unit == Unit::kPacket ? 0 : 1);
      const bool matched = MatchRule(cr, in);
      CountFullMatchResult(r, matched);
      if (!matched) continue;
    }
    ++stats_.matches;
    alerted_stamp_[r] = packet_stamp_;
    // State changes first: thresholds never hold flowbits commands back (thresholds.h).
    if (!cr.flowbits.commands.empty()) ApplyAll(cr.flowbits, flow.bits);
    FilterVerdict v = filter_->OnMatch(r, *in.packet, CaptureTimeNs(*in.packet), flow.flow_id);
    if (!v.matched) {
      ++stats_.filtered;
      continue;
    }
    matched_.push_back({.rule = r,
                        .in_stream = unit == Unit::kChunk,
                        .alert = v.alert && !cr.flowbits.noalert,
                        .action = v.action.value_or(cr.rule.action)});
  }
}

Verdict Detector::Finish(const FlowContext& flow, std::vector<Alert>& alerts) {
  Verdict v;
  if (matched_.empty()) return v;
  std::sort(matched_.begin(), matched_.end(), [&](const Match& a, const Match& b) {
    uint8_t ra = plan_.rank(ClassOf(a.action));
    uint8_t rb = plan_.rank(ClassOf(b.action));
    return ra != rb ? ra < rb : a.rule < b.rule;
  });
  size_t first = alerts.size();
  for (const Match& m : matched_) {
    const CompiledRule& cr = plan_.rule(m.rule);
    rules::Action a = m.action;
    // Flow scope: IP-only rules, and payload rules matched on data the stream took.
    bool flow_scope = flow.has_flow &&
                      (cr.ip_only || (cr.reads_payload && (m.in_stream || flow.payload_in_stream)));
    if (a == rules::Action::kPass) {
      if (!v.drop) {
        v.pass_flow = flow_scope;
        ++stats_.passed;
      }
      break;
    }
    bool drop = ClassOf(a) == ActionClass::kDrop || ClassOf(a) == ActionClass::kReject;
    if (drop) {
      v.drop = true;
      v.drop_flow |= flow_scope;
    }
    if (m.alert && a != rules::Action::kSdrop) {
      if (alerts.size() - first < plan_.packet_alert_max()) {
        alerts.push_back({&cr, drop, m.in_stream, a});
      } else {
        ++stats_.alerts_discarded;
      }
    }
  }
  stats_.alerts += alerts.size() - first;
  return v;
}

Verdict Detector::Inspect(const packet::Packet& p, const FlowContext& flow,
                          std::span<const StreamChunk> chunks, std::vector<Alert>& alerts) {
  if (p.ip_version == 0) return {};
  ++stats_.packets;
  if (++packet_stamp_ == 0) {
    std::fill(alerted_stamp_.begin(), alerted_stamp_.end(), 0);
    packet_stamp_ = 1;
  }
  matched_.clear();
  walked_ = false;
  uint64_t candidates_before = stats_.candidates;
  GroupKind kind = GroupOf(p);
  const DetectionPlan::Group& group = plan_.group(kind);
  // When the first chunk's new bytes begin with the packet's payload (an in-order segment), one
  // scan of the chunk finds every candidate of both: whatever is in the packet is in the chunk.
  bool shared = false;
  if (flow.reassembled && !chunks.empty()) {
    const StreamChunk& c = chunks[0];
    shared =
        c.len - c.new_from >= p.payload_len &&
        (p.payload_len == 0 || std::memcmp(c.data + c.new_from, p.payload, p.payload_len) == 0);
  }
  NewCandidates();
  if (shared) {
    // Payload positions: the packet's start at new_from, the chunk's at its stream offset, which
    // is never below the packet's: the packet's reach is the wider.
    ScanPorts(kind, group, p,
              {.data = chunks[0].data,
               .len = chunks[0].len,
               .origin = -int64_t(chunks[0].new_from),
               .chunk = &chunks[0],
               .flow_id = flow.flow_id,
               .to_server = flow.to_server});
  } else {
    ScanPorts(kind, group, p, {.data = p.payload, .len = p.payload_len});
  }
  AddPacketCandidates(kind, group, p);
  // The packet itself, as Snort and Suricata inspect it: every rule but flow:only_stream ones.
  Evaluate(MatchInput::OfPacket(p, &flow), Unit::kPacket);
  // Each chunk of the stream: the rules that read the payload, but flow:no_stream ones.
  if (flow.reassembled) {
    for (size_t i = 0; i < chunks.size(); ++i) {
      const StreamChunk& c = chunks[i];
      if (c.len <= c.new_from) continue;
      if (i > 0 || !shared) {
        NewCandidates();
        ScanPorts(kind, group, p,
                  {.data = c.data,
                   .len = c.len,
                   .origin = StreamOrigin(c.stream_offset),
                   .chunk = &c,
                   .flow_id = flow.flow_id,
                   .to_server = flow.to_server});
        AddPacketCandidates(kind, group, p);
      }
      Evaluate(ChunkInput(p, c, flow), Unit::kChunk);
    }
  }
  InspectTransactions(p, flow);
  InspectTls(p, flow);
  stats_.packets_full_match += stats_.candidates != candidates_before;
  stats_.packets_walked += walked_;
  if (tally_ != nullptr) [[unlikely]] {
    auto count = [](std::vector<uint32_t>& rules, std::vector<uint64_t>& packets,
                    std::vector<uint64_t>& sole) {
      std::sort(rules.begin(), rules.end());
      rules.erase(std::unique(rules.begin(), rules.end()), rules.end());
      for (uint32_t r : rules) ++packets[r];
      if (rules.size() == 1) ++sole[rules[0]];
      rules.clear();
    };
    count(tally_rules_, tally_->packets, tally_->sole);
    count(tally_walks_, tally_->walk_packets, tally_->walk_sole);
  }
  return Finish(flow, alerts);
}

// ---------------------------------------------------------------------------------------------
// HTTP transaction rules (app/http.h): built into tx_stages_, evaluated per transaction stage.

std::vector<int64_t> DetectionPlan::BuildTransactionRules(DatabaseBatch& batch) {
  // Per stage and buffer: literal -> id, and the literals.
  struct Pending {
    std::map<std::pair<std::string, bool>, uint32_t> ids;
    std::vector<Literal> literals;
  };
  std::array<std::array<Pending, kAppBufferCount>, kAppStageCount> pending;
  for (uint32_t i = 0; i < rules_.size(); ++i) {
    const CompiledRule& cr = rules_[i];
    if (cr.tx_stage < 0) continue;
    TxStagePlan& stage = tx_stages_[size_t(cr.tx_stage)];
    ++stage.rule_count;
    const rules::ContentOption* best = cr.fast_pattern;
    if (!best) {
      stage.always.push_back(i);
      continue;
    }
    const size_t best_buffer = size_t(*AppBufferOf(cr.rule, *best)) - 1;
    TxScanSet& set = stage.by_buffer[best_buffer];
    Pending& p = pending[size_t(cr.tx_stage)][best_buffer];
    std::string bytes(FastPatternBytes(*best));
    auto [lit, fresh] = p.ids.try_emplace({bytes, best->nocase}, uint32_t(p.literals.size()));
    if (fresh) {
      p.literals.push_back({bytes, best->nocase, lit->second});
      set.rules_of_pattern.emplace_back();
    }
    set.rules_of_pattern[lit->second].push_back(i);
  }
  std::vector<int64_t> handles(kAppStageCount * kAppBufferCount, -1);
  for (size_t st = 0; st < kAppStageCount; ++st) {
    for (size_t b = 0; b < kAppBufferCount; ++b) {
      if (pending[st][b].literals.empty()) continue;
      handles[st * kAppBufferCount + b] = batch.Add(std::move(pending[st][b].literals));
    }
  }
  return handles;
}

void Detector::InspectTransactions(const packet::Packet& p, const FlowContext& flow) {
  for (const app::HttpEvent& e : flow.http_events) {
    const DetectionPlan::TxStagePlan& stage = plan_.tx_stage(e.stage);
    if (stage.rule_count == 0) continue;
    ++stats_.transactions;
    NewCandidates();
    for (size_t b = 0; b < app::kHttpBufferCount; ++b) {
      const DetectionPlan::TxScanSet& set = stage.by_buffer[b];
      if (!set.fast_patterns) continue;
      std::string_view buffer = e.tx->Buffer(app::HttpBuffer(b));
      if (buffer.empty()) continue;
      set.fast_patterns->Scan(reinterpret_cast<const uint8_t*>(buffer.data()),
                              uint32_t(buffer.size()), scratch_, [&](uint32_t id) {
                                for (uint32_t r : set.rules_of_pattern[id]) AddCandidate(r);
                              });
    }
    // http.host after dotprefix: "." + the host.
    if (const DetectionPlan::TxScanSet& set = stage.by_buffer[kHttpHostDotBuffer - 1];
        set.fast_patterns) {
      DotPrefixed dot;
      const std::string_view host = dot(e.tx->Buffer(app::HttpBuffer::kHost));
      set.fast_patterns->Scan(reinterpret_cast<const uint8_t*>(host.data()), uint32_t(host.size()),
                              scratch_, [&](uint32_t id) {
                                for (uint32_t r : set.rules_of_pattern[id]) AddCandidate(r);
                              });
    }
    for (uint32_t r : stage.always) AddCandidate(r);
    if (candidates_.empty()) continue;
    std::sort(candidates_.begin(), candidates_.end());
    // The stage's direction: requests travel to the server, responses to the client.
    FlowContext tx_flow = flow;
    tx_flow.to_server = !app::IsResponseStage(e.stage);
    MatchInput in = MatchInput::OfPacket(p, &tx_flow);
    in.tx = e.tx;
    EvaluateTx(in);
  }
  const DetectionPlan::TxStagePlan& dns = plan_.dns_stage();
  if (dns.rule_count == 0) return;
  for (const app::DnsMessage& m : flow.dns_messages) {
    if (m.response) continue;  // dns.query is a request's
    ++stats_.transactions;
    NewCandidates();
    const DetectionPlan::TxScanSet& plain = dns.by_buffer[kDnsQueryBuffer - 1];
    const DetectionPlan::TxScanSet& dotted = dns.by_buffer[kDnsQueryDotBuffer - 1];
    auto add = [&](const DetectionPlan::TxScanSet& set) {
      return [&](uint32_t id) {
        for (uint32_t r : set.rules_of_pattern[id]) AddCandidate(r);
      };
    };
    for (const app::DnsRecord& q : m.queries) {
      if (plain.fast_patterns) {
        plain.fast_patterns->Scan(reinterpret_cast<const uint8_t*>(q.name.data()),
                                  uint32_t(q.name.size()), scratch_, add(plain));
      }
      if (dotted.fast_patterns) {
        DotPrefixed dot;
        const std::string_view name = dot(q.name);
        dotted.fast_patterns->Scan(reinterpret_cast<const uint8_t*>(name.data()),
                                   uint32_t(name.size()), scratch_, add(dotted));
      }
    }
    for (uint32_t r : dns.always) AddCandidate(r);
    if (candidates_.empty()) continue;
    std::sort(candidates_.begin(), candidates_.end());
    MatchInput in = MatchInput::OfPacket(p, &flow);
    in.dns = &m;
    EvaluateTx(in);
  }
}

void Detector::InspectTls(const packet::Packet& p, const FlowContext& flow) {
  if (flow.tls_handshake == nullptr) return;
  const app::TlsHandshake& hs = *flow.tls_handshake;
  for (app::TlsStage e : flow.tls_events) {
    const DetectionPlan::TxStagePlan& stage = plan_.tls_stage(e);
    if (stage.rule_count == 0) continue;
    ++stats_.transactions;
    NewCandidates();
    auto scan = [&](const DetectionPlan::TxScanSet& set, std::string_view buffer) {
      if (!set.fast_patterns || buffer.empty()) return;
      set.fast_patterns->Scan(reinterpret_cast<const uint8_t*>(buffer.data()),
                              uint32_t(buffer.size()), scratch_, [&](uint32_t id) {
                                for (uint32_t r : set.rules_of_pattern[id]) AddCandidate(r);
                              });
    };
    scan(stage.by_buffer[kTlsSniBuffer - 1], hs.sni);
    if (stage.by_buffer[kTlsSniDotBuffer - 1].fast_patterns) {
      DotPrefixed dot;
      scan(stage.by_buffer[kTlsSniDotBuffer - 1], dot(hs.sni));
    }
    for (const std::string& cert : hs.certs) scan(stage.by_buffer[kTlsCertsBuffer - 1], cert);
    scan(stage.by_buffer[kJa3HashBuffer - 1], hs.ja3_hash);
    scan(stage.by_buffer[kJa3sHashBuffer - 1], hs.ja3s_hash);
    if (hs.cert_decoded) {
      scan(stage.by_buffer[kTlsCertSubjectBuffer - 1], hs.cert_subject);
      scan(stage.by_buffer[kTlsCertIssuerBuffer - 1], hs.cert_issuer);
      scan(stage.by_buffer[kTlsCertSerialBuffer - 1], hs.cert_serial);
      scan(stage.by_buffer[kTlsCertFingerprintBuffer - 1], hs.cert_fingerprint);
    }
    for (uint32_t r : stage.always) AddCandidate(r);
    if (candidates_.empty()) continue;
    std::sort(candidates_.begin(), candidates_.end());
    // The stage's direction: the ClientHello travels to the server, the certificate back.
    FlowContext tls_flow = flow;
    tls_flow.to_server = e == app::TlsStage::kClientHello;
    MatchInput in = MatchInput::OfPacket(p, &tls_flow);
    in.tls = &hs;
    EvaluateTx(in);
  }
}

void Detector::EvaluateTx(const MatchInput& in) {
  for (uint32_t r : candidates_) {
    ++stats_.tx_candidates;
    const CompiledRule& cr = plan_.rule(r);
    // Header, flow, flowbits and packet tests, then every literal in its buffer, as the packet
    // rules' conditions and literal filter do before the full matcher.
    if (!MatchPacketConditions(cr, in)) {
      ++stats_.condition_rejects;
      continue;
    }
    if (!LiteralsPresent(cr, in)) {
      ++stats_.tx_literal_rejects;
      continue;
    }
    CountWalk(r);
    CountFullMatch(r, 2);
    const bool matched = MatchRule(cr, in);
    CountFullMatchResult(r, matched);
    if (matched) RecordTxMatch(r, in);
  }
}

// Keep in step with the match bookkeeping of Evaluate. A transaction rule matches once per
// transaction (its stage happens once), so a packet completing two transactions may report it
// twice.
void Detector::RecordTxMatch(uint32_t r, const MatchInput& in) {
  const CompiledRule& cr = plan_.rule(r);
  ++stats_.matches;
  if (!cr.flowbits.commands.empty()) ApplyAll(cr.flowbits, in.flow->bits);
  FilterVerdict v = filter_->OnMatch(r, *in.packet, CaptureTimeNs(*in.packet),
                                     in.flow != nullptr ? in.flow->flow_id : 0);
  if (!v.matched) {
    ++stats_.filtered;
    return;
  }
  matched_.push_back({.rule = r,
                      .in_stream = true,
                      .alert = v.alert && !cr.flowbits.noalert,
                      .action = v.action.value_or(cr.rule.action)});
}

}  // namespace vigil::detect

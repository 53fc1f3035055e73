#include "detect/detector.h"

#include <algorithm>
#include <map>

#include "detect/content_match.h"

namespace vigil::detect {
namespace {

using rules::Protocol;

bool RuleInGroup(const rules::Rule& r, GroupKind g) {
  switch (g) {
    case GroupKind::kTcp:
      return r.AppliesToTransport(Protocol::kTcp);
    case GroupKind::kUdp:
      return r.AppliesToTransport(Protocol::kUdp);
    case GroupKind::kIcmp:
      return r.AppliesToTransport(Protocol::kIcmp);
    case GroupKind::kOtherIp:
    case GroupKind::kCount:
      break;
  }
  return r.protocol == Protocol::kIp;
}

GroupKind GroupOf(const packet::Packet& p) {
  if (p.has_tcp) return GroupKind::kTcp;
  if (p.has_udp) return GroupKind::kUdp;
  if (p.has_icmp) return GroupKind::kIcmp;
  return GroupKind::kOtherIp;
}

// The content that drives the fast-pattern scan, or null when the rule has no positive content.
const rules::ContentOption* ChooseFastPattern(const std::vector<const rules::ContentOption*>& cs) {
  const rules::ContentOption* best = nullptr;
  for (const rules::ContentOption* c : cs) {
    if (c->negated || !c->buffer.empty()) continue;
    if (c->fast_pattern) return c;
    if (!best || c->pattern.size() > best->pattern.size()) best = c;
  }
  return best;
}

bool MatchDirection(const rules::Rule& r, const packet::Packet& p, bool reversed) {
  const base::IpAddress& src = reversed ? p.dst_ip : p.src_ip;
  const base::IpAddress& dst = reversed ? p.src_ip : p.dst_ip;
  if (!r.src_addr.Matches(src) || !r.dst_addr.Matches(dst)) return false;
  if (p.has_tcp || p.has_udp) {
    uint16_t sport = reversed ? p.dst_port : p.src_port;
    uint16_t dport = reversed ? p.src_port : p.dst_port;
    if (!r.src_port.Matches(sport) || !r.dst_port.Matches(dport)) return false;
  }
  return true;
}

}  // namespace

bool MatchHeader(const rules::Rule& r, const packet::Packet& p) {
  if (p.ip_version == 0 || !RuleInGroup(r, GroupOf(p))) return false;
  if (MatchDirection(r, p, false)) return true;
  return r.bidirectional && MatchDirection(r, p, true);
}

bool MatchRule(const CompiledRule& cr, const packet::Packet& p) {
  if (!MatchHeader(cr.rule, p)) return false;
  return MatchContents(cr.contents, p.payload, p.payload_len);
}

base::Result<std::unique_ptr<const DetectionPlan>> DetectionPlan::Build(
    std::vector<rules::Rule> rules, const rules::ClassificationTable& classifications) {
  std::unique_ptr<DetectionPlan> plan(new DetectionPlan());
  plan->rules_.reserve(rules.size());
  for (rules::Rule& r : rules) {
    if (!r.enabled) continue;
    CompiledRule& cr = plan->rules_.emplace_back();
    cr.rule = std::move(r);
    if (!cr.rule.classtype.empty()) {
      if (const rules::Classification* c = classifications.Lookup(cr.rule.classtype)) {
        cr.class_description = c->description;
        cr.priority = c->priority;
      } else {
        cr.class_description = cr.rule.classtype;
      }
    }
    if (cr.rule.priority) cr.priority = *cr.rule.priority;
  }
  // Pointers into each rule are taken only once rules_ has stopped moving.
  for (CompiledRule& cr : plan->rules_) {
    for (const rules::Option& o : cr.rule.options) {
      if (const auto* c = std::get_if<rules::ContentOption>(&o)) cr.contents.push_back(c);
    }
  }

  // Rules with no positive content wait on their addresses when a side's list can be indexed.
  std::vector<bool> address_indexed(plan->rules_.size(), false);
  for (uint32_t i = 0; i < plan->rules_.size(); ++i) {
    CompiledRule& cr = plan->rules_[i];
    for (size_t g = 0; g < size_t(GroupKind::kCount); ++g) {
      if (RuleInGroup(cr.rule, GroupKind(g))) cr.group_mask |= uint8_t(1u << g);
    }
    if (ChooseFastPattern(cr.contents)) continue;
    const rules::Rule& r = cr.rule;
    if (plan->by_src_.Add(r.src_addr, i)) {
      if (r.bidirectional) (void)plan->by_dst_.Add(r.src_addr, i);
      address_indexed[i] = true;
    } else if (plan->by_dst_.Add(r.dst_addr, i)) {
      if (r.bidirectional) (void)plan->by_src_.Add(r.dst_addr, i);
      address_indexed[i] = true;
    }
  }

  for (size_t g = 0; g < size_t(GroupKind::kCount); ++g) {
    Group& group = plan->groups_[g];
    std::map<std::pair<std::string, bool>, uint32_t> literal_ids;
    std::vector<Literal> literals;
    for (uint32_t i = 0; i < plan->rules_.size(); ++i) {
      const CompiledRule& cr = plan->rules_[i];
      if (!RuleInGroup(cr.rule, GroupKind(g))) continue;
      const rules::ContentOption* fp = ChooseFastPattern(cr.contents);
      if (!fp) {
        if (!address_indexed[i]) group.always.push_back(i);
        continue;
      }
      auto [it, inserted] =
          literal_ids.try_emplace({fp->pattern, fp->nocase}, uint32_t(literals.size()));
      if (inserted) {
        literals.push_back({fp->pattern, fp->nocase, it->second});
        group.rules_of_pattern.emplace_back();
      }
      group.rules_of_pattern[it->second].push_back(i);
    }
    if (!literals.empty()) {
      auto db = LiteralDatabase::Build(literals);
      if (!db) return db.error();
      group.fast_patterns = std::move(*db);
    }
  }
  return std::unique_ptr<const DetectionPlan>(std::move(plan));
}

base::Result<std::unique_ptr<Detector>> Detector::Create(const DetectionPlan& plan) {
  std::unique_ptr<Detector> d(new Detector(plan));
  for (size_t g = 0; g < size_t(GroupKind::kCount); ++g) {
    if (const auto& db = plan.group(GroupKind(g)).fast_patterns) {
      if (auto s = d->scratch_.Prepare(*db); !s) return s.error();
    }
  }
  d->seen_stamp_.assign(plan.rule_count(), 0);
  return d;
}

void Detector::Inspect(const packet::Packet& p, std::vector<Alert>& alerts) {
  if (p.ip_version == 0) return;
  ++stats_.packets;
  GroupKind kind = GroupOf(p);
  const DetectionPlan::Group& group = plan_.group(kind);
  if (++stamp_ == 0) {  // wrapped: forget every old stamp
    std::fill(seen_stamp_.begin(), seen_stamp_.end(), 0);
    stamp_ = 1;
  }
  candidates_.clear();
  if (group.fast_patterns && p.payload_len > 0) {
    ++stats_.packets_scanned;
    group.fast_patterns->Scan(p.payload, p.payload_len, scratch_, [&](uint32_t id) {
      for (uint32_t r : group.rules_of_pattern[id]) AddCandidate(r);
    });
  }
  size_t before = candidates_.size();
  auto in_group = [&](uint32_t r) {
    if (plan_.rule(r).group_mask & (1u << size_t(kind))) AddCandidate(r);
  };
  if (!plan_.by_src().empty()) plan_.by_src().Lookup(p.src_ip, in_group);
  if (!plan_.by_dst().empty()) plan_.by_dst().Lookup(p.dst_ip, in_group);
  stats_.address_candidates += candidates_.size() - before;
  candidates_.insert(candidates_.end(), group.always.begin(), group.always.end());
  if (candidates_.empty()) return;
  ++stats_.packets_with_candidates;
  std::sort(candidates_.begin(), candidates_.end());

  size_t first = alerts.size();
  bool passed = false;
  for (uint32_t r : candidates_) {
    ++stats_.candidates;
    const CompiledRule& cr = plan_.rule(r);
    if (!MatchRule(cr, p)) continue;
    ++stats_.matches;
    rules::Action a = cr.rule.action;
    if (a == rules::Action::kPass) passed = true;
    bool drop = a != rules::Action::kAlert && a != rules::Action::kLog && a != rules::Action::kPass;
    if (a != rules::Action::kPass && a != rules::Action::kSdrop) alerts.push_back({&cr, drop});
  }
  // A matching pass rule lets the packet through unreported (Suricata's precedence: pass first).
  if (passed) alerts.resize(first);
  stats_.alerts += alerts.size() - first;
}

}  // namespace vigil::detect

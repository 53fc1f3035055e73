// AddressIndex: the rules whose address list names a given IP address, found with one hash
// lookup per prefix length present instead of walking every rule's list.
//
// IP-reputation rulesets (ET Open's ciarmy, compromised, drop, dshield, tor lists) are hundreds
// of rules whose only condition is a list of thousands of addresses. Evaluated rule by rule they
// dominate the cost of every packet (Snort 3 spends 93% of its time there with ET Open); indexed,
// a packet costs a handful of lookups.
//
//   AddressIndex index;
//   index.Add(rule.src_addr, rule_id);   // false when the list cannot be indexed (any, !list)
//   index.Lookup(packet.src_ip, [&](uint32_t id) { candidates.push_back(id); });
//
// Lookup reports a superset: every rule with a positive member containing the address (a rule
// may be reported more than once when several of its members contain it). Negated members are
// not indexed, so a candidate still needs its full header check.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "base/ip_address.h"
#include "rules/rule.h"

namespace vigil::detect {

class AddressIndex {
 public:
  // Indexes `expr` for rule `id`: a CIDR, or a list with at least one non-negated member. Returns
  // false, indexing nothing, for `any`, a negated expression, or a list of only negated members.
  bool Add(const rules::AddressExpr& expr, uint32_t id);

  // Calls on_rule(id) for every indexed rule with a member containing `ip`.
  template <class F>
  void Lookup(const base::IpAddress& ip, F&& on_rule) const;

  [[nodiscard]] size_t entries() const { return entries_; }
  [[nodiscard]] bool empty() const { return entries_ == 0; }

 private:
  struct Key {
    uint64_t hi = 0;
    uint64_t lo = 0;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      uint64_t x = k.hi * 0x9e3779b97f4a7c15ULL ^ k.lo;
      x ^= x >> 29;
      x *= 0xbf58476d1ce4e5b9ULL;
      return size_t(x ^ (x >> 32));
    }
  };
  // All prefixes of one length and family.
  struct Level {
    int prefix_len;
    std::unordered_map<Key, std::vector<uint32_t>, KeyHash> rules;
  };

  static Key Masked(const base::IpAddress& ip, int prefix_len);
  void Insert(const base::IpAddress& network, int prefix_len, uint32_t id);

  std::vector<Level> v4_;  // one per prefix length in use
  std::vector<Level> v6_;
  size_t entries_ = 0;
};

template <class F>
void AddressIndex::Lookup(const base::IpAddress& ip, F&& on_rule) const {
  const std::vector<Level>& levels = ip.is_v4() ? v4_ : v6_;
  for (const Level& level : levels) {
    auto it = level.rules.find(Masked(ip, level.prefix_len));
    if (it == level.rules.end()) continue;
    for (uint32_t id : it->second) on_rule(id);
  }
}

}  // namespace vigil::detect

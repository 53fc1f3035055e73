// Flowbits: the named boolean flags a flow carries from one packet to the next (Snort 2.9 / Snort 3
// / Suricata `flowbits:` keyword), compiled to integer ids so that run-time work is on integers.
//
//   // Build side, once per plan: every name and group of every rule gets a dense id first.
//   auto registry = detect::FlowbitRegistry::Build(rules_in_plan_order);
//   auto fb = detect::CompileRule(rule, *registry);          // RuleFlowbits: tests + commands
//   // Run side, per candidate rule:
//   if (!detect::TestAll(*fb, flow.bits)) return false;      // isset / isnotset: pure checks
//   ... every other option matched ...
//   detect::ApplyAll(*fb, flow.bits);                        // set / setx / unset / toggle / reset
//   // then EventFilter::OnMatch (thresholds.h), whose verdict already folds noalert in
//
// Commands (Snort 2.9.3+ README.flowbits, Snort 3 ips_flowbits.cc, Suricata flow-keywords.rst):
//   set,a[&b][,group]     sets the bits; with a group, the bits become members of the group.
//   setx,a[&b],group      clears every member of the group, then sets the bits (Snort 2);
//                         without a group (Snort rejects it, our parser accepts it) it is set.
//   unset,a[&b]           clears the bits;  unset,all,group  clears every member of the group.
//   toggle,a[&b]          flips each bit;   toggle,all,group flips every member of the group.
//   reset                 clears every bit of the flow.
//   isset,a               a is set;  a&b: all are set;  a|b: at least one is set;
//                         isset,all,group / isset,any,group: all / some members of the group set.
//   isnotset,X            the negation of isset,X with the same X (Snort's definition:
//                         isnotset,a|b is "neither set", isnotset,a&b is "not both set").
//                         Suricata evaluates isnotset,a|b as "some is not set"; its documentation
//                         defines '|' for isset only, so Snort's definition is followed.
//   noalert               the rule never alerts (a query, IsNoalert; nothing to evaluate).
// Group membership is static, as in Snort: the union, over all rules of the plan, of the names
// given with that group. `all` / `any` are group forms only when a group is given and the command
// is unset / toggle / isset / isnotset; otherwise they are ordinary names. A group given with
// unset / toggle / isset / isnotset and explicit names (Snort rejects it, our parser accepts it)
// only adds the names to the group.
//
// When they run. Tests are pure, so the matcher may evaluate them anywhere in the option walk
// (cheapest: first). Commands run only after the whole rule matched (Snort 3 defers "setter"
// options to the end of the option tree; Suricata runs flowbits as post-match actions), so a
// rule's own tests see the flow as it was before that rule, and rules evaluated after it on the
// same packet see its changes (Suricata sorts rules that set a bit before rules that test it,
// detect-engine-sigorder.c, so that a setter and a checker matching one packet chain). Thresholds
// do not hold commands back (thresholds.h). A rule with only `flowbits:set,x` and
// `flowbits:noalert` (plus its detection options) is the classic "setter" rule: it records that a
// first packet was seen, and a second rule with `flowbits:isset,x` alerts on the later packet.
//
// No flow. Test(op, nullptr) is false for isset AND isnotset, and Apply(op, nullptr) does nothing:
// Snort 2 (sp_flowbits.c: no flowbits data -> no match), Snort 3 (no bitop -> NO_MATCH) and
// Suricata (detect-flowbits.c: `if (p->flow == NULL) return 0;` in DetectFlowbitMatchIsnotset)
// all fail every flowbits test on a packet without a flow. A tracked flow that has set nothing yet
// must therefore be given an empty FlowBits, not nullptr (an empty FlowBits allocates nothing).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "rules/options.h"
#include "rules/rule.h"

namespace vigil::detect {

// Assigns dense ids to the flowbit names and group names of a plan, and records group membership.
class FlowbitRegistry {
 public:
  // Bit ids are below this (Snort 2 and 3 keep flowbit ids in 16 bits, too); registering more
  // distinct names fails. It also bounds a flow's overflow bitset to kMaxBits / 8 = 8 KiB.
  static constexpr uint32_t kMaxBits = 1u << 16;

  // Every flowbits option of every rule, in rule and option order; ids follow first use.
  // Fails (naming the rule) past kMaxBits distinct names, or on a null rule pointer.
  [[nodiscard]] static base::Result<FlowbitRegistry> Build(
      const std::vector<const rules::Rule*>& rules_in_plan_order);

  // Registers one option's names and its group membership; idempotent.
  [[nodiscard]] base::Status Add(const rules::FlowbitsOption& option);

  [[nodiscard]] std::optional<uint32_t> FindBit(std::string_view name) const;
  [[nodiscard]] std::optional<uint32_t> FindGroup(std::string_view name) const;
  [[nodiscard]] const std::string& BitName(uint32_t id) const { return bit_names_[id]; }
  // Sorted, without duplicates.
  [[nodiscard]] const std::vector<uint32_t>& GroupMembers(uint32_t group) const {
    return group_members_[group];
  }
  [[nodiscard]] uint32_t bit_count() const { return uint32_t(bit_names_.size()); }
  [[nodiscard]] uint32_t group_count() const { return uint32_t(group_members_.size()); }

 private:
  base::Result<uint32_t> BitId(const std::string& name);
  uint32_t GroupId(const std::string& name);

  std::unordered_map<std::string, uint32_t> bits_;
  std::unordered_map<std::string, uint32_t> groups_;
  std::vector<std::string> bit_names_;
  std::vector<std::vector<uint32_t>> group_members_;
};

// One flowbits option with names resolved to ids.
struct FlowbitOp {
  using Command = rules::FlowbitsOption::Command;
  enum class Eval : uint8_t { kAll, kAny };  // tests: every bit / at least one bit

  Command command = Command::kSet;
  Eval eval = Eval::kAll;
  // The bits the command reads or writes: the named bits, or for the group forms (`all,group`,
  // `any,group`) the group's members. Empty for reset and noalert.
  std::vector<uint32_t> bits;
  // setx only: the group's members, cleared before `bits` are set.
  std::vector<uint32_t> clear_first;

  friend bool operator==(const FlowbitOp&, const FlowbitOp&) = default;
};

// The flowbits a flow has set. Ids below FlowbitRegistry::kMaxBits.
//
// Memory: up to kInlineCapacity bits live inline (no allocation; the common flow sets 0-2). The
// next distinct bit moves all of them to an overflow bitset of (highest id set / 64 + 1) 64-bit
// words, grown as higher ids are set; so a flow costs sizeof(FlowBits) = 32 bytes plus at most
// kMaxBits / 8 = 8 KiB, in practice (registry size / 8) bytes. Once spilled, the flow keeps the
// bitset until Clear(). A Set of an id at or past kMaxBits (never produced by a registry) is
// refused, changes nothing, and is counted in refused().
//
// Copying copies the bits (and allocates a bitset when the source has one); moving steals the
// bitset and leaves the source empty.
class FlowBits {
 public:
  static constexpr uint32_t kInlineCapacity = 6;

  FlowBits() = default;
  FlowBits(const FlowBits& other);
  FlowBits& operator=(const FlowBits& other);
  FlowBits(FlowBits&& other) noexcept;
  FlowBits& operator=(FlowBits&& other) noexcept;
  ~FlowBits() = default;

  [[nodiscard]] bool IsSet(uint32_t id) const;
  // False when refused (id >= kMaxBits).
  bool Set(uint32_t id);
  void Unset(uint32_t id);
  void Toggle(uint32_t id);
  // Clears every bit and frees the overflow bitset.
  void Clear();

  [[nodiscard]] uint32_t Count() const;
  [[nodiscard]] bool empty() const { return Count() == 0; }
  // The bits set, ascending.
  [[nodiscard]] std::vector<uint32_t> Ids() const;
  // True when the bits live in the overflow bitset.
  [[nodiscard]] bool spilled() const { return words_ != 0; }
  // Bytes allocated outside the object (the overflow bitset).
  [[nodiscard]] size_t heap_bytes() const { return size_t(words_) * sizeof(uint64_t); }
  // Sets refused past the cap since construction (Clear keeps the count).
  [[nodiscard]] uint32_t refused() const { return refused_; }

  // Same bits set (the representation may differ).
  friend bool operator==(const FlowBits& a, const FlowBits& b) { return a.Ids() == b.Ids(); }

 private:
  void Spill(uint32_t id_to_fit);
  void Grow(uint32_t id_to_fit);

  uint16_t inline_[kInlineCapacity] = {};
  uint8_t inline_count_ = 0;
  uint32_t words_ = 0;  // overflow bitset size in 64-bit words; 0 = inline mode
  uint32_t refused_ = 0;
  std::unique_ptr<uint64_t[]> overflow_;
};

// Resolves `option` against `registry`, registering its names first (so a registry need not have
// seen the option). The group members copied into a setx / group op are those known now: build
// the registry from every rule of the plan (FlowbitRegistry::Build) before compiling.
[[nodiscard]] base::Result<FlowbitOp> Compile(const rules::FlowbitsOption& option,
                                              FlowbitRegistry& registry);

[[nodiscard]] inline bool IsTest(const FlowbitOp& op) {
  return op.command == FlowbitOp::Command::kIsset || op.command == FlowbitOp::Command::kIsnotset;
}
[[nodiscard]] inline bool IsNoalert(const FlowbitOp& op) {
  return op.command == FlowbitOp::Command::kNoalert;
}
// set / setx / unset / toggle / reset.
[[nodiscard]] inline bool IsCommand(const FlowbitOp& op) { return !IsTest(op) && !IsNoalert(op); }

// isset / isnotset (see the file comment; false when `bits` is null). True for the other
// commands, which test nothing.
[[nodiscard]] bool Test(const FlowbitOp& op, const FlowBits* bits);
// set / setx / unset / toggle / reset; nothing for tests and noalert, or when `bits` is null.
void Apply(const FlowbitOp& op, FlowBits* bits);

// All flowbits work of one rule, split by when it runs.
struct RuleFlowbits {
  std::vector<FlowbitOp> tests;     // isset / isnotset, rule order
  std::vector<FlowbitOp> commands;  // set / setx / unset / toggle / reset, rule order
  // flowbits:noalert, or Suricata's `noalert;` keyword: the rule matches (its commands and
  // action still apply) but never alerts.
  bool noalert = false;

  [[nodiscard]] bool empty() const { return tests.empty() && commands.empty() && !noalert; }
  friend bool operator==(const RuleFlowbits&, const RuleFlowbits&) = default;
};

[[nodiscard]] base::Result<RuleFlowbits> CompileRule(const rules::Rule& rule,
                                                     FlowbitRegistry& registry);

// Every test holds (true when there is none, even with null `bits`).
[[nodiscard]] bool TestAll(const RuleFlowbits& rule, const FlowBits* bits);
// Runs the commands in rule order.
void ApplyAll(const RuleFlowbits& rule, FlowBits* bits);

}  // namespace vigil::detect

#include "detect/flowbits.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>
#include <variant>

namespace vigil::detect {

namespace {

using Command = rules::FlowbitsOption::Command;

// `unset,all,group`, `toggle,all,group`, `isset,all|any,group`, `isnotset,all|any,group`: the
// command applies to the group's members rather than to a bit named "all" / "any".
bool IsGroupForm(const rules::FlowbitsOption& o) {
  if (o.group.empty() || o.names.size() != 1) return false;
  const std::string& n = o.names[0];
  switch (o.command) {
    case Command::kUnset:
    case Command::kToggle:
      return n == "all";
    case Command::kIsset:
    case Command::kIsnotset:
      return n == "all" || n == "any";
    default:
      return false;
  }
}

std::string RuleName(const rules::Rule& r) {
  return std::to_string(r.gid) + ":" + std::to_string(r.sid);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// FlowbitRegistry

base::Result<FlowbitRegistry> FlowbitRegistry::Build(
    const std::vector<const rules::Rule*>& rules_in_plan_order) {
  FlowbitRegistry registry;
  for (size_t i = 0; i < rules_in_plan_order.size(); ++i) {
    const rules::Rule* rule = rules_in_plan_order[i];
    if (rule == nullptr) {
      return base::MakeError("flowbits: rule " + std::to_string(i) + " of the plan is null");
    }
    for (const rules::Option& option : rule->options) {
      const auto* fb = std::get_if<rules::FlowbitsOption>(&option);
      if (fb == nullptr) continue;
      if (auto st = registry.Add(*fb); !st) {
        base::Error e = st.error();
        e.message = "rule " + RuleName(*rule) + ": " + e.message;
        e.file = rule->file;
        e.line = rule->line;
        return e;
      }
    }
  }
  return registry;
}

base::Result<uint32_t> FlowbitRegistry::BitId(const std::string& name) {
  if (auto it = bits_.find(name); it != bits_.end()) return it->second;
  if (bit_names_.size() >= kMaxBits) {
    return base::MakeError("more than " + std::to_string(kMaxBits) +
                           " distinct flowbit names (at '" + name + "')");
  }
  uint32_t id = uint32_t(bit_names_.size());
  bits_.emplace(name, id);
  bit_names_.push_back(name);
  return id;
}

uint32_t FlowbitRegistry::GroupId(const std::string& name) {
  if (auto it = groups_.find(name); it != groups_.end()) return it->second;
  uint32_t id = uint32_t(group_members_.size());
  groups_.emplace(name, id);
  group_members_.emplace_back();
  return id;
}

base::Status FlowbitRegistry::Add(const rules::FlowbitsOption& option) {
  if (option.command == Command::kNoalert || option.command == Command::kReset) return {};
  if (IsGroupForm(option)) {
    (void)GroupId(option.group);
    return {};
  }
  std::vector<uint32_t>* members = nullptr;
  if (!option.group.empty()) members = &group_members_[GroupId(option.group)];
  for (const std::string& name : option.names) {
    auto id = BitId(name);
    if (!id) return id.error();
    if (members != nullptr) {
      auto at = std::lower_bound(members->begin(), members->end(), *id);
      if (at == members->end() || *at != *id) members->insert(at, *id);
    }
  }
  return {};
}

std::optional<uint32_t> FlowbitRegistry::FindBit(std::string_view name) const {
  auto it = bits_.find(std::string(name));
  if (it == bits_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint32_t> FlowbitRegistry::FindGroup(std::string_view name) const {
  auto it = groups_.find(std::string(name));
  if (it == groups_.end()) return std::nullopt;
  return it->second;
}

// ---------------------------------------------------------------------------------------------
// FlowBits

FlowBits::FlowBits(const FlowBits& other)
    : inline_count_(other.inline_count_), words_(other.words_), refused_(other.refused_) {
  std::memcpy(inline_, other.inline_, sizeof(inline_));
  if (words_ != 0) {
    overflow_ = std::make_unique<uint64_t[]>(words_);
    std::memcpy(overflow_.get(), other.overflow_.get(), words_ * sizeof(uint64_t));
  }
}

FlowBits& FlowBits::operator=(const FlowBits& other) {
  if (this != &other) {
    FlowBits copy(other);
    *this = std::move(copy);
  }
  return *this;
}

FlowBits::FlowBits(FlowBits&& other) noexcept
    : inline_count_(other.inline_count_),
      words_(other.words_),
      refused_(other.refused_),
      overflow_(std::move(other.overflow_)) {
  std::memcpy(inline_, other.inline_, sizeof(inline_));
  other.inline_count_ = 0;
  other.words_ = 0;
  other.refused_ = 0;
}

FlowBits& FlowBits::operator=(FlowBits&& other) noexcept {
  if (this != &other) {
    std::memcpy(inline_, other.inline_, sizeof(inline_));
    inline_count_ = other.inline_count_;
    words_ = other.words_;
    refused_ = other.refused_;
    overflow_ = std::move(other.overflow_);
    other.inline_count_ = 0;
    other.words_ = 0;
    other.refused_ = 0;
  }
  return *this;
}

bool FlowBits::IsSet(uint32_t id) const {
  if (words_ != 0) {
    uint32_t w = id / 64;
    return w < words_ && ((overflow_[w] >> (id % 64)) & 1) != 0;
  }
  for (uint8_t i = 0; i < inline_count_; ++i) {
    if (inline_[i] == id) return true;
  }
  return false;
}

bool FlowBits::Set(uint32_t id) {
  if (id >= FlowbitRegistry::kMaxBits) {
    ++refused_;
    return false;
  }
  if (words_ == 0) {
    for (uint8_t i = 0; i < inline_count_; ++i) {
      if (inline_[i] == id) return true;
    }
    if (inline_count_ < kInlineCapacity) {
      inline_[inline_count_++] = uint16_t(id);
      return true;
    }
    Spill(id);
  } else if (id / 64 >= words_) {
    Grow(id);
  }
  overflow_[id / 64] |= uint64_t{1} << (id % 64);
  return true;
}

void FlowBits::Unset(uint32_t id) {
  if (words_ != 0) {
    if (id / 64 < words_) overflow_[id / 64] &= ~(uint64_t{1} << (id % 64));
    return;
  }
  for (uint8_t i = 0; i < inline_count_; ++i) {
    if (inline_[i] == id) {
      inline_[i] = inline_[--inline_count_];
      return;
    }
  }
}

void FlowBits::Toggle(uint32_t id) {
  if (IsSet(id)) {
    Unset(id);
  } else {
    (void)Set(id);
  }
}

void FlowBits::Clear() {
  inline_count_ = 0;
  words_ = 0;
  overflow_.reset();
}

uint32_t FlowBits::Count() const {
  if (words_ == 0) return inline_count_;
  uint32_t n = 0;
  for (uint32_t w = 0; w < words_; ++w) n += uint32_t(std::popcount(overflow_[w]));
  return n;
}

std::vector<uint32_t> FlowBits::Ids() const {
  std::vector<uint32_t> out;
  if (words_ == 0) {
    out.assign(inline_, inline_ + inline_count_);
    std::sort(out.begin(), out.end());
    return out;
  }
  for (uint32_t w = 0; w < words_; ++w) {
    for (uint64_t bits = overflow_[w]; bits != 0; bits &= bits - 1) {
      out.push_back(w * 64 + uint32_t(std::countr_zero(bits)));
    }
  }
  return out;
}

void FlowBits::Spill(uint32_t id_to_fit) {
  uint32_t highest = id_to_fit;
  for (uint8_t i = 0; i < inline_count_; ++i) highest = std::max<uint32_t>(highest, inline_[i]);
  words_ = highest / 64 + 1;
  overflow_ = std::make_unique<uint64_t[]>(words_);  // value-initialized: all zero
  for (uint8_t i = 0; i < inline_count_; ++i) {
    overflow_[inline_[i] / 64] |= uint64_t{1} << (inline_[i] % 64);
  }
  inline_count_ = 0;
}

void FlowBits::Grow(uint32_t id_to_fit) {
  uint32_t words = id_to_fit / 64 + 1;
  auto grown = std::make_unique<uint64_t[]>(words);
  std::memcpy(grown.get(), overflow_.get(), words_ * sizeof(uint64_t));
  overflow_ = std::move(grown);
  words_ = words;
}

// ---------------------------------------------------------------------------------------------
// Compiling and evaluating

base::Result<FlowbitOp> Compile(const rules::FlowbitsOption& option, FlowbitRegistry& registry) {
  if (auto st = registry.Add(option); !st) return st.error();
  FlowbitOp op;
  op.command = option.command;
  if (option.command == Command::kNoalert || option.command == Command::kReset) return op;
  if (IsGroupForm(option)) {
    op.bits = registry.GroupMembers(*registry.FindGroup(option.group));
    op.eval = option.names[0] == "any" ? FlowbitOp::Eval::kAny : FlowbitOp::Eval::kAll;
    return op;
  }
  op.eval = option.join == rules::FlowbitsOption::Join::kOr ? FlowbitOp::Eval::kAny
                                                            : FlowbitOp::Eval::kAll;
  op.bits.reserve(option.names.size());
  for (const std::string& name : option.names) op.bits.push_back(*registry.FindBit(name));
  if (option.command == Command::kSetx && !option.group.empty()) {
    op.clear_first = registry.GroupMembers(*registry.FindGroup(option.group));
  }
  return op;
}

bool Test(const FlowbitOp& op, const FlowBits* bits) {
  if (!IsTest(op)) return true;
  if (bits == nullptr) return false;
  bool holds;
  if (op.eval == FlowbitOp::Eval::kAll) {
    holds = std::all_of(op.bits.begin(), op.bits.end(),
                        [bits](uint32_t id) { return bits->IsSet(id); });
  } else {
    holds = std::any_of(op.bits.begin(), op.bits.end(),
                        [bits](uint32_t id) { return bits->IsSet(id); });
  }
  return op.command == Command::kIsset ? holds : !holds;
}

void Apply(const FlowbitOp& op, FlowBits* bits) {
  if (bits == nullptr) return;
  switch (op.command) {
    case Command::kSetx:
      for (uint32_t id : op.clear_first) bits->Unset(id);
      [[fallthrough]];
    case Command::kSet:
      for (uint32_t id : op.bits) (void)bits->Set(id);
      return;
    case Command::kUnset:
      for (uint32_t id : op.bits) bits->Unset(id);
      return;
    case Command::kToggle:
      for (uint32_t id : op.bits) bits->Toggle(id);
      return;
    case Command::kReset:
      bits->Clear();
      return;
    case Command::kIsset:
    case Command::kIsnotset:
    case Command::kNoalert:
      return;
  }
}

base::Result<RuleFlowbits> CompileRule(const rules::Rule& rule, FlowbitRegistry& registry) {
  RuleFlowbits out;
  for (const rules::Option& option : rule.options) {
    if (const auto* flag = std::get_if<rules::FlagOption>(&option)) {
      if (flag->kind == rules::FlagOption::Kind::kNoalert) out.noalert = true;
      continue;
    }
    const auto* fb = std::get_if<rules::FlowbitsOption>(&option);
    if (fb == nullptr) continue;
    auto op = Compile(*fb, registry);
    if (!op) {
      base::Error e = op.error();
      e.message = "rule " + RuleName(rule) + ": " + e.message;
      e.file = rule.file;
      e.line = rule.line;
      return e;
    }
    if (IsNoalert(*op)) {
      out.noalert = true;
    } else if (IsTest(*op)) {
      out.tests.push_back(std::move(*op));
    } else {
      out.commands.push_back(std::move(*op));
    }
  }
  return out;
}

bool TestAll(const RuleFlowbits& rule, const FlowBits* bits) {
  for (const FlowbitOp& op : rule.tests) {
    if (!Test(op, bits)) return false;
  }
  return true;
}

void ApplyAll(const RuleFlowbits& rule, FlowBits* bits) {
  for (const FlowbitOp& op : rule.commands) Apply(op, bits);
}

}  // namespace vigil::detect

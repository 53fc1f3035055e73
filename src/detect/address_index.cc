#include "detect/address_index.h"

#include <algorithm>
#include <cstring>

namespace vigil::detect {

AddressIndex::Key AddressIndex::Masked(const base::IpAddress& ip, int prefix_len) {
  uint64_t hi = 0;
  uint64_t lo = 0;
  for (int i = 0; i < 8; ++i) hi = hi << 8 | ip.bytes[i];
  for (int i = 8; i < 16; ++i) lo = lo << 8 | ip.bytes[i];
  int bits = ip.is_v4() ? 32 : 128;
  // Zero every bit past the prefix; IPv4 keeps its 32 bits at the top of `hi`.
  int keep = std::clamp(prefix_len, 0, bits);
  auto mask_word = [](uint64_t w, int keep_bits) {
    if (keep_bits >= 64) return w;
    if (keep_bits <= 0) return uint64_t(0);
    return w & ~(~uint64_t(0) >> keep_bits);
  };
  return {mask_word(hi, keep), mask_word(lo, keep - 64)};
}

void AddressIndex::Insert(const base::IpAddress& network, int prefix_len, uint32_t id) {
  std::vector<Level>& levels = network.is_v4() ? v4_ : v6_;
  auto it = std::find_if(levels.begin(), levels.end(),
                         [&](const Level& l) { return l.prefix_len == prefix_len; });
  if (it == levels.end()) {
    levels.push_back({prefix_len, {}});
    it = levels.end() - 1;
  }
  std::vector<uint32_t>& ids = it->rules[Masked(network, prefix_len)];
  if (ids.empty() || ids.back() != id) {
    ids.push_back(id);
    ++entries_;
  }
}

bool AddressIndex::Add(const rules::AddressExpr& expr, uint32_t id) {
  using Kind = rules::AddressExpr::Kind;
  if (expr.negated) return false;
  if (expr.kind == Kind::kCidr) {
    Insert(expr.network, expr.prefix_len, id);
    return true;
  }
  if (expr.kind != Kind::kList) return false;
  bool any_positive = std::any_of(expr.members.begin(), expr.members.end(), [](const auto& m) {
    return !m.negated && m.kind == Kind::kCidr;
  });
  // A positive `any` member, or a non-CIDR positive member, makes the list match too much to index.
  bool unindexable = std::any_of(expr.members.begin(), expr.members.end(),
                                 [](const auto& m) { return !m.negated && m.kind != Kind::kCidr; });
  if (!any_positive || unindexable) return false;
  for (const rules::AddressExpr& m : expr.members) {
    if (!m.negated) Insert(m.network, m.prefix_len, id);
  }
  return true;
}

}  // namespace vigil::detect

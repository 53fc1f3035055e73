#include "detect/address_index.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "rules/variables.h"

namespace vigil::detect {
namespace {

rules::AddressExpr Addr(const std::string& text) {
  rules::Variables vars;
  auto e = rules::ParseAddress(text, vars);
  EXPECT_TRUE(e) << text;
  return e ? *e : rules::AddressExpr{};
}

std::set<uint32_t> Find(const AddressIndex& index, const char* ip) {
  std::set<uint32_t> ids;
  index.Lookup(*base::IpAddress::Parse(ip), [&](uint32_t id) { ids.insert(id); });
  return ids;
}

TEST(AddressIndexTest, IndexesPositiveMembersOnly) {
  AddressIndex index;
  EXPECT_TRUE(index.Add(Addr("[1.2.3.4,10.0.0.0/8,!10.1.0.0/16]"), 1));
  EXPECT_TRUE(index.Add(Addr("10.0.0.0/8"), 2));
  EXPECT_TRUE(index.Add(Addr("2001:db8::/32"), 3));
  EXPECT_FALSE(index.Add(Addr("any"), 4));
  EXPECT_FALSE(index.Add(Addr("!1.2.3.4"), 5));
  EXPECT_FALSE(index.Add(Addr("[!1.2.3.4,!5.6.7.8]"), 6));
  EXPECT_EQ(Find(index, "1.2.3.4"), (std::set<uint32_t>{1}));
  EXPECT_EQ(Find(index, "10.9.9.9"), (std::set<uint32_t>{1, 2}));
  // 10.1.x is excluded by rule 1's negated member, but the index reports a superset: the full
  // header check removes it.
  EXPECT_EQ(Find(index, "10.1.0.1"), (std::set<uint32_t>{1, 2}));
  EXPECT_EQ(Find(index, "11.0.0.1"), (std::set<uint32_t>{}));
  EXPECT_EQ(Find(index, "2001:db8:1::5"), (std::set<uint32_t>{3}));
  EXPECT_EQ(Find(index, "2001:db9::5"), (std::set<uint32_t>{}));
}

// Random lists of CIDRs, random addresses: the index must report every rule whose list matches,
// and nothing that has no positive member containing the address.
TEST(AddressIndexTest, NeverMissesAMatchingRule) {
  std::mt19937 rng(99);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto random_v4 = [&] {
    // A small address space so that lists and probes overlap often.
    return fmt::format("10.{}.{}.{}", pick(0, 3), pick(0, 3), pick(0, 255));
  };
  std::vector<rules::AddressExpr> exprs;
  std::vector<bool> indexed;
  AddressIndex index;
  for (uint32_t id = 0; id < 300; ++id) {
    std::string text = "[";
    int n = pick(1, 6);
    for (int k = 0; k < n; ++k) {
      if (k) text += ",";
      if (pick(0, 4) == 0) text += "!";
      text += random_v4() + "/" + std::to_string(pick(8, 32));
    }
    text += "]";
    exprs.push_back(Addr(text));
    indexed.push_back(index.Add(exprs.back(), id));
  }
  int matched = 0;
  for (int i = 0; i < 5000; ++i) {
    auto ip = *base::IpAddress::Parse(random_v4());
    std::set<uint32_t> found;
    index.Lookup(ip, [&](uint32_t id) { found.insert(id); });
    for (uint32_t id = 0; id < exprs.size(); ++id) {
      if (!indexed[id]) {  // only negated members: the detector keeps such rules elsewhere
        EXPECT_FALSE(found.count(id));
        continue;
      }
      if (exprs[id].Matches(ip)) {
        ++matched;
        ASSERT_TRUE(found.count(id)) << "rule " << id << " missed for " << ip.ToString();
      }
      bool positive_contains = std::any_of(
          exprs[id].members.begin(), exprs[id].members.end(),
          [&](const auto& m) { return !m.negated && ip.InPrefix(m.network, m.prefix_len); });
      if (exprs[id].kind == rules::AddressExpr::Kind::kCidr) {
        positive_contains = ip.InPrefix(exprs[id].network, exprs[id].prefix_len);
      }
      EXPECT_EQ(found.count(id) == 1, positive_contains) << "rule " << id;
    }
  }
  EXPECT_GT(matched, 1000);
}

}  // namespace
}  // namespace vigil::detect

#include "detect/flowbits.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "rules/parser.h"

namespace vigil::detect {
namespace {

rules::Rule ParseOrDie(const std::string& options, uint32_t sid = 1) {
  static const rules::Variables vars;
  auto r = rules::ParseRule(
      "alert tcp any any -> any any (" + options + " sid:" + std::to_string(sid) + ";)", vars);
  EXPECT_TRUE(r.has_value()) << options << ": " << (r ? "" : r.error().ToString());
  return r ? *r : rules::Rule{};
}

const rules::FlowbitsOption& OnlyFlowbits(const rules::Rule& r) {
  for (const rules::Option& o : r.options) {
    if (const auto* f = std::get_if<rules::FlowbitsOption>(&o)) return *f;
  }
  ADD_FAILURE() << "no flowbits option";
  static rules::FlowbitsOption none;
  return none;
}

std::vector<std::string> Names(const FlowBits& bits, const FlowbitRegistry& registry) {
  std::vector<std::string> out;
  for (uint32_t id : bits.Ids()) out.push_back(registry.BitName(id));
  std::sort(out.begin(), out.end());
  return out;
}

// One flowbits option evaluated on a flow holding `initial`: what Test answers and which bits are
// set after Apply. `plan` are the other rules' options (they define group membership).
struct OpCase {
  std::vector<std::string> plan;
  std::string op;
  std::vector<std::string> initial;
  bool test;                       // Test(op, &bits); true for commands, which test nothing
  std::vector<std::string> after;  // sorted names after Apply(op, &bits)
};

TEST(Flowbits, EveryCommandOnATable) {
  const std::vector<std::string> g1 = {"flowbits:set,b&c,g1;"};  // group g1 = {b, c}
  const std::vector<OpCase> cases = {
      // isset / isnotset on one name
      {{}, "flowbits:isset,a;", {"a"}, true, {"a"}},
      {{}, "flowbits:isset,a;", {}, false, {}},
      {{}, "flowbits:isset,a;", {"b"}, false, {"b"}},
      {{}, "flowbits:isnotset,a;", {}, true, {}},
      {{}, "flowbits:isnotset,a;", {"a"}, false, {"a"}},
      // & (all) and | (any)
      {{}, "flowbits:isset,a&b;", {"a", "b"}, true, {"a", "b"}},
      {{}, "flowbits:isset,a&b;", {"a"}, false, {"a"}},
      {{}, "flowbits:isset,a|b;", {"b"}, true, {"b"}},
      {{}, "flowbits:isset,a|b;", {"c"}, false, {"c"}},
      {{}, "flowbits:isset,a|b|c;", {"c"}, true, {"c"}},
      // isnotset is the negation of isset over the same expression (Snort)
      {{}, "flowbits:isnotset,a|b;", {}, true, {}},
      {{}, "flowbits:isnotset,a|b;", {"b"}, false, {"b"}},
      {{}, "flowbits:isnotset,a&b;", {"a"}, true, {"a"}},
      {{}, "flowbits:isnotset,a&b;", {"a", "b"}, false, {"a", "b"}},
      // group forms
      {g1, "flowbits:isset,all,g1;", {"b", "c"}, true, {"b", "c"}},
      {g1, "flowbits:isset,all,g1;", {"b", "x"}, false, {"b", "x"}},
      {g1, "flowbits:isset,any,g1;", {"c"}, true, {"c"}},
      {g1, "flowbits:isset,any,g1;", {"a"}, false, {"a"}},
      {g1, "flowbits:isnotset,any,g1;", {"a"}, true, {"a"}},
      {g1, "flowbits:isnotset,any,g1;", {"b"}, false, {"b"}},
      {g1, "flowbits:isnotset,all,g1;", {"b"}, true, {"b"}},
      {g1, "flowbits:isnotset,all,g1;", {"b", "c"}, false, {"b", "c"}},
      // a group nobody adds to: all is vacuously true, any false (Snort)
      {{}, "flowbits:isset,all,gx;", {"a"}, true, {"a"}},
      {{}, "flowbits:isset,any,gx;", {"a"}, false, {"a"}},
      // set
      {{}, "flowbits:set,a;", {}, true, {"a"}},
      {{}, "flowbits:set,a;", {"a"}, true, {"a"}},
      {{}, "flowbits:set,a&b;", {"c"}, true, {"a", "b", "c"}},
      {{}, "flowbits:set,a,g9;", {"c"}, true, {"a", "c"}},
      // without a group "all" is an ordinary name
      {{}, "flowbits:set,all;", {}, true, {"all"}},
      // setx clears the other members of its group (b, c, and d itself), then sets
      {g1, "flowbits:setx,d,g1;", {"a", "b", "c"}, true, {"a", "d"}},
      {g1, "flowbits:setx,b,g1;", {"b", "c"}, true, {"b"}},
      {g1, "flowbits:setx,d&e,g1;", {"c"}, true, {"d", "e"}},
      // setx without a group is set
      {{}, "flowbits:setx,d;", {"a"}, true, {"a", "d"}},
      // unset
      {{}, "flowbits:unset,a;", {"a", "b"}, true, {"b"}},
      {{}, "flowbits:unset,a&b;", {"a", "b", "c"}, true, {"c"}},
      {{}, "flowbits:unset,a;", {"b"}, true, {"b"}},
      {g1, "flowbits:unset,all,g1;", {"a", "b", "c"}, true, {"a"}},
      // toggle
      {{}, "flowbits:toggle,a;", {}, true, {"a"}},
      {{}, "flowbits:toggle,a;", {"a"}, true, {}},
      {{}, "flowbits:toggle,a&b;", {"a"}, true, {"b"}},
      {g1, "flowbits:toggle,all,g1;", {"a", "b"}, true, {"a", "c"}},
      // reset, noalert
      {{}, "flowbits:reset;", {"a", "b"}, true, {}},
      {{}, "flowbits:noalert;", {"a"}, true, {"a"}},
  };
  for (const OpCase& c : cases) {
    SCOPED_TRACE(c.op + " on {" + [&] {
      std::string s;
      for (const auto& n : c.initial) s += n + " ";
      return s;
    }() + "}");
    std::vector<rules::Rule> rules;
    for (size_t i = 0; i < c.plan.size(); ++i)
      rules.push_back(ParseOrDie(c.plan[i], uint32_t(i) + 1));
    rules.push_back(ParseOrDie(c.op, 100));
    std::vector<const rules::Rule*> ptrs;
    for (const auto& r : rules) ptrs.push_back(&r);
    auto registry = FlowbitRegistry::Build(ptrs);
    ASSERT_TRUE(registry.has_value()) << registry.error().ToString();
    auto op = Compile(OnlyFlowbits(rules.back()), *registry);
    ASSERT_TRUE(op.has_value()) << op.error().ToString();
    FlowBits bits;
    for (const std::string& n : c.initial) {
      auto id = registry->FindBit(n);
      if (!id) {
        // A name only this case's flow holds: register it like a rule that sets it would.
        rules::FlowbitsOption extra;
        extra.names = {n};
        ASSERT_TRUE(registry->Add(extra));
        id = registry->FindBit(n);
      }
      ASSERT_TRUE(bits.Set(*id));
    }
    EXPECT_EQ(detect::Test(*op, &bits), c.test);
    Apply(*op, &bits);
    EXPECT_EQ(Names(bits, *registry), c.after);
  }
}

TEST(Flowbits, WithoutAFlowEveryTestFailsAndCommandsDoNothing) {
  FlowbitRegistry registry;
  for (const char* text : {"flowbits:isset,a;", "flowbits:isnotset,a;", "flowbits:isset,a|b;",
                           "flowbits:isnotset,a&b;", "flowbits:isnotset,any,g;"}) {
    auto op = Compile(OnlyFlowbits(ParseOrDie(text)), registry);
    ASSERT_TRUE(op.has_value());
    EXPECT_FALSE(detect::Test(*op, nullptr)) << text;
  }
  for (const char* text : {"flowbits:set,a;", "flowbits:toggle,a;", "flowbits:reset;"}) {
    auto op = Compile(OnlyFlowbits(ParseOrDie(text)), registry);
    ASSERT_TRUE(op.has_value());
    EXPECT_TRUE(detect::Test(*op, nullptr)) << text << " tests nothing";
    Apply(*op, nullptr);  // no crash, nothing to change
  }
  // A rule without flowbits tests passes on a packet without a flow.
  RuleFlowbits none;
  EXPECT_TRUE(TestAll(none, nullptr));
}

TEST(Flowbits, RegistryAssignsDenseIdsAndStaticGroups) {
  rules::Rule r1 = ParseOrDie("flowbits:isset,x; flowbits:set,y&z,grp;", 1);
  rules::Rule r2 = ParseOrDie("flowbits:setx,w,grp; flowbits:set,y,other;", 2);
  rules::Rule r3 = ParseOrDie("flowbits:isset,any,empty; flowbits:noalert;", 3);
  auto registry = FlowbitRegistry::Build({&r1, &r2, &r3});
  ASSERT_TRUE(registry.has_value());
  EXPECT_EQ(registry->bit_count(), 4u);
  EXPECT_EQ(registry->FindBit("x"), 0u);
  EXPECT_EQ(registry->FindBit("y"), 1u);
  EXPECT_EQ(registry->FindBit("z"), 2u);
  EXPECT_EQ(registry->FindBit("w"), 3u);
  EXPECT_EQ(registry->FindBit("any"), std::nullopt);  // a group form, not a name
  EXPECT_EQ(registry->FindBit("nope"), std::nullopt);
  EXPECT_EQ(registry->group_count(), 3u);
  EXPECT_EQ(registry->GroupMembers(*registry->FindGroup("grp")), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(registry->GroupMembers(*registry->FindGroup("other")), (std::vector<uint32_t>{1}));
  EXPECT_TRUE(registry->GroupMembers(*registry->FindGroup("empty")).empty());
  EXPECT_EQ(registry->BitName(3), "w");

  // setx compiled after the whole plan clears every member, also those added by later rules.
  auto setx = Compile(OnlyFlowbits(ParseOrDie("flowbits:setx,w,grp;")), *registry);
  ASSERT_TRUE(setx.has_value());
  EXPECT_EQ(setx->clear_first, (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(setx->bits, (std::vector<uint32_t>{3}));

  auto null_rule = FlowbitRegistry::Build({&r1, nullptr});
  EXPECT_FALSE(null_rule.has_value());
}

TEST(Flowbits, RegistryRefusesNamesPastTheCap) {
  FlowbitRegistry registry;
  rules::FlowbitsOption o;
  o.command = rules::FlowbitsOption::Command::kSet;
  for (uint32_t i = 0; i < FlowbitRegistry::kMaxBits; ++i) {
    o.names = {"b" + std::to_string(i)};
    ASSERT_TRUE(registry.Add(o));
  }
  EXPECT_EQ(registry.bit_count(), FlowbitRegistry::kMaxBits);
  o.names = {"b0"};  // known names still resolve
  EXPECT_TRUE(registry.Add(o));
  o.names = {"one_too_many"};
  auto st = registry.Add(o);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("more than 65536"), std::string::npos) << st.error().message;
  EXPECT_FALSE(Compile(o, registry).has_value());
}

TEST(Flowbits, CompileRuleSplitsTestsCommandsAndNoalert) {
  rules::Rule setter = ParseOrDie(
      "content:\"USER\"; flowbits:isnotset,seen; flowbits:set,seen; flowbits:noalert;", 1);
  rules::Rule checker =
      ParseOrDie("content:\"PASS\"; flowbits:isset,seen; flowbits:unset,seen;", 2);
  rules::Rule suricata_noalert = ParseOrDie("flowbits:set,other; noalert;", 3);
  rules::Rule plain = ParseOrDie("content:\"x\";", 4);
  auto registry = FlowbitRegistry::Build({&setter, &checker, &suricata_noalert, &plain});
  ASSERT_TRUE(registry.has_value());
  auto s = CompileRule(setter, *registry);
  auto c = CompileRule(checker, *registry);
  auto n = CompileRule(suricata_noalert, *registry);
  auto p = CompileRule(plain, *registry);
  ASSERT_TRUE(s && c && n && p);
  EXPECT_EQ(s->tests.size(), 1u);
  EXPECT_EQ(s->commands.size(), 1u);
  EXPECT_TRUE(s->noalert);
  EXPECT_EQ(c->tests.size(), 1u);
  EXPECT_EQ(c->commands.size(), 1u);
  EXPECT_FALSE(c->noalert);
  EXPECT_TRUE(n->noalert);
  EXPECT_TRUE(p->empty());

  // The classic setter / checker pair over one flow: packet 1 matches the setter (no alert),
  // packet 2 the checker (alert), packet 3 the checker again (bit was unset: no match), packet 4
  // the setter again (the bit is not set, so its isnotset passes).
  FlowBits flow;
  auto run = [&](const RuleFlowbits& rule) {
    if (!TestAll(rule, &flow)) return std::string("no match");
    ApplyAll(rule, &flow);
    return std::string(rule.noalert ? "match, no alert" : "alert");
  };
  EXPECT_EQ(run(*c), "no match");
  EXPECT_EQ(run(*s), "match, no alert");
  EXPECT_EQ(run(*s), "no match");  // isnotset,seen fails now
  EXPECT_EQ(run(*c), "alert");
  EXPECT_EQ(run(*c), "no match");
  EXPECT_EQ(run(*s), "match, no alert");
}

TEST(FlowBits, InlineThenOverflowAndBack) {
  FlowBits bits;
  EXPECT_TRUE(bits.empty());
  EXPECT_EQ(sizeof(FlowBits), 32u);
  for (uint32_t id : {7u, 3u, 500u, 9u, 4u, 1000u}) ASSERT_TRUE(bits.Set(id));
  EXPECT_FALSE(bits.spilled());
  EXPECT_EQ(bits.heap_bytes(), 0u);
  EXPECT_EQ(bits.Count(), FlowBits::kInlineCapacity);
  ASSERT_TRUE(bits.Set(3));  // already set: still inline
  EXPECT_FALSE(bits.spilled());
  ASSERT_TRUE(bits.Set(2));  // the 7th distinct bit spills to a bitset sized for id 1000
  EXPECT_TRUE(bits.spilled());
  EXPECT_EQ(bits.heap_bytes(), (1000 / 64 + 1) * 8u);
  EXPECT_EQ(bits.Ids(), (std::vector<uint32_t>{2, 3, 4, 7, 9, 500, 1000}));
  ASSERT_TRUE(bits.Set(4000));  // grows
  EXPECT_EQ(bits.heap_bytes(), (4000 / 64 + 1) * 8u);
  bits.Unset(500);
  bits.Unset(60000);  // beyond the bitset: nothing to do
  bits.Toggle(9);
  bits.Toggle(10);
  EXPECT_EQ(bits.Ids(), (std::vector<uint32_t>{2, 3, 4, 7, 10, 1000, 4000}));
  EXPECT_TRUE(bits.IsSet(4000));
  EXPECT_FALSE(bits.IsSet(4001));
  EXPECT_FALSE(bits.IsSet(65535));
  bits.Clear();
  EXPECT_TRUE(bits.empty());
  EXPECT_FALSE(bits.spilled());
  EXPECT_EQ(bits.heap_bytes(), 0u);
  ASSERT_TRUE(bits.Set(1));
  EXPECT_FALSE(bits.spilled());
}

TEST(FlowBits, CapRefusesAndCounts) {
  FlowBits bits;
  EXPECT_TRUE(bits.Set(FlowbitRegistry::kMaxBits - 1));
  EXPECT_FALSE(bits.Set(FlowbitRegistry::kMaxBits));
  EXPECT_FALSE(bits.Set(UINT32_MAX));
  EXPECT_EQ(bits.refused(), 2u);
  EXPECT_EQ(bits.Ids(), (std::vector<uint32_t>{FlowbitRegistry::kMaxBits - 1}));
  // The largest possible bitset: kMaxBits / 8 bytes.
  for (uint32_t id = 0; id < 8; ++id) ASSERT_TRUE(bits.Set(id));
  EXPECT_EQ(bits.heap_bytes(), FlowbitRegistry::kMaxBits / 8);
  bits.Toggle(FlowbitRegistry::kMaxBits);  // refused too
  EXPECT_EQ(bits.refused(), 3u);
}

TEST(FlowBits, CopyIsDeepMoveSteals) {
  FlowBits inline_bits;
  ASSERT_TRUE(inline_bits.Set(5));
  FlowBits spilled;
  for (uint32_t id = 0; id < 10; ++id) ASSERT_TRUE(spilled.Set(id * 3));
  ASSERT_TRUE(spilled.spilled());

  FlowBits copy = spilled;
  EXPECT_EQ(copy, spilled);
  copy.Unset(0);
  EXPECT_TRUE(spilled.IsSet(0));  // independent
  EXPECT_NE(copy, spilled);

  FlowBits assigned;
  ASSERT_TRUE(assigned.Set(1));
  assigned = spilled;
  EXPECT_EQ(assigned, spilled);
  assigned = inline_bits;
  EXPECT_EQ(assigned.Ids(), (std::vector<uint32_t>{5}));
  EXPECT_FALSE(assigned.spilled());

  FlowBits moved = std::move(spilled);
  EXPECT_EQ(moved.Count(), 10u);
  EXPECT_TRUE(spilled.empty());  // NOLINT: moved-from is defined: empty
  EXPECT_FALSE(spilled.spilled());
  FlowBits target;
  target = std::move(moved);
  EXPECT_EQ(target.Count(), 10u);
  EXPECT_TRUE(moved.empty());  // NOLINT

  // Equality compares the bits, not the representation.
  FlowBits a, b;
  for (uint32_t id = 0; id < 8; ++id) ASSERT_TRUE(a.Set(id));
  for (uint32_t id = 2; id < 8; ++id) a.Unset(id);
  ASSERT_TRUE(b.Set(1));
  ASSERT_TRUE(b.Set(0));
  EXPECT_TRUE(a.spilled());
  EXPECT_FALSE(b.spilled());
  EXPECT_EQ(a, b);
}

// FlowBits against std::set over random operations, in a small id range (mostly inline) and a
// wide one (spills and grows).
TEST(FlowBits, MatchesAStdSetOnRandomOperations) {
  std::mt19937 rng(12345);
  for (uint32_t range : {8u, 200u, 70000u}) {
    for (int round = 0; round < 200; ++round) {
      FlowBits bits;
      std::set<uint32_t> model;
      for (int step = 0; step < 60; ++step) {
        uint32_t id = std::uniform_int_distribution<uint32_t>(0, range - 1)(rng);
        switch (std::uniform_int_distribution<int>(0, 9)(rng)) {
          case 0:
          case 1:
          case 2:
          case 3:
            if (id < FlowbitRegistry::kMaxBits) model.insert(id);
            EXPECT_EQ(bits.Set(id), id < FlowbitRegistry::kMaxBits);
            break;
          case 4:
          case 5:
            model.erase(id);
            bits.Unset(id);
            break;
          case 6:
          case 7:
            if (id < FlowbitRegistry::kMaxBits && !model.erase(id)) model.insert(id);
            bits.Toggle(id);
            break;
          case 8: {
            FlowBits copy = bits;  // round trip through copy and move
            bits = std::move(copy);
            break;
          }
          default:
            if (std::uniform_int_distribution<int>(0, 9)(rng) == 0) {
              model.clear();
              bits.Clear();
            }
            break;
        }
        ASSERT_EQ(bits.IsSet(id), model.count(id) == 1);
        ASSERT_EQ(bits.Count(), model.size());
      }
      ASSERT_EQ(bits.Ids(), std::vector<uint32_t>(model.begin(), model.end()));
    }
  }
}

}  // namespace
}  // namespace vigil::detect

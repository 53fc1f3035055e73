#include "rules/classification.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "rules/rule_file.h"

namespace vigil::rules {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Tests run from the repository root.
const fs::path kShipped = "etc/classification.config";

TEST(ClassificationTable, DefaultIsTheShippedFile) {
  ASSERT_TRUE(fs::exists(kShipped)) << "run from the repository root";
  EXPECT_EQ(ClassificationTable::DefaultText(), ReadAll(kShipped))
      << "re-run cmake: the built-in table is generated from " << kShipped;
  auto shipped = ClassificationTable::LoadFile(kShipped.string());
  ASSERT_TRUE(shipped) << shipped.error().ToString();
  EXPECT_EQ(*shipped, ClassificationTable::Default());
  EXPECT_EQ(ClassificationTable::Default().size(), 47u);
}

TEST(ClassificationTable, StandardEntries) {
  const ClassificationTable& t = ClassificationTable::Default();
  const Classification expected[] = {
      {"attempted-admin", "Attempted Administrator Privilege Gain", 1},
      {"trojan-activity", "A Network Trojan was detected", 1},
      {"bad-unknown", "Potentially Bad Traffic", 2},
      {"not-suspicious", "Not Suspicious Traffic", 3},
      {"tcp-connection", "A TCP connection was detected", 4},
      {"web-application-attack", "Web Application Attack", 1},
      {"command-and-control", "Malware Command and Control Activity Detected", 1},
  };
  for (const Classification& c : expected) {
    const Classification* found = t.Lookup(c.name);
    ASSERT_NE(found, nullptr) << c.name;
    EXPECT_EQ(*found, c);
  }
  EXPECT_EQ(t.Lookup("no-such-class"), nullptr);
}

TEST(ClassificationTable, EveryClasstypeOfTheRulesetsIsKnown) {
  const fs::path rulesets = "../shared/rules";
  if (!fs::is_directory(rulesets)) GTEST_SKIP() << "rulesets not found in " << rulesets;
  std::set<std::string> unknown;
  size_t rules = 0;
  Variables vars;
  for (const auto& set : fs::directory_iterator(rulesets)) {
    if (!set.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(set.path())) {
      if (f.path().extension() != ".rules") continue;
      // classtype is read from every line, commented-out rules included.
      std::ifstream in(f.path());
      std::string line;
      while (std::getline(in, line)) {
        size_t at = line.find("classtype:");
        if (at == std::string::npos) continue;
        size_t end = line.find(';', at);
        std::string name = line.substr(at + 10, end - at - 10);
        name.erase(0, name.find_first_not_of(' '));
        ++rules;
        if (ClassificationTable::Default().Lookup(name) == nullptr) unknown.insert(name);
      }
    }
  }
  EXPECT_GT(rules, 0u);
  std::string names;
  for (const std::string& n : unknown) names += n + " ";
  EXPECT_TRUE(unknown.empty()) << "classtypes missing from etc/classification.config: " << names;
}

TEST(ClassificationTable, ParseForms) {
  auto t = ClassificationTable::Parse(
      "# comment\n"
      "\n"
      "config classification: a,Alpha,1\n"
      "  config   classification :b , Beta, with a comma , 2 \n"
      "config classification: a,Alpha again,3\n",
      "c.config");
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(t->size(), 2u);
  EXPECT_EQ(*t->Lookup("a"), (Classification{"a", "Alpha again", 3}));  // the later one wins
  EXPECT_EQ(*t->Lookup("b"), (Classification{"b", "Beta, with a comma", 2}));
  EXPECT_EQ(t->entries()[0].name, "a");
}

TEST(ClassificationTable, ErrorsNameFileLineAndColumn) {
  const std::tuple<const char*, const char*, const char*> cases[] = {
      {"config classification: a,A,x\n", "c.config:1:28:", "priority must be a positive integer"},
      {"config classification: a,A,0\n", "c.config:1:28:", "priority must be a positive integer"},
      {"\nconfig classification: a,A\n", "c.config:2:24:", "three comma-separated fields"},
      {"config classification: a b,A,1\n", "c.config:1:24:", "classification name"},
      {"config classification: a, ,1\n", "c.config:1:27:", "empty classification description"},
      {"config reference: x http://\n", "c.config:1:8:", "expected 'classification'"},
      {"classification: a,A,1\n", "c.config:1:1:", "expected 'config classification:"},
      {"config classification a,A,1\n", "c.config:1:23:", "expected ':'"},
  };
  for (const auto& [text, where, message] : cases) {
    auto t = ClassificationTable::Parse(text, "c.config");
    ASSERT_FALSE(t) << text;
    std::string s = t.error().ToString();
    EXPECT_TRUE(s.starts_with(where)) << text << ": " << s;
    EXPECT_NE(s.find(message), std::string::npos) << text << ": " << s;
  }
  auto missing = ClassificationTable::LoadFile("/nonexistent/classification.config");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().file, "/nonexistent/classification.config");
}

TEST(RulePriority, ExplicitThenClasstypeThenNone) {
  Variables vars;
  auto rules = ParseRuleText(
      "alert tcp any any -> any any (classtype:trojan-activity; sid:1;)\n"
      "alert tcp any any -> any any (classtype:trojan-activity; priority:4; sid:2;)\n"
      "alert tcp any any -> any any (sid:3;)\n"
      "alert tcp any any -> any any (classtype:made-up; sid:4;)\n",
      vars);
  ASSERT_TRUE(rules) << rules.error().ToString();
  const ClassificationTable& t = ClassificationTable::Default();
  EXPECT_EQ(RulePriority((*rules)[0], t), 1);
  EXPECT_EQ(RulePriority((*rules)[1], t), 4);
  EXPECT_EQ(RulePriority((*rules)[2], t), std::nullopt);
  EXPECT_EQ(RulePriority((*rules)[3], t), std::nullopt);
}

}  // namespace
}  // namespace vigil::rules

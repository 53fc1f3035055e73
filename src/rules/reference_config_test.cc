#include "rules/reference_config.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil::rules {
namespace {

TEST(ReferenceTable, DefaultHasTheStandardSystems) {
  const ReferenceTable& t = ReferenceTable::Default();
  for (const char* s :
       {"bugtraq", "cve", "nessus", "arachnids", "mcafee", "osvdb", "msb", "url", "et"}) {
    EXPECT_NE(t.Lookup(s), nullptr) << s;
  }
  EXPECT_EQ(t.Url(Reference{"cve", "2021-44228"}),
            "http://cve.mitre.org/cgi-bin/cvename.cgi?name=2021-44228");
  EXPECT_EQ(t.Url(Reference{"URL", "example.com/a"}), "http://example.com/a");  // any case
  EXPECT_EQ(t.Url(Reference{"nosuch", "1"}), "");
}

TEST(ReferenceTable, ParsesAndLaterEntriesWin) {
  auto t = ReferenceTable::Parse(
      "# comment\n"
      "\n"
      "config reference: CVE   http://a/\n"
      "  config   reference :cve\thttp://b/  \n"
      "config reference: x-y.z https://c/?id=\n",
      "r.config");
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(t->size(), 2u);
  EXPECT_EQ(t->Lookup("cve")->url_prefix, "http://b/");
  EXPECT_EQ(t->Url(Reference{"x-y.z", "7"}), "https://c/?id=7");
}

TEST(ReferenceTable, ErrorsNameLineAndColumn) {
  struct Case {
    const char* text;
    uint32_t column;
    const char* message;
  };
  const Case cases[] = {
      {"config classification: a http://x/", 8, "expected 'reference' after 'config'"},
      {"reference: a http://x/", 1, "expected 'config reference: system url'"},
      {"config reference a http://x/", 18, "expected ':'"},
      {"config reference: a", 20, "has no URL"},
      {"config reference: a/b http://x/", 19, "reference system must be"},
      {"config reference: a http://x/ extra", 30, "unexpected text after the URL"},
  };
  for (const Case& c : cases) {
    auto t = ReferenceTable::Parse(std::string("# x\n") + c.text, "r.config");
    ASSERT_FALSE(t) << c.text;
    EXPECT_EQ(t.error().file, "r.config");
    EXPECT_EQ(t.error().line, 2u) << c.text;
    EXPECT_EQ(t.error().column, c.column) << c.text << ": " << t.error().message;
    EXPECT_NE(t.error().message.find(c.message), std::string::npos) << t.error().message;
  }
}

TEST(ReferenceTable, MissingFileIsAnError) {
  auto t = ReferenceTable::LoadFile("/nonexistent/reference.config");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().file, "/nonexistent/reference.config");
}

}  // namespace
}  // namespace vigil::rules

#include "rules/variables.h"

#include <gtest/gtest.h>

namespace vigil::rules {
namespace {

base::IpAddress Ip(const char* text) { return *base::IpAddress::Parse(text); }

TEST(Variables, DefaultsCoverEveryVariableTheRulesetsUse) {
  Variables vars;
  // grep -o '\$[A-Z_0-9]*' over ../shared/rules/*/*.rules (header fields only).
  for (const char* name :
       {"HOME_NET", "EXTERNAL_NET", "HTTP_SERVERS", "SMTP_SERVERS", "SQL_SERVERS", "DNS_SERVERS",
        "TELNET_SERVERS", "AIM_SERVERS", "SIP_SERVERS", "SSH_SERVERS", "FTP_SERVERS", "DNP3_SERVER",
        "DNP3_CLIENT", "MODBUS_CLIENT", "MODBUS_SERVER", "ENIP_CLIENT", "ENIP_SERVER",
        "DC_SERVERS"}) {
    EXPECT_NE(vars.FindAddress(name), nullptr) << name;
  }
  for (const char* name :
       {"HTTP_PORTS", "SHELLCODE_PORTS", "ORACLE_PORTS", "SSH_PORTS", "FTP_PORTS", "SIP_PORTS",
        "FILE_DATA_PORTS", "GTP_PORTS", "DNP3_PORTS", "MODBUS_PORTS", "MAIL_PORTS"}) {
    EXPECT_NE(vars.FindPort(name), nullptr) << name;
  }
  EXPECT_TRUE(vars.FindAddress("HOME_NET")->IsAny());
  EXPECT_TRUE(vars.FindAddress("EXTERNAL_NET")->IsAny());
  EXPECT_TRUE(vars.FindAddress("HTTP_SERVERS")->IsAny());  // $HOME_NET
  const PortExpr& http = *vars.FindPort("HTTP_PORTS");
  EXPECT_EQ(http.members.size(), 209u);  // Snort 2.9's list
  for (uint16_t p : {80, 443, 8080, 56712}) EXPECT_TRUE(http.Matches(p)) << p;
  EXPECT_FALSE(http.Matches(22));
  EXPECT_FALSE(vars.FindPort("SHELLCODE_PORTS")->Matches(80));
  EXPECT_TRUE(vars.FindPort("SHELLCODE_PORTS")->Matches(81));
  EXPECT_TRUE(vars.FindPort("ORACLE_PORTS")->Matches(65535));
  EXPECT_FALSE(vars.FindPort("ORACLE_PORTS")->Matches(1023));
  EXPECT_TRUE(vars.FindPort("FILE_DATA_PORTS")->Matches(8080));  // through $HTTP_PORTS
  EXPECT_TRUE(vars.FindPort("FILE_DATA_PORTS")->Matches(143));
  EXPECT_TRUE(vars.FindAddress("AIM_SERVERS")->Matches(Ip("64.12.25.1")));
  EXPECT_EQ(*vars.PortText("SSH_PORTS"), "22");
}

TEST(Variables, EmptyHasNothing) {
  Variables vars = Variables::Empty();
  EXPECT_EQ(vars.FindAddress("HOME_NET"), nullptr);
  EXPECT_TRUE(vars.AddressNames().empty());
  EXPECT_TRUE(vars.PortNames().empty());
}

TEST(Variables, NestedAndNegated) {
  Variables vars;
  ASSERT_TRUE(vars.SetAddress("HOME_NET", "[10.0.0.0/8,192.168.0.0/16]"));
  ASSERT_TRUE(vars.SetAddress("EXTERNAL_NET", "!$HOME_NET"));
  ASSERT_TRUE(vars.SetAddress("LAB", "[$HOME_NET,!10.9.0.0/16]"));
  // A negated variable inside a list excludes, as the text it stands for would:
  // [$EXTERNAL_NET,8.8.8.0/24] is [!$HOME_NET,8.8.8.0/24], i.e. 8.8.8.0/24 minus HOME_NET.
  ASSERT_TRUE(vars.SetAddress("OUTSIDE_OR_LAB", "[$EXTERNAL_NET,8.8.8.0/24]"));
  const AddressExpr& ext = *vars.FindAddress("EXTERNAL_NET");
  EXPECT_FALSE(ext.Matches(Ip("10.1.1.1")));
  EXPECT_TRUE(ext.Matches(Ip("8.8.8.8")));
  const AddressExpr& lab = *vars.FindAddress("LAB");
  EXPECT_TRUE(lab.Matches(Ip("192.168.1.1")));
  EXPECT_FALSE(lab.Matches(Ip("10.9.1.1")));
  const AddressExpr& ool = *vars.FindAddress("OUTSIDE_OR_LAB");
  EXPECT_TRUE(ool.Matches(Ip("8.8.8.8")));
  EXPECT_FALSE(ool.Matches(Ip("9.9.9.9")));
  EXPECT_FALSE(ool.Matches(Ip("10.1.1.1")));

  // A negated variable in a rule expression; negating a negation gives the original back.
  auto not_ext = ParseAddress("!$EXTERNAL_NET", vars);
  ASSERT_TRUE(not_ext);
  EXPECT_TRUE(not_ext->Matches(Ip("10.1.1.1")));
  EXPECT_FALSE(not_ext->Matches(Ip("8.8.8.8")));
  auto mixed = ParseAddress("[$HOME_NET, !$LAB]", vars);
  ASSERT_TRUE(mixed);
  EXPECT_TRUE(mixed->Matches(Ip("10.9.0.1")));
  EXPECT_FALSE(mixed->Matches(Ip("10.8.0.1")));

  ASSERT_TRUE(vars.SetPort("WEB", "[80,443]"));
  ASSERT_TRUE(vars.SetPort("ALL_WEB", "[$WEB,$HTTP_PORTS,8443:8444]"));
  auto p = ParsePort("![$ALL_WEB]", vars);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->Matches(8444));
  EXPECT_TRUE(p->Matches(22));
}

TEST(Variables, RedefinitionReachesDependents) {
  Variables vars;
  ASSERT_TRUE(vars.SetAddress("HOME_NET", "10.0.0.0/8"));
  ASSERT_TRUE(vars.SetAddress("EXTERNAL_NET", "!$HOME_NET"));
  EXPECT_TRUE(vars.FindAddress("HTTP_SERVERS")->Matches(Ip("10.0.0.1")));
  EXPECT_FALSE(vars.FindAddress("HTTP_SERVERS")->Matches(Ip("11.0.0.1")));
  ASSERT_TRUE(vars.SetAddress("HOME_NET", "11.0.0.0/8"));
  EXPECT_TRUE(vars.FindAddress("HTTP_SERVERS")->Matches(Ip("11.0.0.1")));
  EXPECT_TRUE(vars.FindAddress("EXTERNAL_NET")->Matches(Ip("10.0.0.1")));
  // A variable may refer to one defined after it in the map's order.
  ASSERT_TRUE(vars.SetAddress("ZZZ", "12.0.0.0/8"));
  ASSERT_TRUE(vars.SetAddress("HOME_NET", "$ZZZ"));
  EXPECT_TRUE(vars.FindAddress("EXTERNAL_NET")->Matches(Ip("11.0.0.1")));
}

struct BadValue {
  bool port;
  const char* name;
  const char* value;
  uint32_t column;
  const char* message;
};

TEST(Variables, BadValuesFailAndChangeNothing) {
  const BadValue cases[] = {
      {false, "X", "$NOPE", 1, "undefined address variable $NOPE"},
      {false, "X", "[1.1.1.1,$NOPE]", 10, "undefined address variable $NOPE"},
      {false, "X", "$HTTP_PORTS", 1, "$HTTP_PORTS is not a address variable"},
      {true, "X", "$HOME_NET", 1, "$HOME_NET is not a port variable"},
      {false, "X", "1.2.3.4/40", 9, "invalid prefix length '40'"},
      {false, "X", "!any", 1, "'!any' negates 'any'"},
      {false, "X", "[1.1.1.1", 1, "unterminated '[' list"},
      {false, "X", "1.1.1.1]", 8, "unexpected ']'"},
      {false, "X", "", 1, "empty address expression"},
      {false, "X", "$", 1, "'$' must be followed by a variable name"},
      {true, "X", "[80,,81]", 5, "missing port before ','"},
      {true, "X", "80:", 0, ""},  // valid: 80 to 65535 (checked below)
      {true, "X", ":", 1, "port range ':' has no bounds"},
      {true, "X", "-1", 1, "invalid port '-1'"},
      {false, "HOME_NET", "$EXTERNAL_NET", 0, ""},  // set up below, cycle checked there
  };
  for (const BadValue& c : cases) {
    if (c.message[0] == '\0') continue;
    Variables vars;
    auto st = c.port ? vars.SetPort(c.name, c.value) : vars.SetAddress(c.name, c.value);
    ASSERT_FALSE(st) << c.value;
    EXPECT_EQ(st.error().column, c.column) << c.value << ": " << st.error().ToString();
    EXPECT_NE(st.error().message.find(c.message), std::string::npos)
        << c.value << ": " << st.error().message;
    EXPECT_EQ(vars.FindAddress(c.name) != nullptr, std::string(c.name) == "HOME_NET");
    EXPECT_EQ(vars.FindPort(c.name), nullptr);
  }
  Variables vars;
  ASSERT_TRUE(vars.SetPort("X", "80:"));
  EXPECT_EQ(vars.FindPort("X")->lo, 80);
  EXPECT_EQ(vars.FindPort("X")->hi, 65535);
}

TEST(Variables, CyclesAreErrors) {
  Variables vars;
  ASSERT_TRUE(vars.SetAddress("HOME_NET", "10.0.0.0/8"));
  ASSERT_TRUE(vars.SetAddress("EXTERNAL_NET", "!$HOME_NET"));
  auto st = vars.SetAddress("HOME_NET", "[1.1.1.1,$EXTERNAL_NET]");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("cycle"), std::string::npos) << st.error().message;
  EXPECT_EQ(st.error().column, 10u);  // the $EXTERNAL_NET in the new value
  // The failed set left the old value in place.
  EXPECT_EQ(*vars.AddressText("HOME_NET"), "10.0.0.0/8");
  EXPECT_TRUE(vars.FindAddress("EXTERNAL_NET")->Matches(Ip("8.8.8.8")));
  auto self = vars.SetPort("P", "[80,$P]");
  ASSERT_FALSE(self);
  EXPECT_NE(self.error().message.find("cycle"), std::string::npos);
}

TEST(Variables, ARedefinitionThatBreaksADependentFails) {
  Variables vars;
  ASSERT_TRUE(vars.SetAddress("HOME_NET", "10.0.0.0/8"));
  ASSERT_TRUE(vars.SetAddress("EXTERNAL_NET", "!$HOME_NET"));
  auto st = vars.SetAddress("HOME_NET", "any");  // EXTERNAL_NET would become !any
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("$EXTERNAL_NET"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("negates 'any'"), std::string::npos) << st.error().message;
  EXPECT_EQ(*vars.AddressText("HOME_NET"), "10.0.0.0/8");
}

TEST(Variables, InvalidNames) {
  Variables vars;
  EXPECT_FALSE(vars.SetAddress("", "any"));
  EXPECT_FALSE(vars.SetAddress("A-B", "any"));
  EXPECT_FALSE(vars.SetPort("$P", "80"));
  EXPECT_TRUE(vars.SetPort("P_2", "80"));
}

TEST(Variables, DeepNestingIsBounded) {
  std::string deep(10000, '[');
  auto e = ParseAddress(deep, Variables::Empty());
  EXPECT_FALSE(e);
  std::string negations(10000, '!');
  EXPECT_FALSE(ParsePort(negations + "80", Variables::Empty()));
}

}  // namespace
}  // namespace vigil::rules

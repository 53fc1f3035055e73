#include "rules/rule.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "rules/variables.h"

namespace vigil::rules {
namespace {

base::IpAddress Ip(const char* text) { return *base::IpAddress::Parse(text); }

AddressExpr Addr(const char* text) {
  auto e = ParseAddress(text, Variables::Empty());
  EXPECT_TRUE(e) << text << ": " << e.error().ToString();
  return e ? *e : AddressExpr{};
}

PortExpr Port(const char* text) {
  auto e = ParsePort(text, Variables::Empty());
  EXPECT_TRUE(e) << text << ": " << e.error().ToString();
  return e ? *e : PortExpr{};
}

struct AddressCase {
  const char* expr;
  const char* ip;
  bool matches;
};

TEST(AddressExpr, Matches) {
  const AddressCase cases[] = {
      {"any", "1.2.3.4", true},
      {"any", "2001:db8::1", true},
      {"10.0.0.0/8", "10.255.0.1", true},
      {"10.0.0.0/8", "11.0.0.1", false},
      {"10.0.0.0/8", "::ffff:10.0.0.1", false},  // another family never matches a prefix
      {"1.2.3.4", "1.2.3.4", true},
      {"1.2.3.4", "1.2.3.5", false},
      {"0.0.0.0/0", "255.255.255.255", true},
      {"0.0.0.0/0", "::1", false},
      {"10.1.2.3/16", "10.1.200.200", true},  // host bits are ignored
      {"2001:db8::/32", "2001:db8:ffff::1", true},
      {"2001:db8::/32", "2001:db9::1", false},
      {"[10.0.0.0/8,!10.1.0.0/16]", "10.2.0.1", true},
      {"[10.0.0.0/8,!10.1.0.0/16]", "10.1.0.1", false},
      {"[10.0.0.0/8,!10.1.0.0/16]", "192.168.0.1", false},
      {"![1.1.1.1,2.2.2.2]", "1.1.1.1", false},
      {"![1.1.1.1,2.2.2.2]", "2.2.2.2", false},
      {"![1.1.1.1,2.2.2.2]", "3.3.3.3", true},
      {"[!1.1.1.1,!2.2.2.2]", "3.3.3.3", true},  // only negations: everything else matches
      {"[!1.1.1.1,!2.2.2.2]", "2.2.2.2", false},
      {"!10.0.0.0/8", "10.0.0.1", false},
      {"!10.0.0.0/8", "9.0.0.1", true},
      {"[1.1.1.1,[2.2.2.0/24,!2.2.2.2]]", "2.2.2.3", true},
      {"[1.1.1.1,[2.2.2.0/24,!2.2.2.2]]", "2.2.2.2", false},
      {"[1.1.1.1,[2.2.2.0/24,!2.2.2.2]]", "1.1.1.1", true},
      // A nested list joins the outer one (Suricata): its exclusion excludes from the whole list.
      {"[2.0.0.0/8,[2.2.2.0/24,!2.2.2.2]]", "2.2.2.2", false},
      {"[2.0.0.0/8,[2.2.2.0/24,!2.2.2.2]]", "2.3.0.1", true},
      // A negated list is evaluated on its own, then excluded.
      {"![10.0.0.0/8,!10.1.0.0/16]", "10.1.0.1", true},
      {"![10.0.0.0/8,!10.1.0.0/16]", "10.2.0.1", false},
      {"![10.0.0.0/8,!10.1.0.0/16]", "11.0.0.1", true},
      {"[9.0.0.0/8,![10.0.0.0/8,!10.1.0.0/16]]", "10.1.0.1", false},  // not in 9/8
      {"[9.0.0.0/8,10.0.0.0/8,![10.0.0.0/8,!10.1.0.0/16]]", "10.1.0.1", true},
      {"!!1.1.1.1", "1.1.1.1", true},
  };
  for (const AddressCase& c : cases) {
    EXPECT_EQ(Addr(c.expr).Matches(Ip(c.ip)), c.matches) << c.expr << " vs " << c.ip;
  }
}

struct PortCase {
  const char* expr;
  uint16_t port;
  bool matches;
};

TEST(PortExpr, Matches) {
  const PortCase cases[] = {
      {"any", 0, true},
      {"any", 65535, true},
      {"80", 80, true},
      {"80", 81, false},
      {"!80", 80, false},
      {"!80", 8080, true},
      {"1:1024", 1, true},
      {"1:1024", 1024, true},
      {"1:1024", 0, false},
      {"1:1024", 1025, false},
      {":80", 0, true},
      {":80", 81, false},
      {"1024:", 65535, true},
      {"1024:", 1023, false},
      {"[1:100,!50]", 49, true},
      {"[1:100,!50]", 50, false},
      {"[1:100,!50]", 101, false},
      {"![80,443]", 443, false},
      {"![80,443]", 22, true},
      {"[!80]", 81, true},
      {"[!80,!81]", 81, false},
      {"[21,[1000:2000,!1500]]", 1500, false},
      {"[21,[1000:2000,!1500]]", 21, true},
  };
  for (const PortCase& c : cases) {
    EXPECT_EQ(Port(c.expr).Matches(c.port), c.matches) << c.expr << " vs " << c.port;
  }
}

// The flattened ranges ParsePort computes against walking the expression, for every port.
TEST(PortExpr, FlattenedEqualsExpressionOnEveryPort) {
  const char* exprs[] = {
      "any",
      "0",
      "65535",
      "!0",
      "!65535",
      "[0,65535]",
      "[1:100,!50]",
      "![80,443]",
      "[!80,!81]",
      "[21,[1000:2000,!1500]]",
      "![1:100,[200:300,!250]]",
      ":1023",
      "1024:",
      "[80:81,311,383,591,593,901,1220,1414,1741,1830,2301,2381,2809,3037,3128,3702,4343,4848,"
      "5250,6988,7000:7001,7144:7145,7510,7777,7779,8000,8008,8014,8028,8080,8085,8088,8090,8118,"
      "8123,8180:8181,8243,8280,8300,8800,8888,8899,9000,9060,9080,9090:9091,9443,9999,11371,"
      "34443:34444,41080,50002,55555]",
      "[1:65534,!1000:2000,1500]",
      "[!1:65535]"};
  for (const char* text : exprs) {
    PortExpr flat = Port(text);
    ASSERT_TRUE(flat.flattened) << text;
    PortExpr walked = flat;
    walked.flattened = false;
    walked.flat.clear();
    for (uint32_t port = 0; port <= 65535; ++port) {
      ASSERT_EQ(flat.Matches(uint16_t(port)), walked.Matches(uint16_t(port)))
          << text << " at port " << port;
    }
  }
}

// Random nested lists with negations, ranges and open ranges: the flattened ranges against
// walking the expression at every port.
TEST(PortExpr, FlattenedEqualsExpressionOnRandomLists) {
  std::mt19937 rng(7);
  auto port = [&] { return std::to_string(rng() % 8 == 0 ? 65535 - rng() % 3 : rng() % 2000); };
  auto gen = [&](int depth, auto&& self) -> std::string {
    std::string neg = rng() % 4 == 0 ? "!" : "";
    switch (depth > 2 ? rng() % 3 : rng() % 5) {
      case 0:
        return neg + port();
      case 1: {
        std::string a = port(), b = port();
        if (std::stoi(a) > std::stoi(b)) std::swap(a, b);
        return neg + a + ":" + b;
      }
      case 2:
        return neg + (rng() % 2 ? ":" + port() : port() + ":");
      default: {
        std::string list = neg + "[";
        const int n = 1 + int(rng() % 6);
        for (int i = 0; i < n; ++i) list += (i ? "," : "") + self(depth + 1, self);
        return list + "]";
      }
    }
  };
  int compared = 0;
  for (int round = 0; round < 300; ++round) {
    const std::string text = gen(0, gen);
    auto parsed = ParsePort(text, Variables::Empty());
    if (!parsed) continue;  // e.g. a list that negates everything it names
    ++compared;
    PortExpr walked = *parsed;
    walked.flattened = false;
    for (uint32_t p = 0; p <= 65535; ++p) {
      ASSERT_EQ(parsed->Matches(uint16_t(p)), walked.Matches(uint16_t(p)))
          << text << " at port " << p;
    }
  }
  EXPECT_GT(compared, 200);
}

// Copies of a parsed list share its members: a rule header's $HTTP_PORTS is one list, however
// many rules name it. Adding to a copy leaves the others as they were.
TEST(SharedList, CopiesShareUntilOneIsAddedTo) {
  const PortExpr http = Port("[80,8080,8000:8010,!8005]");
  PortExpr copy = http;
  EXPECT_EQ(copy.members.begin(), http.members.begin());
  EXPECT_EQ(copy.flat.begin(), http.flat.begin());
  EXPECT_EQ(copy, http);
  copy.members.push_back(Port("443"));
  EXPECT_NE(copy.members.begin(), http.members.begin());
  ASSERT_EQ(http.members.size(), 4u);
  ASSERT_EQ(copy.members.size(), 5u);
  EXPECT_EQ(copy.members[4].lo, 443);
  EXPECT_NE(copy, http);
  EXPECT_TRUE(http.Matches(8080));
  EXPECT_FALSE(http.Matches(8005));
  EXPECT_FALSE(http.Matches(443));
  // Equal lists that share nothing are equal; empty lists are equal.
  EXPECT_EQ(Port("[1,2]").members, Port("[1,2]").members);
  EXPECT_EQ(SharedList<PortExpr>(), SharedList<PortExpr>(std::vector<PortExpr>{}));
  EXPECT_TRUE(SharedList<PortExpr>().empty());
}

TEST(AddressExpr, IsAny) {
  EXPECT_TRUE(Addr("any").IsAny());
  EXPECT_FALSE(Addr("[any]").IsAny());
  EXPECT_FALSE(Addr("1.2.3.4").IsAny());
  EXPECT_TRUE(Port("any").IsAny());
  EXPECT_FALSE(Port("0:65535").IsAny());
}

TEST(ToText, ExpressionsPrintCanonically) {
  const std::pair<const char*, const char*> addresses[] = {
      {"any", "any"},
      {"10.1.2.3/8", "10.0.0.0/8"},
      {"1.2.3.4/32", "1.2.3.4"},
      {"[ 1.1.1.1 , !2.2.2.0/24 ]", "[1.1.1.1,!2.2.2.0/24]"},
      {"![2001:DB8::1,::/0]", "![2001:db8::1,::/0]"},
      {"[1.1.1.1,[2.2.2.2,[!3.3.3.3]],![4.4.4.4,!5.5.5.5]]",
       "[1.1.1.1,2.2.2.2,!3.3.3.3,![4.4.4.4,!5.5.5.5]]"},
  };
  for (const auto& [in, out] : addresses) EXPECT_EQ(ToText(Addr(in)), out) << in;
  const std::pair<const char*, const char*> ports[] = {
      {"any", "any"},
      {"80", "80"},
      {":80", "0:80"},
      {"1024:", "1024:65535"},
      {"[1:100, !50]", "[1:100,!50]"},
      {"!80:80", "!80"},
  };
  for (const auto& [in, out] : ports) EXPECT_EQ(ToText(Port(in)), out) << in;
}

TEST(AppProtocol, TableIsSortedSoEveryNameIsFound) {
  for (const char* name : {"bittorrent-dht",
                           "dcerpc",
                           "dhcp",
                           "dnp3",
                           "dns",
                           "enip",
                           "ftp",
                           "ftp-data",
                           "http",
                           "http1",
                           "http2",
                           "ike",
                           "ikev2",
                           "imap",
                           "irc",
                           "krb5",
                           "ldap",
                           "modbus",
                           "mqtt",
                           "nfs",
                           "ntp",
                           "pgsql",
                           "pop3",
                           "quic",
                           "rdp",
                           "rfb",
                           "sip",
                           "smb",
                           "smtp",
                           "snmp",
                           "ssh",
                           "ssl",
                           "telnet",
                           "tftp",
                           "tls",
                           "websocket"}) {
    const AppProtocol* p = FindAppProtocol(name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_EQ(p->name, name);
  }
  EXPECT_EQ(FindAppProtocol("tcp"), nullptr);
  EXPECT_EQ(FindAppProtocol(""), nullptr);
  EXPECT_EQ(FindAppProtocol("zzz"), nullptr);
  EXPECT_EQ(FindAppProtocol("dns")->transport, Protocol::kUdp);
  EXPECT_TRUE(FindAppProtocol("dns")->also_tcp);
  EXPECT_EQ(FindAppProtocol("http")->transport, Protocol::kTcp);
  EXPECT_FALSE(FindAppProtocol("http")->also_udp);
}

}  // namespace
}  // namespace vigil::rules

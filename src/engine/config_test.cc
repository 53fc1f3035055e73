#include "engine/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace vigil::engine {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  auto dir = std::filesystem::temp_directory_path() / "vigil_config_test";
  std::filesystem::create_directories(dir);
  auto path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, ReadsSuricataLayout) {
  auto path = WriteTemp("ok.yaml", R"(%YAML 1.1
---
vars:
  address-groups:
    HOME_NET: "[10.0.0.0/8,192.168.0.0/16]"
    EXTERNAL_NET: "!$HOME_NET"
  port-groups:
    HTTP_PORTS: "[80,8080]"
default-rule-path: /etc/rules
rule-files:
  - a.rules
  - /abs/b.rules
classification-file: classification.config
outputs:
  - fast: {enabled: yes}
)");
  auto c = Config::Load(path);
  ASSERT_TRUE(c) << c.error().ToString();
  ASSERT_EQ(c->address_vars.size(), 2u);
  EXPECT_EQ(c->address_vars[0].first, "HOME_NET");
  EXPECT_EQ(c->address_vars[1].second, "!$HOME_NET");
  ASSERT_EQ(c->port_vars.size(), 1u);
  EXPECT_EQ(c->port_vars[0].second, "[80,8080]");
  ASSERT_EQ(c->rule_files.size(), 2u);
  EXPECT_EQ(c->rule_files[0], "/etc/rules/a.rules");
  EXPECT_EQ(c->rule_files[1], "/abs/b.rules");
  EXPECT_EQ(c->classification_file,
            (std::filesystem::path(path).parent_path() / "classification.config").string());
}

TEST(ConfigTest, SyntaxErrorNamesLineAndColumn) {
  auto path = WriteTemp("bad.yaml", "vars:\n  address-groups: [unclosed\n");
  auto c = Config::Load(path);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().file, path);
  EXPECT_GT(c.error().line, 0u);
}

TEST(ConfigTest, WrongShapeIsAnError) {
  auto path = WriteTemp("shape.yaml", "vars:\n  address-groups:\n    HOME_NET: [1, 2]\n");
  auto c = Config::Load(path);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().line, 3u);
  EXPECT_NE(c.error().message.find("string"), std::string::npos);
}

TEST(ConfigTest, MissingFileIsAnError) {
  auto c = Config::Load("/nonexistent/vigil.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().ToString(), "/nonexistent/vigil.yaml: no such file");
}

TEST(ConfigTest, ReadsHostOsPolicyAndStream) {
  auto path = WriteTemp("policy.yaml", R"(
host-os-policy:
  windows: [0.0.0.0/0]
  old-linux: [10.0.0.0/8, "2001:db8::/32"]
  vista: []
stream:
  midstream: false
  ttl-limit: 7
)");
  auto c = Config::Load(path);
  ASSERT_TRUE(c) << c.error().ToString();
  using Entry = std::pair<std::string, std::string>;
  EXPECT_EQ(c->host_os_policy,
            (std::vector<Entry>{
                {"windows", "0.0.0.0/0"}, {"linux", "10.0.0.0/8"}, {"linux", "2001:db8::/32"}}));
  EXPECT_EQ(c->stream_midstream, false);
  EXPECT_EQ(c->stream_ttl_limit, 7);
}

TEST(ConfigTest, RejectsUnknownPolicyWithItsLine) {
  auto path = WriteTemp("bad_policy.yaml",
                        "host-os-policy:\n  windows: [1.2.3.0/24]\n  hpux99: [10.0.0.0/8]\n");
  auto c = Config::Load(path);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().line, 3u);
  EXPECT_NE(c.error().message.find("hpux99"), std::string::npos);
  auto ttl = WriteTemp("bad_ttl.yaml", "stream:\n  ttl-limit: 300\n");
  auto t = Config::Load(ttl);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().line, 2u);
}

TEST(ConfigTest, ReadsPacketAlertMax) {
  auto c = Config::Load(WriteTemp("alert_max.yaml", "packet-alert-max: 6\n"));
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->packet_alert_max, 6u);
  auto unset = Config::Load(WriteTemp("alert_max_unset.yaml", "stream: {midstream: true}\n"));
  ASSERT_TRUE(unset);
  EXPECT_FALSE(unset->packet_alert_max.has_value());
  for (const char* bad : {"0", "256", "-1"}) {
    auto b =
        Config::Load(WriteTemp("alert_max_bad.yaml", std::string("\npacket-alert-max: ") + bad));
    ASSERT_FALSE(b) << bad;
    EXPECT_EQ(b.error().line, 2u);
  }
  Config set;
  ASSERT_TRUE(set.Set("packet-alert-max", "255"));
  EXPECT_EQ(set.packet_alert_max, 255u);
  EXPECT_FALSE(set.Set("packet-alert-max", "0"));
  EXPECT_FALSE(set.Set("packet-alert-max", "1x"));
}

}  // namespace
}  // namespace vigil::engine

namespace vigil::engine {
namespace {

TEST(ConfigTest, ReadsTenants) {
  auto path = WriteTemp("tenants.yaml", R"(
tenants:
  - name: web
    weight: 3
    cap: 0.5
    match:
      prefixes: [10.0.1.0/24, "2001:db8::/32"]
      vlans: [100, 101]
      interfaces: [eth1]
  - name: default
    weight: 2
)");
  auto c = Config::Load(path);
  ASSERT_TRUE(c) << c.error().ToString();
  ASSERT_EQ(c->tenants.size(), 2u);
  const tenant::TenantSpec& web = c->tenants[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.weight, 3u);
  EXPECT_DOUBLE_EQ(web.cap, 0.5);
  EXPECT_EQ(web.prefixes, (std::vector<std::string>{"10.0.1.0/24", "2001:db8::/32"}));
  EXPECT_EQ(web.vlans, (std::vector<uint16_t>{100, 101}));
  EXPECT_EQ(web.interfaces, (std::vector<std::string>{"eth1"}));
  EXPECT_EQ(c->tenants[1].weight, 2u);
}

TEST(ConfigTest, BadTenantsNameTheLine) {
  for (const auto& [text, message] : std::vector<std::pair<std::string, std::string>>{
           {"tenants: {web: 1}\n", "tenants must be a list"},
           {"tenants:\n  - name: a\n    weight: 0\n", "tenant weight must be 1..1000000"},
           {"tenants:\n  - name: a\n    match: {vlans: [5000]}\n", "a VLAN id is 0..4095"},
           {"tenants:\n  - name: a\n    match: {prefixes: 10.0.0.0/8}\n",
            "match.prefixes must be a list"}}) {
    auto c = Config::Load(WriteTemp("bad_tenants.yaml", text));
    ASSERT_FALSE(c) << text;
    EXPECT_NE(c.error().message.find(message), std::string::npos) << c.error().ToString();
    EXPECT_GT(c.error().line, 0u) << c.error().ToString();
  }
}

}  // namespace
}  // namespace vigil::engine

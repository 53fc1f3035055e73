// The `vigil` command as a user runs it: exit codes, -T reporting, error lines.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace vigil::tests {
namespace {

namespace fs = std::filesystem;

struct Output {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

Output Vigil(const std::string& args) {
  std::string cmd =
      "'" + (fs::path(VIGIL_BINARY_DIR) / "src/cli/vigil").string() + "' " + args + " 2>&1";
  Output o;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
  int status = pclose(p);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

fs::path Temp(const std::string& name, const std::string& text) {
  fs::path dir = fs::temp_directory_path() / "vigil_cli_test";
  fs::create_directories(dir);
  fs::path p = dir / name;
  std::ofstream(p) << text;
  return p;
}

TEST(CliTest, CheckModeReportsEachFailedRuleAndTally) {
  fs::path rules = Temp("mixed.rules",
                        "# a comment\n"
                        "alert tcp any any -> any 80 (msg:\"ok\"; content:\"GET\"; sid:1;)\n"
                        "alert tcp any any -> any 80 (msg:\"bad\"; contnet:\"x\"; sid:2;)\n"
                        "\n"
                        "alert tcp any any -> any 80 (msg:\"ok2\"; content:\"POST\"; sid:3;)\n"
                        "alert tcpx any any -> any 80 (msg:\"bad proto\"; sid:4;)\n");
  Output o = Vigil("-T -R '" + rules.string() + "'");
  EXPECT_EQ(o.exit_code, 1) << o.out;
  EXPECT_NE(o.out.find(rules.string() + ":3:"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find(rules.string() + ":6:"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("rules: loaded=2 failed=2 disabled=0"), std::string::npos) << o.out;
}

TEST(CliTest, CheckModeSucceedsOnGoodRules) {
  fs::path rules = Temp("good.rules",
                        "alert udp any any -> any 53 (msg:\"dns\"; content:\"|00 01|\"; sid:9;)\n");
  Output o = Vigil("-T -R '" + rules.string() + "'");
  EXPECT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("rules: loaded=1 failed=0 disabled=0"), std::string::npos) << o.out;
}

TEST(CliTest, CheckModeTabulatesDisabledRulesByReason) {
  fs::path rules = Temp("disabled.rules",
                        "alert tcp any any -> any 80 (msg:\"a\"; tag:session,10,packets; sid:1;)\n"
                        "alert tcp any any -> any 80 (msg:\"b\"; tag:host,5,seconds,src; sid:2;)\n"
                        "alert tcp any any -> any 80 (msg:\"c\"; flowint:n,+,1; sid:3;)\n"
                        "alert tcp any any -> any 80 (msg:\"d\"; content:\"x\"; sid:4;)\n");
  Output o = Vigil("-T -R '" + rules.string() + "'");
  EXPECT_EQ(o.exit_code, 0) << o.out;
  size_t table = o.out.find("disabled rules by reason:");
  ASSERT_NE(table, std::string::npos) << o.out;
  size_t tag = o.out.find("2  unsupported keyword tag", table);
  size_t flowint = o.out.find("1  unsupported keyword flowint", table);
  EXPECT_NE(tag, std::string::npos) << o.out;
  EXPECT_NE(flowint, std::string::npos) << o.out;
  EXPECT_LT(tag, flowint) << "sorted by count";
  EXPECT_NE(o.out.find("rules: loaded=4 failed=0 disabled=3"), std::string::npos) << o.out;
}

TEST(CliTest, DumpRulesPrintsCanonicalRulesThatReadBack) {
  fs::path rules = Temp("dump.rules",
                        "alert tcp $EXTERNAL_NET any -> $HOME_NET 80 (msg:\"x\"; "
                        "content:\"GET\"; nocase; depth:3; sid:7; rev:2;)\n"
                        "alert udp any any -> any 53 (msg:\"y\"; flowint:n,+,1; sid:8;)\n");
  Output o = Vigil("--dump-rules -R '" + rules.string() + "'");
  EXPECT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("sid:7;"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("sid:8;"), std::string::npos) << o.out;  // disabled rules are dumped too
  // The dump is itself a rule file that loads to the same rules.
  fs::path dumped = Temp("dumped.rules", "");
  {
    std::ofstream out(dumped);
    std::istringstream lines(o.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("alert ")) out << line << "\n";
    }
  }
  Output again = Vigil("--dump-rules -R '" + dumped.string() + "'");
  EXPECT_EQ(again.exit_code, 0) << again.out;
  auto rule_lines = [](const std::string& text) {
    std::vector<std::string> v;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("alert ")) v.push_back(line);
    }
    return v;
  };
  EXPECT_EQ(rule_lines(again.out), rule_lines(o.out));
  EXPECT_EQ(rule_lines(o.out).size(), 2u);
}

TEST(CliTest, ThresholdFileErrorsNameTheLine) {
  fs::path rules =
      Temp("t.rules", "alert tcp any any -> any 80 (msg:\"x\"; content:\"GET\"; sid:1;)\n");
  fs::path thresholds = Temp("threshold.config",
                             "suppress gen_id 1, sig_id 1, track by_src, ip 10.0.0.1\n"
                             "threshold gen_id 1, sig_id 1, type nonsense, track by_src, "
                             "count 1, seconds 60\n");
  Output o = Vigil("-T -R '" + rules.string() + "' --threshold-file '" + thresholds.string() + "'");
  EXPECT_EQ(o.exit_code, 1) << o.out;
  EXPECT_NE(o.out.find(thresholds.string() + ":2:"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find(thresholds.string() + ":1:"), std::string::npos) << o.out;
}

TEST(CliTest, MissingReadPathIsAnError) {
  Output o = Vigil("-R /dev/null");
  EXPECT_EQ(o.exit_code, 1) << o.out;
  EXPECT_NE(o.out.find("-r"), std::string::npos) << o.out;
}

TEST(CliTest, UnknownOptionIsAnError) {
  Output o = Vigil("--no-such-option");
  EXPECT_EQ(o.exit_code, 1) << o.out;
}

TEST(CliTest, MissingCaptureNamesTheFile) {
  Output o =
      Vigil("-r /nonexistent/x.pcap -l " + (fs::temp_directory_path() / "vigil_cli_out").string());
  EXPECT_EQ(o.exit_code, 1) << o.out;
  EXPECT_NE(o.out.find("/nonexistent/x.pcap"), std::string::npos) << o.out;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// One run over the bundled sample; returns its alert_fast.txt and leaves stats.json in `out`.
std::string SampleAlerts(const std::string& cache_args, const fs::path& out, Output* o) {
  fs::remove_all(out);
  fs::create_directories(out);
  const fs::path src(VIGIL_SOURCE_DIR);
  *o = Vigil("-v -A both -r '" + (src / "tests/sample/sample.pcap").string() + "' -R '" +
             (src / "tests/sample/sample.rules").string() + "' -l '" + out.string() + "' " +
             cache_args);
  EXPECT_EQ(o->exit_code, 0) << o->out;
  return ReadAll(out / "alert_fast.txt");
}

// The "startup" figure `name` of stats.json in `out`.
double Startup(const fs::path& out, const std::string& name) {
  const std::string stats = ReadAll(out / "stats.json");
  const size_t at = stats.find("\"" + name + "\":", stats.find("\"startup\""));
  EXPECT_NE(at, std::string::npos) << stats;
  return at == std::string::npos ? -1 : std::stod(stats.substr(at + name.size() + 3));
}

// The database cache as a user meets it: the second run loads every database, and a cache
// damaged in any way (truncated, bytes flipped, files swapped, garbage) is reported, rebuilt
// and gives the same alerts as a run without one.
TEST(CliTest, DatabaseCacheIsUsedAndSurvivesCorruption) {
  const fs::path base = fs::temp_directory_path() / "vigil_cli_cache";
  const fs::path cache = base / "cache", out = base / "out";
  fs::remove_all(base);
  Output o;
  const std::string want = SampleAlerts("--no-cache", out, &o);
  ASSERT_FALSE(want.empty()) << "the sample raises alerts";
  EXPECT_NE(o.out.find("database cache: off"), std::string::npos) << o.out;
  EXPECT_EQ(Startup(out, "cache_hits"), 0);

  const std::string with_cache = "--cache-dir '" + cache.string() + "'";
  EXPECT_EQ(SampleAlerts(with_cache, out, &o), want);
  const double stored = Startup(out, "cache_stored");
  EXPECT_GT(stored, 0);
  EXPECT_EQ(Startup(out, "cache_hits"), 0);
  EXPECT_EQ(SampleAlerts(with_cache, out, &o), want);
  EXPECT_EQ(Startup(out, "cache_hits"), stored);
  EXPECT_EQ(Startup(out, "cache_misses"), 0);
  EXPECT_NE(o.out.find("start-up:"), std::string::npos) << o.out;

  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(cache)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 2u);
  std::vector<std::string> good;
  for (const fs::path& f : files) good.push_back(ReadAll(f));
  auto restore = [&] {
    for (size_t i = 0; i < files.size(); ++i) std::ofstream(files[i], std::ios::binary) << good[i];
  };
  const std::vector<std::pair<std::string, std::function<void()>>> damage = {
      {"truncated", [&] { fs::resize_file(files[0], good[0].size() / 2); }},
      {"bytes flipped",
       [&] {
         for (size_t i = 0; i < files.size(); ++i) {
           std::string b = good[i];
           b[b.size() / 2] = char(b[b.size() / 2] ^ 0xff);
           std::ofstream(files[i], std::ios::binary) << b;
         }
       }},
      {"files swapped",
       [&] {
         std::ofstream(files[0], std::ios::binary) << good[1];
         std::ofstream(files[1], std::ios::binary) << good[0];
       }},
      {"garbage", [&] { std::ofstream(files[0], std::ios::binary) << "garbage"; }},
      {"empty", [&] { std::ofstream(files[1], std::ios::binary | std::ios::trunc); }},
  };
  for (const auto& [what, damage_it] : damage) {
    SCOPED_TRACE(what);
    restore();
    damage_it();
    EXPECT_EQ(SampleAlerts(with_cache, out, &o), want);
    EXPECT_GT(Startup(out, "cache_rejected"), 0);
    EXPECT_NE(o.out.find("warning: database cache: "), std::string::npos) << o.out;
    // Rebuilt: the next run finds every database.
    EXPECT_EQ(SampleAlerts(with_cache, out, &o), want);
    EXPECT_EQ(Startup(out, "cache_hits"), stored);
  }
  fs::remove_all(base);
}

TEST(CliTest, VersionAndHelpExitZero) {
  Output v = Vigil("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("vigil "), std::string::npos);
  Output h = Vigil("--help");
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("-r"), std::string::npos);
}

}  // namespace
}  // namespace vigil::tests

namespace vigil::tests {
namespace {

// Offline, every packet is charged to its tenant; the counts agree with tcpdump's own filter.
TEST(CliTest, TenantsAreChargedOnACapture) {
  const fs::path src(VIGIL_SOURCE_DIR);
  const fs::path pcap = src / "tests/sample/sample.pcap";
  const fs::path out = fs::temp_directory_path() / "vigil_cli_tenants";
  fs::remove_all(out);
  fs::path config =
      Temp("tenants.yaml", "tenants:\n  - name: lan\n    match: { prefixes: [192.168.0.0/16] }\n");
  Output o =
      Vigil("-r '" + pcap.string() + "' -R '" + (src / "tests/sample/sample.rules").string() +
            "' -c '" + config.string() + "' -l '" + out.string() + "' --no-cache");
  ASSERT_EQ(o.exit_code, 0) << o.out;
  const std::string stats = ReadAll(out / "stats.json");
  auto counter = [&](const std::string& name) -> int64_t {
    size_t at = stats.find("\"" + name + "\":");
    return at == std::string::npos ? -1 : std::stoll(stats.substr(at + name.size() + 3));
  };
  auto tcpdump_count = [&](const std::string& filter) {
    FILE* p = popen(
        ("tcpdump -nr '" + pcap.string() + "' '" + filter + "' 2>/dev/null | wc -l").c_str(), "r");
    char buf[64] = {};
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    pclose(p);
    return n > 0 ? std::stoll(buf) : -1;
  };
  EXPECT_EQ(counter("tenant.lan.packets"), tcpdump_count("net 192.168.0.0/16"));
  EXPECT_EQ(counter("tenant.lan.packets") + counter("tenant.default.packets"),
            counter("capture.packets"));
  EXPECT_GT(counter("tenant.lan.cycles"), 0);
  EXPECT_EQ(counter("tenant.lan.refused"), 0) << "offline, every packet is inspected";
}

// Multi-tenant detection: a tenant with its own rule files is inspected with those alone; a
// tenant with policy ids alerts but drops nothing, even when the run drops (--simulate-ips).
TEST(CliTest, TenantsWithTheirOwnRulesAndPolicy) {
  const fs::path src(VIGIL_SOURCE_DIR);
  const fs::path pcap = src / "tests/sample/sample.pcap";
  Temp("web.rules",
       "alert tcp any any -> any 80 (msg:\"web's own rule\"; content:\"HTTP/1.\"; sid:2000001;)\n");
  const fs::path drop = Temp("drop.rules",
                             "drop udp any any -> any 53 (msg:\"C2 lookup\"; "
                             "content:\"|0a|badsite-c2|03|net|00|\"; sid:2000002;)\n");
  auto run = [&](const std::string& dns_policy, const std::string& name) {
    const fs::path out = fs::temp_directory_path() / ("vigil_cli_tenant_rules_" + name);
    fs::remove_all(out);
    fs::path config = Temp("tenant_rules.yaml",
                           "tenants:\n"
                           "  - name: web\n"
                           "    match: { prefixes: [192.168.1.80/32] }\n"
                           "    rule-files: [web.rules]\n"
                           "  - name: dns\n"
                           "    match: { prefixes: [10.0.0.53/32] }\n" +
                               dns_policy);
    Output o =
        Vigil("-r '" + pcap.string() + "' -R '" + (src / "tests/sample/sample.rules").string() +
              "' -R '" + drop.string() + "' -c '" + config.string() + "' -l '" + out.string() +
              "' --simulate-ips --no-cache");
    EXPECT_EQ(o.exit_code, 0) << o.out;
    EXPECT_NE(o.out.find("tenant web: rules: loaded=1 failed=0"), std::string::npos) << o.out;
    return out;
  };
  const fs::path ids = run("    policy: ids\n", "ids");
  const std::string alerts = ReadAll(ids / "alert_fast.txt");
  const std::string stats = ReadAll(ids / "stats.json");
  auto count = [](const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      ++n;
    }
    return n;
  };
  // The web server's traffic: only web's own rule; the run's web rules never see it.
  EXPECT_GT(count(alerts, "[1:2000001:"), 0u) << alerts;
  for (const char* sid : {"[1:1000101:", "[1:1000103:", "[1:1000104:", "[1:1000108:"}) {
    EXPECT_EQ(count(alerts, sid), 0u) << sid << alerts;
  }
  // The DNS server's traffic: the run's rules, alerting, dropping nothing.
  EXPECT_EQ(count(alerts, "[1:1000106:"), 1u) << alerts;
  EXPECT_EQ(count(alerts, "[1:2000002:"), 1u) << alerts;
  auto counter = [](const std::string& stats, const std::string& name) -> int64_t {
    size_t at = stats.find("\"" + name + "\":");
    return at == std::string::npos ? -1 : std::stoll(stats.substr(at + name.size() + 3));
  };
  EXPECT_EQ(counter(stats, "tenant.dns.rule_drops"), 0) << stats;
  // ... and its outputs say so: "would drop" in alert_fast, "allowed" in EVE.
  EXPECT_EQ(count(alerts, "[wDrop] [**] [1:2000002:"), 1u) << alerts;
  EXPECT_EQ(count(alerts, "[Drop] "), 0u) << alerts;
  const std::string eve = ReadAll(ids / "eve.json");
  EXPECT_EQ(count(eve, R"("action":"allowed","gid":1,"signature_id":2000002,)"), 1u) << eve;
  EXPECT_EQ(count(eve, "blocked"), 0u) << eve;
  // Without the policy the same lookup is dropped.
  const fs::path ips = run("", "ips");
  EXPECT_EQ(counter(ReadAll(ips / "stats.json"), "tenant.dns.rule_drops"), 1);
  EXPECT_EQ(count(ReadAll(ips / "alert_fast.txt"), "[Drop] [**] [1:2000002:"), 1u);
  EXPECT_EQ(
      count(ReadAll(ips / "eve.json"), R"("action":"blocked","gid":1,"signature_id":2000002,)"),
      1u);
  // Without tenants the run's rules see the web server's traffic (its ping included).
  const fs::path plain_out = fs::temp_directory_path() / "vigil_cli_tenant_rules_plain";
  Output plain =
      Vigil("-r '" + pcap.string() + "' -R '" + (src / "tests/sample/sample.rules").string() +
            "' -l '" + plain_out.string() + "' --no-cache");
  ASSERT_EQ(plain.exit_code, 0) << plain.out;
  const std::string plain_alerts = ReadAll(plain_out / "alert_fast.txt");
  EXPECT_EQ(count(plain_alerts, "[1:1000107:"), 1u);
  EXPECT_EQ(count(alerts, "[1:1000107:"), 0u) << "the ping to the web server is web's";
  EXPECT_GT(count(plain_alerts, "[1:1000101:"), 0u) << "without tenants the run's web rules fire";
}

}  // namespace
}  // namespace vigil::tests

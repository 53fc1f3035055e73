// vigil's control plane on a live inline link (tests/live/live_test.cc's topology: client ns —
// veth — [va vigil vb] — veth — server ns, a python3 HTTP server, curl): `vigil ctl` against
// --unix-socket (stats, tenants, rules, reload that adds a rule and one that fails, unknown
// commands, shutdown), twenty clients polling while traffic passes, /metrics through promtool,
// and the dashboard in headless Chromium while traffic flows (its screenshot goes to
// BUILD/dashboard.png). Needs root; promtool and chromium parts skip when those are missing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/netns_test_util.h"

namespace vigil::tests {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using test::Netns;
using test::Process;
using test::ReadFile;

const char* kRules =
    R"(alert http any any -> any any (msg:"vigil ops signature"; content:"vigil-ops-signature"; sid:2000001; rev:1;)
alert http any any -> any any (msg:"response seen"; flow:to_client; content:"hello from the server"; sid:2000002; rev:1;)
)";

class OpsLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = test::NetnsTestUnavailable({"python3", "curl"})) GTEST_SKIP() << *why;
    dir_ = test::FreshTestDir("vigil_ops",
                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "www");
    fs::create_directories(dir_ / "out");
    topology_ = std::make_unique<test::ForwarderTopology>("o", "10.78");
    ASSERT_TRUE(topology_->ok());
    client_ = &topology_->client;
    vigil_ = &topology_->middle;
    server_ = &topology_->server;
    std::ofstream(dir_ / "www/index.html") << "hello from the server\n";
    std::ofstream(dir_ / "test.rules") << kRules;
    std::ofstream(dir_ / "vigil.yaml") << "rule-files: [" << (dir_ / "test.rules").string()
                                       << "]\ntenants:\n  - name: web\n    weight: 3\n"
                                          "    match: { prefixes: [10.78.0.2/32] }\n";
    server_process_ = std::make_unique<Process>(
        server_->Exec() + "python3 -m http.server 8080 --bind 10.78.0.2 --directory " +
        (dir_ / "www").string() + " >/dev/null 2>&1");
    socket_ = (dir_ / "vigil.sock").string();
  }

  void TearDown() override {
    traffic_on_ = false;
    if (traffic_.joinable()) traffic_.join();
    vigil_process_.reset();
    server_process_.reset();
    topology_.reset();
    if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_);
  }

  std::string Vigil() const { return (fs::path(VIGIL_BINARY_DIR) / "src/cli/vigil").string(); }

  void StartVigil() {
    vigil_process_ = std::make_unique<Process>(
        "exec " + vigil_->Exec() + Vigil() + " -i va:vb -c " + (dir_ / "vigil.yaml").string() +
        " -l " + (dir_ / "out").string() + " --unix-socket " + socket_ +
        " --http 127.0.0.1:19100 > " + (dir_ / "vigil.log").string() + " 2>&1");
    auto until = std::chrono::steady_clock::now() + 30s;
    // "capturing on" is logged before the control socket opens ("control socket on").
    while (std::chrono::steady_clock::now() < until &&
           ReadFile(dir_ / "vigil.log").find("control socket on") == std::string::npos) {
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_NE(ReadFile(dir_ / "vigil.log").find("capturing on"), std::string::npos)
        << ReadFile(dir_ / "vigil.log");
    ASSERT_NE(ReadFile(dir_ / "vigil.log").find("control socket on"), std::string::npos);
    // The HTTP server answers through vigil before the tests send anything that counts.
    for (int i = 0; i < 100 && Curl("/index.html") != 0; ++i) std::this_thread::sleep_for(100ms);
  }

  int Curl(const std::string& path) {
    return client_->Run("curl -s -f -m 4 -o /dev/null http://10.78.0.2:8080" + path);
  }

  // `vigil ctl CMD`: its exit status, stdout in *out and stderr in *err.
  int Ctl(const std::string& command, std::string* out = nullptr, std::string* err = nullptr) {
    const std::string tag = std::to_string(ctl_calls_++);
    const fs::path o = dir_ / ("ctl" + tag + ".out"), e = dir_ / ("ctl" + tag + ".err");
    int rc = test::Shell(Vigil() + " ctl --socket " + socket_ + " " + command + " > " + o.string() +
                         " 2> " + e.string());
    if (out) *out = ReadFile(o);
    if (err) *err = ReadFile(e);
    return rc;
  }
  json CtlJson(const std::string& command) {
    std::string out, err;
    EXPECT_EQ(Ctl(command, &out, &err), 0) << command << ": " << err;
    return json::parse(out, nullptr, false);
  }

  // Requests from the client, one every 20 ms, until TearDown or traffic_on_ is cleared.
  void StartTraffic() {
    traffic_on_ = true;
    traffic_ = std::thread([this] {
      while (traffic_on_) {
        if (Curl("/index.html?q=vigil-ops-signature") == 0) ++traffic_ok_;
        std::this_thread::sleep_for(20ms);
      }
    });
  }

  fs::path dir_;
  std::string socket_;
  std::unique_ptr<test::ForwarderTopology> topology_;
  Netns *client_ = nullptr, *vigil_ = nullptr, *server_ = nullptr;
  std::unique_ptr<Process> server_process_, vigil_process_;
  std::thread traffic_;
  std::atomic<bool> traffic_on_{false};
  std::atomic<int> traffic_ok_{0};
  int ctl_calls_ = 0;
};

TEST_F(OpsLiveTest, CtlStatsTenantsRulesReloadShutdown) {
  StartVigil();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Curl("/index.html?q=vigil-ops-signature"), 0);

  // Counters arrive within a poll timeout of the workers.
  json stats = CtlJson("stats");
  ASSERT_TRUE(stats.is_object()) << stats;
  EXPECT_GT(stats["counters"]["capture.frames"].get<uint64_t>(), 30u);
  // Published between two batches: every frame counted has had its fate counted too.
  const json& c = stats["counters"];
  EXPECT_EQ(c["capture.frames"].get<uint64_t>(), c["capture.forwarded"].get<uint64_t>() +
                                                     c["capture.verdict_drops"].get<uint64_t>() +
                                                     c["capture.tenant_drops"].get<uint64_t>() +
                                                     c["capture.truncated_drops"].get<uint64_t>() +
                                                     c["capture.overload_drops"].get<uint64_t>())
      << c;
  EXPECT_GE(stats["alerts"].get<uint64_t>(), 5u);
  // The worker counts its own snapshots and what they cost it; this answer came from one.
  EXPECT_GE(c["stats.snapshots"].get<uint64_t>(), 1u);
  EXPECT_GT(stats["cycles_per_second"].get<uint64_t>(), 0u);
  EXPECT_EQ(stats["interfaces"], json({"va", "vb"}));

  json tenants = CtlJson("tenants");
  const json* web = nullptr;
  for (const json& t : tenants["tenants"]) {
    if (t["name"] == "web") web = &t;
  }
  ASSERT_NE(web, nullptr) << tenants;
  EXPECT_GT((*web)["packets"].get<uint64_t>(), 10u);
  EXPECT_GT((*web)["cpu_seconds"].get<double>(), 0);
  EXPECT_EQ((*web)["weight"], 3);
  // The scheduler's balance (one worker): at most its bank plus one hand-out, which is at most
  // max_catch_up_periods (4) periods of 1 ms (tenant/scheduler.h).
  ASSERT_TRUE((*web)["tokens"].is_number_integer()) << *web;
  EXPECT_GT((*web)["token_bank_cpu_seconds"].get<double>(), 0);
  EXPECT_LE((*web)["tokens_cpu_seconds"].get<double>(),
            (*web)["token_bank_cpu_seconds"].get<double>() + 0.004 + 1e-6);

  json rules = CtlJson("rules");
  EXPECT_EQ(rules["loaded"], 2);
  EXPECT_EQ(rules["running_plan_rules"], 2);

  // A reload that adds a rule says so, and the rule works at once.
  std::ofstream(dir_ / "test.rules", std::ios::app)
      << R"(alert http any any -> any any (msg:"added by reload"; content:"added-by-reload"; sid:2000003; rev:1;))"
      << "\n";
  json reload = CtlJson("reload");
  EXPECT_TRUE(reload["ok"]) << reload;
  EXPECT_EQ(reload["changes"]["rules"]["added"], 1) << reload;
  EXPECT_EQ(reload["changes"]["rules"]["added_sample"], json({"1:2000003"}));
  EXPECT_EQ(reload["rules"], 3);
  EXPECT_EQ(Curl("/index.html?added-by-reload"), 0);

  // A reload that cannot read its rules fails, says why, and keeps the running rules.
  fs::rename(dir_ / "test.rules", dir_ / "test.rules.away");
  fs::create_directories(dir_ / "test.rules");
  std::string out, err;
  EXPECT_EQ(Ctl("reload", &out, &err), 1);
  json failed = json::parse(err.substr(err.find('{')), nullptr, false);
  EXPECT_EQ(failed["error"]["code"], "reload-failed") << err;
  EXPECT_NE(failed["message"].get<std::string>().find("test.rules"), std::string::npos) << err;
  EXPECT_EQ(CtlJson("rules")["running_plan_rules"], 3);
  fs::remove(dir_ / "test.rules");
  fs::rename(dir_ / "test.rules.away", dir_ / "test.rules");

  // Bad commands: an error object and exit status 1.
  EXPECT_EQ(Ctl("frobnicate", &out, &err), 1);
  EXPECT_NE(err.find("\"unknown-command\""), std::string::npos) << err;
  EXPECT_EQ(Ctl("--raw '{\"arguments\":{}}'", &out, &err), 1);
  EXPECT_NE(err.find("\"no-command\""), std::string::npos) << err;
  EXPECT_EQ(Ctl("--raw '[1,2]'", &out, &err), 1);
  EXPECT_NE(err.find("\"bad-stream\""), std::string::npos) << err;

  // Twenty clients polling stats as fast as they can while traffic flows: every answer comes,
  // and the traffic is not held up.
  StartTraffic();
  std::atomic<int> answered{0};
  std::vector<std::thread> pollers;
  for (int i = 0; i < 20; ++i) {
    pollers.emplace_back([&, i] {
      for (int k = 0; k < 10; ++k) {
        answered += test::Shell(Vigil() + " ctl --socket " + socket_ + " stats > /dev/null") == 0;
      }
    });
  }
  for (auto& t : pollers) t.join();
  EXPECT_EQ(answered, 200);
  std::this_thread::sleep_for(300ms);
  traffic_on_ = false;
  traffic_.join();
  EXPECT_GT(traffic_ok_, 3);

  // /metrics, linted by promtool.
  const std::string metrics = vigil_->Output("curl -s -f http://127.0.0.1:19100/metrics");
  EXPECT_NE(metrics.find("vigil_interface_packets_total{interface=\"va\",worker=\"0\"}"),
            std::string::npos)
      << metrics.substr(0, 2000);
  EXPECT_NE(metrics.find("vigil_tenant_packets_total{tenant=\"web\",worker=\"0\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("vigil_reloads_total{result=\"failure\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("# TYPE vigil_tenant_tokens_seconds gauge\n"
                         "vigil_tenant_tokens_seconds{tenant=\"web\",worker=\"0\"}"),
            std::string::npos);
  if (test::Shell("command -v promtool >/dev/null") == 0) {
    std::ofstream(dir_ / "metrics.txt") << metrics;
    EXPECT_EQ(test::Shell("promtool check metrics < " + (dir_ / "metrics.txt").string()), 0);
  }

  EXPECT_EQ(Ctl("shutdown", &out, &err), 0) << err;
  EXPECT_EQ(vigil_process_->Wait(20s), 0) << ReadFile(dir_ / "vigil.log");
  EXPECT_FALSE(fs::exists(socket_)) << "the socket file is removed at exit";
  json final_stats = json::parse(ReadFile(dir_ / "out/stats.json"), nullptr, false);
  EXPECT_EQ(final_stats["counters"]["reload.count"], 1);
  EXPECT_EQ(final_stats["counters"]["reload.failures"], 1);
}

// The dashboard in headless Chromium while traffic flows: the page loads with no error, has
// points to plot, and what it plots moves between two loads a few seconds apart.
TEST_F(OpsLiveTest, DashboardInChromium) {
  if (test::Shell("command -v chromium >/dev/null") != 0) {
    GTEST_SKIP() << "chromium is missing (scripts/install-deps.sh installs it)";
  }
  StartVigil();
  StartTraffic();
  std::this_thread::sleep_for(4s);
  // Chromium runs in vigil's namespace, where the endpoint listens on loopback.
  auto dump = [&](const std::string& tag) {
    const fs::path log = dir_ / ("chromium-" + tag + ".log");
    const std::string dom =
        vigil_->Output("HOME=" + dir_.string() +
                       " chromium --headless=new --no-sandbox --disable-gpu "
                       "--no-first-run --user-data-dir=" +
                       (dir_ / ("profile-" + tag)).string() +
                       " --enable-logging=stderr --v=0 --virtual-time-budget=3000 --dump-dom "
                       "http://127.0.0.1:19100/ 2> " +
                       log.string());
    const size_t a = dom.find("<pre id=\"state\">"), b = dom.find("</pre>", a);
    EXPECT_NE(a, std::string::npos) << dom.substr(0, 2000) << ReadFile(log);
    json state = a == std::string::npos
                     ? json()
                     : json::parse(dom.substr(a + 16, b - a - 16), nullptr, false);
    // Console errors (an exception, a failed fetch) are logged as CONSOLE lines at ERROR level.
    std::istringstream lines(ReadFile(log));
    for (std::string line; std::getline(lines, line);) {
      EXPECT_FALSE(line.find("CONSOLE") != std::string::npos &&
                   line.find(":ERROR:") != std::string::npos)
          << line;
      EXPECT_EQ(line.find("Uncaught"), std::string::npos) << line;
    }
    return state;
  };
  json first = dump("1");
  ASSERT_TRUE(first.is_object()) << first;
  EXPECT_GE(first["updates"].get<int>(), 1);
  EXPECT_EQ(first["errors"], json::array());
  EXPECT_GE(first["points"].get<int>(), 2);
  EXPECT_EQ(first["tenants"], json({"default", "web"})) << first;
  std::this_thread::sleep_for(2500ms);
  json second = dump("2");
  ASSERT_TRUE(second.is_object());
  EXPECT_GT(second["last_t"].get<double>(), first["last_t"].get<double>()) << "the plots moved";
  EXPECT_GT(second["points"].get<int>(), first["points"].get<int>());
  double packets = 0;
  for (const json& v : second["packets"]) packets = std::max(packets, v.get<double>());
  EXPECT_GT(packets, 10) << "traffic shows in packets/s: " << second["packets"];
  // The screenshot for the record, with a reload in the history.
  EXPECT_EQ(Ctl("reload"), 0);
  const fs::path png = fs::path(VIGIL_BINARY_DIR) / "dashboard.png";
  vigil_->Run("HOME=" + dir_.string() +
              " chromium --headless=new --no-sandbox --disable-gpu "
              "--no-first-run --user-data-dir=" +
              (dir_ / "profile-shot").string() +
              " --hide-scrollbars --window-size=1280,1000 --virtual-time-budget=3000 "
              "--screenshot=" +
              png.string() + " http://127.0.0.1:19100/ 2>/dev/null");
  EXPECT_TRUE(fs::exists(png) && fs::file_size(png) > 10000) << png;
}

}  // namespace
}  // namespace vigil::tests

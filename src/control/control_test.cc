// The control plane against a fake engine (a LiveView whose counters grow with time): the
// stream splitter, the HTTP request line, the control socket's commands and errors, many
// clients at once, the client cap, /metrics through promtool, and the dashboard in headless
// Chromium (each skipped, with the reason, when its tool is missing).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "control/http.h"
#include "control/json_stream.h"
#include "control/metrics.h"
#include "control/ops.h"

namespace vigil::control {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

// Two workers, one interface pair, two tenants; every counter grows with the time since start.
class FakeView : public engine::LiveView {
 public:
  std::vector<engine::CounterSum> WorkerCounters() override {
    ++asks;
    const double t =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::vector<engine::CounterSum> out(2);
    for (int w = 0; w < 2; ++w) {
      const uint64_t k = uint64_t(t * 1000) * uint64_t(w + 1);
      out[w].Add("capture.frames", k);
      out[w].Add("capture.bytes", k * 800);
      out[w].Add("capture.va.packets", k / 2);
      out[w].Add("capture.vb.packets", k - k / 2);
      out[w].Add("capture.packets", k);
      out[w].Add("capture.kernel_drops", 0);
      out[w].Add("capture.overload_drops", k / 100);
      out[w].Add("capture.tenant_drops", k / 50);
      out[w].Add("flow.active", 17);
      out[w].Add("decode.ipv4.bad_ihl", 3);
      out[w].Add("tenant.alpha.packets", k / 4);
      out[w].Add("tenant.alpha.bytes", k * 200);
      out[w].Add("tenant.alpha.cycles", k * 3000);
      out[w].Add("tenant.alpha.refused", k / 50);
      out[w].Add("tenant.alpha.rule_drops", 0);
      // Worker 0's scheduler holds 5,000 cycles of alpha's tokens, worker 1's is 2,000 in debt.
      out[w].Add("tenant.alpha.tokens", w == 0 ? 5000 : 0);
      out[w].Add("tenant.alpha.debt", w == 0 ? 0 : 2000);
      out[w].Add("tenant.alpha.token_bank", 40000);
      out[w].Add("tenant.default.packets", k - k / 4);
      out[w].Add("tenant.default.bytes", k * 600);
      out[w].Add("tenant.default.cycles", k * 1000);
      out[w].Add("tenant.default.refused", 0);
      out[w].Add("tenant.default.rule_drops", 1);
    }
    return out;
  }
  void RequestReload() override {
    reload_requests++;
    if (on_reload) std::thread(on_reload).detach();
  }
  void RequestStop() override { stop = true; }
  std::vector<std::string> Interfaces() const override { return {"va", "vb"}; }
  uint32_t workers() const override { return 2; }
  bool inline_mode() const override { return true; }
  uint64_t cycles_per_second() const override { return 1000000; }
  uint64_t rules() const override { return rules_in_plan; }

  std::atomic<uint64_t> asks{0};
  std::atomic<int> reload_requests{0};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> rules_in_plan{2};
  std::function<void()> on_reload;

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

rules::LoadReport Report(std::vector<std::tuple<uint32_t, uint32_t, bool>> rules) {
  rules::LoadReport r;
  for (auto [sid, rev, enabled] : rules) {
    rules::Rule rule;
    rule.sid = sid;
    rule.rev = rev;
    rule.msg = "rule " + std::to_string(sid);
    rule.enabled = enabled;
    if (!enabled) rule.disabled_reason = "keyword not supported";
    r.rules.push_back(rule);
  }
  return r;
}

// A client of the control socket: sends requests, reads one answer object each.
class Client {
 public:
  explicit Client(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{.tv_sec = 20, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  void Send(std::string_view bytes) {
    (void)!::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
  // The next answer; null when the connection closed first.
  json Next() {
    while (answers_.empty()) {
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return nullptr;
      (void)stream_.Feed({buf, size_t(n)}, [&](std::string_view o) {
        answers_.push_back(json::parse(o, nullptr, false));
      });
    }
    json j = std::move(answers_.front());
    answers_.erase(answers_.begin());
    return j;
  }
  json Ask(const json& request) {
    Send(request.dump() + "\n");
    return Next();
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  JsonStream stream_{64 << 20};
  std::vector<json> answers_;
};

class OpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil_control_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    socket_ = (dir_ / "vigil.sock").string();
  }
  void TearDown() override {
    if (ops_) ops_->Detach();
    ops_.reset();
    fs::remove_all(dir_);
  }
  void Start(OpsOptions o = {}) {
    o.unix_socket = socket_;
    o.http = "127.0.0.1:0";
    o.version = "test";
    o.log = [](const std::string&) {};
    ops_ = std::make_unique<Ops>(o);
    ops_->SetRunConfig(Summarize(Report({{1, 1, true}, {2, 1, true}, {3, 1, false}}), {"a.rules"}),
                       {{.name = "alpha", .weight = 3, .cap = 0.5}});
    ops_->Attach(view_);
  }
  std::string HttpGet(const std::string& path, const std::string& method = "GET") {
    return Fetch(method + " " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  std::string Fetch(const std::string& raw) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(ops_->http_port());
    a.sin_addr.s_addr = htonl(0x7f000001);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "";
    (void)!::send(fd, raw.data(), raw.size(), MSG_NOSIGNAL);
    std::string out;
    char buf[65536];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, size_t(n));
    ::close(fd);
    return out;
  }
  static std::string Body(const std::string& response) {
    size_t at = response.find("\r\n\r\n");
    return at == std::string::npos ? "" : response.substr(at + 4);
  }

  fs::path dir_;
  std::string socket_;
  FakeView view_;
  std::unique_ptr<Ops> ops_;
};

TEST(JsonStreamTest, CutsObjectsAcrossChunksAndInsideStrings) {
  JsonStream s(1024);
  std::vector<std::string> got;
  auto add = [&](std::string_view o) { got.emplace_back(o); };
  const std::string text = R"({"a":"}{\"x"}  {"b":[1,{"c":2}]}
{"d":"\\"})";
  for (char c : text) ASSERT_TRUE(s.Feed(std::string_view(&c, 1), add));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], R"({"a":"}{\"x"})");
  EXPECT_EQ(got[1], R"({"b":[1,{"c":2}]})");
  EXPECT_EQ(got[2], R"({"d":"\\"})");
  EXPECT_EQ(s.pending(), 0u);
}

TEST(JsonStreamTest, RefusesJunkAndOversizedObjects) {
  JsonStream junk(1024);
  auto none = [](std::string_view) { FAIL() << "no object expected"; };
  auto st = junk.Feed("stats\n", none);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("byte 0"), std::string::npos) << st.error().message;
  EXPECT_FALSE(junk.Feed("{}", none));  // stays failed
  JsonStream small(8);
  EXPECT_FALSE(small.Feed(R"({"command":"stats"})", none));
}

TEST(HttpTest, ParsesTheRequestLine) {
  auto r = ParseHttpRequest("GET /metrics?x=1 HTTP/1.1\r\nHost: a");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->path, "/metrics");
  EXPECT_EQ(r->query, "x=1");
  EXPECT_FALSE(ParseHttpRequest("GET /"));
  EXPECT_FALSE(ParseHttpRequest("GET metrics HTTP/1.1"));
  EXPECT_FALSE(ParseHttpRequest("GET / SPDY/3"));
  EXPECT_FALSE(ParseHttpRequest("get / HTTP/1.1"));
}

TEST(MetricsTest, NamesLabelsAndEscapes) {
  EXPECT_EQ(MetricName("decode.ipv4.bad-ihl"), "vigil_decode_ipv4_bad_ihl");
  EXPECT_EQ(EscapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  std::string_view tenant, counter;
  ASSERT_TRUE(SplitTenantCounter("tenant.blue.team.bytes", tenant, counter));
  EXPECT_EQ(tenant, "blue.team");
  EXPECT_EQ(counter, "bytes");
  EXPECT_FALSE(SplitTenantCounter("tenant.bytes", tenant, counter));
  Exposition e;
  std::vector<engine::CounterSum> workers(1);
  workers[0].Add("capture.eth0.1.packets", 5);  // a VLAN interface's name has a dot
  workers[0].Add("tenant.x.cycles", 2000000);
  workers[0].Add("tenant.x.tokens", 0);
  workers[0].Add("tenant.x.debt", 250000);
  workers[0].Add("tenant.x.token_bank", 1500000);
  workers[0].Add("flow.active", 4);
  workers[0].Add("engine.packets", 9);
  AddWorkerCounters(e, workers, {"eth0.1"}, 1000000);
  const std::string text = e.Text();
  EXPECT_NE(text.find("vigil_interface_packets_total{interface=\"eth0.1\",worker=\"0\"} 5\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("vigil_tenant_cpu_seconds_total{tenant=\"x\",worker=\"0\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE vigil_tenant_tokens_seconds gauge\n"
                      "vigil_tenant_tokens_seconds{tenant=\"x\",worker=\"0\"} -0.25\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("vigil_tenant_token_bank_seconds{tenant=\"x\",worker=\"0\"} 1.5\n"),
            std::string::npos);
  EXPECT_EQ(text.find("vigil_tenant_debt"), std::string::npos) << "debt is in the balance";
  EXPECT_NE(text.find("# TYPE vigil_flow_active gauge\nvigil_flow_active{worker=\"0\"} 4\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE vigil_engine_packets_total counter\n"), std::string::npos);
}

TEST_F(OpsTest, AnswersCommandsAndErrorsAsObjects) {
  Start();
  struct stat st {};
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);  // owner and group only (README: control socket)
  Client c(socket_);
  ASSERT_TRUE(c.connected());
  EXPECT_EQ(c.Ask({{"version", "0.2"}}), json({{"return", "OK"}}));

  json stats = c.Ask({{"command", "stats"}});
  ASSERT_EQ(stats["return"], "OK") << stats;
  const json& counters = stats["message"]["counters"];
  EXPECT_EQ(counters["decode.ipv4.bad_ihl"], 6);  // summed over two workers
  EXPECT_EQ(stats["message"]["per_worker"].size(), 2u);
  EXPECT_EQ(stats["message"]["per_worker"][1]["flow.active"], 17);
  EXPECT_EQ(stats["message"]["cycles_per_second"], 1000000);

  json unknown = c.Ask({{"command", "frobnicate"}});
  EXPECT_EQ(unknown["return"], "NOK");
  EXPECT_EQ(unknown["error"]["code"], "unknown-command");
  EXPECT_EQ(unknown["error"]["command"], "frobnicate");
  EXPECT_TRUE(unknown["message"].is_string());
  EXPECT_EQ(c.Ask({{"arguments", 1}})["error"]["code"], "no-command");
  EXPECT_EQ(c.Ask({{"command", 7}})["error"]["code"], "no-command");
  c.Send("{\"command\": }\n");
  EXPECT_EQ(c.Next()["error"]["code"], "bad-json");

  json rules = c.Ask({{"command", "rules"}});
  ASSERT_EQ(rules["return"], "OK");
  EXPECT_EQ(rules["message"]["loaded"], 3);
  EXPECT_EQ(rules["message"]["enabled"], 2);
  EXPECT_EQ(rules["message"]["disabled_by_reason"]["keyword not supported"], 1);

  ops_->SampleNow();
  std::this_thread::sleep_for(100ms);
  ops_->SampleNow();
  json tenants = c.Ask({{"command", "tenants"}});
  ASSERT_EQ(tenants["return"], "OK") << tenants;
  const json& list = tenants["message"]["tenants"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "alpha");
  EXPECT_EQ(list[0]["weight"], 3);
  EXPECT_DOUBLE_EQ(list[0]["fair_share"].get<double>(), 0.5);  // capped
  // alpha costs 3000 cycles per frame unit, default 1000: three quarters of the cycles.
  EXPECT_NEAR(list[0]["cpu_share_total"].get<double>(), 0.75, 1e-6);
  EXPECT_NEAR(list[0]["cpu_share_last_second"].get<double>(), 0.75, 0.01);
  EXPECT_GT(list[0]["drops"].get<uint64_t>(), 0u);
  // The balances of both workers' schedulers: 5,000 - 2,000 cycles, at 10^6 cycles a second.
  EXPECT_EQ(list[0]["tokens"], 3000);
  EXPECT_NEAR(list[0]["tokens_cpu_seconds"].get<double>(), 0.003, 1e-12);
  EXPECT_NEAR(list[0]["token_bank_cpu_seconds"].get<double>(), 0.08, 1e-12);
  EXPECT_EQ(list[1]["tokens"], 0);  // default: no scheduler counters in this view

  // Junk that is not an object ends the connection, with an error object first.
  c.Send("stats\n");
  json bad = c.Next();
  EXPECT_EQ(bad["error"]["code"], "bad-stream");
  EXPECT_TRUE(c.Next().is_null());
}

TEST_F(OpsTest, ReloadSaysWhatChangedOrWhyItFailed) {
  Start();
  std::atomic<bool> fail{false};
  view_.on_reload = [&] {
    if (fail) {
      ops_->OnReload({.ok = false, .seconds = 0.1, .rules = 2, .error = "a.rules:3: bad rule"});
      return;
    }
    ops_->StageRunConfig(Summarize(Report({{1, 2, true}, {4, 1, true}}), {"a.rules"}),
                         {{.name = "alpha", .weight = 1}, {.name = "beta"}});
    view_.rules_in_plan = 2;
    ops_->OnReload({.ok = true, .seconds = 0.25, .rules = 2, .tenants = {"alpha", "beta"}});
  };
  Client c(socket_);
  json ok = c.Ask({{"command", "reload"}});
  ASSERT_EQ(ok["return"], "OK") << ok;
  const json& changes = ok["message"]["changes"];
  EXPECT_EQ(changes["rules"]["added"], 1);    // 1:4
  EXPECT_EQ(changes["rules"]["removed"], 1);  // 1:2
  EXPECT_EQ(changes["rules"]["changed"], 1);  // 1:1 rev 1 -> 2
  EXPECT_EQ(changes["rules"]["added_sample"], json({"1:4"}));
  EXPECT_EQ(changes["tenants"]["added"], json({"beta"}));
  EXPECT_EQ(changes["tenants"]["changed"], json({"alpha"}));
  fail = true;
  json failed = c.Ask({{"command", "reload"}});
  EXPECT_EQ(failed["return"], "NOK");
  EXPECT_EQ(failed["error"]["code"], "reload-failed");
  EXPECT_NE(failed["message"].get<std::string>().find("a.rules:3: bad rule"), std::string::npos);
  json history = c.Ask({{"command", "reload-history"}});
  ASSERT_EQ(history["message"].size(), 2u);
  EXPECT_TRUE(history["message"][0]["ok"]);
  EXPECT_FALSE(history["message"][1]["ok"]);
  EXPECT_EQ(view_.reload_requests, 2);
  // The rules the run now has are the staged ones.
  EXPECT_EQ(c.Ask({{"command", "rules"}})["message"]["loaded"], 2);
}

TEST_F(OpsTest, ShutdownAnswersThenStops) {
  Start();
  Client c(socket_);
  json r = c.Ask({{"command", "shutdown"}});
  EXPECT_EQ(r["return"], "OK");
  for (int i = 0; i < 100 && !view_.stop; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(view_.stop);
}

// Many clients polling at once: every answer comes, and the workers are asked for their counters
// at most once per refresh interval however many ask.
TEST_F(OpsTest, ManyClientsShareOneCounterSnapshot) {
  Start({.min_refresh_ms = 100});
  const int kClients = 32, kRequests = 100;
  std::atomic<int> ok{0};
  const uint64_t asks_before = view_.asks;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&] {
      Client c(socket_);
      for (int k = 0; k < kRequests; ++k) ok += c.Ask({{"command", "stats"}})["return"] == "OK";
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(ok, kClients * kRequests);
  // Asked by the commands at most every 100 ms, plus the sampler once a second.
  EXPECT_LE(view_.asks - asks_before, uint64_t(secs / 0.1) + uint64_t(secs) + 3) << secs << " s";
}

// The stats answer is serialized once per counter snapshot, not per request: a burst of requests
// costs a handful of builds, answers in between are the same text (uptime_s included), the HTTP
// /api/stats serves that text's message, and once the refresh interval has passed a newer
// snapshot (larger counters) is served.
TEST_F(OpsTest, StatsAnswerIsBuiltOncePerSnapshot) {
  Start({.min_refresh_ms = 300});
  auto built = [&] { return ops_->stats_answers_built(); };
  auto frames = [](const json& a) { return a["message"]["counters"]["capture.frames"]; };
  const uint64_t built_before = built(), asks_before = view_.asks;
  const auto t0 = std::chrono::steady_clock::now();
  const int kClients = 4, kRequests = 100;
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&] {
      Client c(socket_);
      for (int k = 0; k < kRequests; ++k) ASSERT_EQ(c.Ask({{"command", "stats"}})["return"], "OK");
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const uint64_t builds = built() - built_before;
  EXPECT_GE(builds, 1u);
  // One build per snapshot: those taken during the burst and the one there was before it.
  EXPECT_LE(builds, view_.asks - asks_before + 1) << "a build without a new counter snapshot";
  EXPECT_LE(builds, uint64_t(secs / 0.3) + uint64_t(secs) + 3) << secs << " s";
  EXPECT_NE(
      ops_->MetricsText().find("vigil_stats_answers_built_total " + std::to_string(built()) + "\n"),
      std::string::npos);

  // Back-to-back requests get the same answer unless a refresh falls between them.
  Client c(socket_);
  int same = 0;
  for (int i = 0; i < 20; ++i)
    same += c.Ask({{"command", "stats"}}) == c.Ask({{"command", "stats"}});
  EXPECT_GE(same, 10);
  bool checked_http = false;
  for (int i = 0; i < 10 && !checked_http; ++i) {
    json a = c.Ask({{"command", "stats"}});
    json http = json::parse(Body(HttpGet("/api/stats")), nullptr, false);
    if (c.Ask({{"command", "stats"}}) != a) continue;  // a refresh fell in between: again
    EXPECT_EQ(http, a["message"]);
    checked_http = true;
  }
  EXPECT_TRUE(checked_http);

  // After the refresh interval, a newer snapshot: the fake counters grow with time.
  json before = c.Ask({{"command", "stats"}});
  std::this_thread::sleep_for(350ms);
  const uint64_t built_then = built();
  json after = c.Ask({{"command", "stats"}});
  EXPECT_EQ(built(), built_then + 1);
  EXPECT_GT(frames(after).get<uint64_t>(), frames(before).get<uint64_t>());
  EXPECT_GE(
      after["message"]["uptime_s"].get<double>() - before["message"]["uptime_s"].get<double>(),
      0.3);
}

TEST_F(OpsTest, ClientsOverTheCapAreRefused) {
  Start({.max_clients = 3});
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(socket_));
    ASSERT_EQ(held.back()->Ask({{"command", "version"}})["return"], "OK");
  }
  Client extra(socket_);
  extra.Send(R"({"command":"version"})");
  EXPECT_TRUE(extra.Next().is_null());  // closed without an answer
  held.pop_back();
  std::this_thread::sleep_for(300ms);
  Client again(socket_);
  EXPECT_EQ(again.Ask({{"command", "version"}})["return"], "OK");
  EXPECT_NE(ops_->MetricsText().find("vigil_control_rejected_clients_total 1\n"),
            std::string::npos);
}

TEST_F(OpsTest, HttpRoutes) {
  Start();
  std::string page = HttpGet("/");
  EXPECT_NE(page.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(page.find("<canvas id=\"cpu\">"), std::string::npos);
  EXPECT_EQ(page.find("http://"), std::string::npos) << "the page loads nothing from elsewhere";
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_NE(HttpGet("/nope").find("HTTP/1.1 404"), std::string::npos);
  EXPECT_NE(HttpGet("/", "POST").find("HTTP/1.1 405"), std::string::npos);
  EXPECT_NE(Fetch("GARBAGE\r\n\r\n").find("HTTP/1.1 400"), std::string::npos);
  EXPECT_NE(Fetch(std::string(kMaxHttpHead + 10, 'a')).find("HTTP/1.1 431"), std::string::npos);
  ops_->SampleNow();
  std::this_thread::sleep_for(50ms);
  ops_->SampleNow();
  json d = json::parse(Body(HttpGet("/api/dashboard")), nullptr, false);
  ASSERT_FALSE(d.is_discarded());
  ASSERT_GE(d["samples"].size(), 1u);
  EXPECT_GT(d["samples"].back()["packets"].get<double>(), 0);
  EXPECT_EQ(d["samples"].back()["tenants"].size(), 2u);
}

// promtool (Debian's prometheus package) lints the exposition.
TEST_F(OpsTest, MetricsPassPromtool) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool is missing (scripts/install-deps.sh installs prometheus)";
  }
  Start();
  const std::string response = HttpGet("/metrics");
  ASSERT_NE(response.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  const std::string body = Body(response);
  for (const char* want : {"vigil_capture_frames_total{worker=\"1\"}",
                           "vigil_interface_packets_total{interface=\"vb\",worker=\"0\"}",
                           "vigil_tenant_cpu_seconds_total{tenant=\"alpha\",worker=\"0\"}",
                           "vigil_tenant_refused_total{tenant=\"alpha\",worker=\"1\"}",
                           "vigil_alerts_total 0", "vigil_workers 2", "vigil_rules_loaded 2"}) {
    EXPECT_NE(body.find(want), std::string::npos) << want;
  }
  const fs::path file = dir_ / "metrics.txt";
  std::ofstream(file) << body;
  const std::string cmd = "promtool check metrics < " + file.string() + " > " +
                          (dir_ / "promtool.txt").string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream out(dir_ / "promtool.txt");
  std::stringstream ss;
  ss << out.rdbuf();
  EXPECT_EQ(rc, 0) << ss.str();
  EXPECT_EQ(ss.str(), "");
}

}  // namespace
}  // namespace vigil::control

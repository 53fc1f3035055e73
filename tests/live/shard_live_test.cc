// vigil --shard I/N on a live interface: three vigil processes on one host split an interface by
// the symmetric address-pair hash, the kernel filtering each one's share (net/af_packet.h), with
// real traffic (curl from 24 client addresses to a python3 HTTP server).
//
// - IDS: beside a bridge, one unsharded vigil and three shards capture the same link at the same
//   time; the union of the shards' alerts is the unsharded one's, record for record, and every
//   address pair's packets went to one shard, the one net::ShardOfAddressPair names.
// - Inline: three shards on one bridge pair (va:vb) forward every flow once: each request is
//   answered, no address pair is seen by two shards, and the server's interface received no more
//   frames than the client's sent (a flow forwarded by two shards would arrive twice).
//
// Needs root; every namespace and process goes away with the test objects, also on failure.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/af_packet.h"
#include "net/netns_test_util.h"

namespace vigil::tests {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using test::Process;
using test::ReadFile;

constexpr uint32_t kShards = 3;
constexpr int kClients = 24;  // client addresses 10.79.0.10 .. 10.79.0.33
const char* kServer = "10.79.0.2";

const char* kRules =
    R"(alert http any any -> any any (msg:"shard signature"; content:"shard-signature"; sid:3000001; rev:1;)
alert http any any -> any any (msg:"response seen"; flow:to_client; content:"hello from the server"; sid:3000002; rev:1;)
alert tcp any any -> any any (msg:"tcp packet"; sid:3000003; rev:1;)
)";

std::string ClientAddress(int i) { return "10.79.0." + std::to_string(10 + i); }

uint32_t ExpectedShard(const std::string& a, const std::string& b) {
  std::array<uint8_t, 4> x{}, y{};
  EXPECT_EQ(inet_pton(AF_INET, a.c_str(), x.data()), 1);
  EXPECT_EQ(inet_pton(AF_INET, b.c_str(), y.data()), 1);
  return net::ShardOfAddressPair(x, y, kShards);
}

// An alert record reduced to what must match between runs, and its address pair.
struct Record {
  std::string key;   // "sid src:port > dst:port"
  std::string pair;  // the client's address (the other end is the server)
};

std::vector<Record> ReadAlerts(const fs::path& eve) {
  std::vector<Record> out;
  std::istringstream in(ReadFile(eve));
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || j["event_type"] != "alert") continue;
    std::string src = j["src_ip"], dst = j["dest_ip"];
    out.push_back({std::to_string(j["alert"]["signature_id"].get<int>()) + " " + src + ":" +
                       std::to_string(j.value("src_port", 0)) + " > " + dst + ":" +
                       std::to_string(j.value("dest_port", 0)),
                   src == kServer ? dst : src});
  }
  return out;
}

class ShardLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = test::NetnsTestUnavailable({"python3", "curl"})) GTEST_SKIP() << *why;
    dir_ = test::FreshTestDir("vigil_shard",
                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "www");
    std::ofstream(dir_ / "www/index.html") << "hello from the server\n";
    std::ofstream(dir_ / "test.rules") << kRules;
    topology_ = std::make_unique<test::ForwarderTopology>("h", "10.79");
    ASSERT_TRUE(topology_->ok());
    std::string add;
    for (int i = 0; i < kClients; ++i) {
      add += (add.empty() ? "" : " && ") + ("ip addr add " + ClientAddress(i) + "/24 dev c0");
    }
    ASSERT_EQ(topology_->client.Run(add), 0);
  }

  void TearDown() override {
    vigils_.clear();
    server_process_.reset();
    topology_.reset();
    if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_);
  }

  // Starts vigil in the middle namespace with `args`, its logs in dir_/name; waits until it
  // captures.
  void StartVigil(const std::string& name, const std::string& args) {
    fs::create_directories(dir_ / name);
    const fs::path log = dir_ / (name + ".log");
    vigils_.push_back(
        std::make_unique<Process>("exec " + topology_->middle.Exec() +
                                  (fs::path(VIGIL_BINARY_DIR) / "src/cli/vigil").string() + " " +
                                  args + " -R " + (dir_ / "test.rules").string() + " -l " +
                                  (dir_ / name).string() + " > " + log.string() + " 2>&1"));
    names_.push_back(name);
  }
  void WaitCapturing() {
    for (size_t i = 0; i < vigils_.size(); ++i) {
      const fs::path log = dir_ / (names_[i] + ".log");
      ASSERT_TRUE(test::WaitFor(
          [&] { return ReadFile(log).find("capturing on") != std::string::npos; }, 60s))
          << ReadFile(log);
    }
  }
  // SIGINT to every vigil; each flushes its alerts and exits 0.
  void StopVigils() {
    for (auto& v : vigils_) v->Signal(SIGINT);
    for (size_t i = 0; i < vigils_.size(); ++i) {
      EXPECT_EQ(vigils_[i]->Wait(20s), 0) << ReadFile(dir_ / (names_[i] + ".log"));
    }
  }

  void StartServer() {
    server_process_ = std::make_unique<Process>(
        topology_->server.Exec() + "python3 -m http.server 8080 --bind " + kServer +
        " --directory " + (dir_ / "www").string() + " >/dev/null 2>&1");
    ASSERT_TRUE(test::WaitFor(
        [&] {
          return topology_->server.Run(std::string("curl -s -o /dev/null -m 1 http://") + kServer +
                                       ":8080/index.html") == 0;
        },
        20s));
  }

  // One request from each client address, one after the other; how many were answered.
  int RequestFromEveryClient() {
    int ok = 0;
    for (int i = 0; i < kClients; ++i) {
      ok += topology_->client.Run("curl -s -f -m 5 -o /dev/null --interface " + ClientAddress(i) +
                                  " http://" + kServer + ":8080/index.html?q=shard-signature-" +
                                  std::to_string(i)) == 0;
    }
    return ok;
  }

  // Checks every shard's records: each client address in one shard, the one the reference
  // names, and each shard with some. Returns the union of the shards' records by key.
  std::map<std::string, int> CheckShards() {
    std::map<std::string, int> all;
    std::map<std::string, std::set<uint32_t>> shards_of;
    for (uint32_t s = 0; s < kShards; ++s) {
      std::vector<Record> records = ReadAlerts(dir_ / ("shard" + std::to_string(s)) / "eve.json");
      EXPECT_FALSE(records.empty()) << "shard " << s << " saw no flow of " << kClients;
      for (const Record& r : records) {
        ++all[r.key];
        shards_of[r.pair].insert(s);
      }
    }
    EXPECT_EQ(shards_of.size(), size_t(kClients));
    for (const auto& [client, shards] : shards_of) {
      EXPECT_EQ(shards.size(), 1u) << client << "'s packets reached several shards";
      EXPECT_EQ(*shards.begin(), ExpectedShard(client, kServer)) << client;
    }
    return all;
  }

  fs::path dir_;
  std::unique_ptr<test::ForwarderTopology> topology_;
  std::unique_ptr<Process> server_process_;
  std::vector<std::unique_ptr<Process>> vigils_;
  std::vector<std::string> names_;
};

TEST_F(ShardLiveTest, ThreeShardsOfAMonitoredLinkAlertAsOneProcess) {
  // The middle namespace bridges va and vb; every vigil watches va.
  ASSERT_EQ(topology_->middle.Run("ip link add br0 type bridge && ip link set va master br0 && "
                                  "ip link set vb master br0 && ip link set br0 up"),
            0);
  StartServer();
  StartVigil("whole", "-i va");
  for (uint32_t s = 0; s < kShards; ++s) {
    StartVigil("shard" + std::to_string(s),
               "-i va --shard " + std::to_string(s) + "/" + std::to_string(kShards));
  }
  WaitCapturing();
  EXPECT_EQ(RequestFromEveryClient(), kClients);
  std::this_thread::sleep_for(1500ms);  // the last packets through every ring
  StopVigils();

  std::map<std::string, int> whole;
  int requests = 0;
  for (const Record& r : ReadAlerts(dir_ / "whole/eve.json")) {
    ++whole[r.key];
    requests += r.key.starts_with("3000001 ");
  }
  EXPECT_EQ(requests, kClients);
  std::map<std::string, int> shards = CheckShards();
  EXPECT_EQ(shards, whole) << "the shards' alerts differ from one process's";
}

TEST_F(ShardLiveTest, ThreeInlineShardsForwardEveryFlowOnce) {
  StartServer();
  for (uint32_t s = 0; s < kShards; ++s) {
    StartVigil("shard" + std::to_string(s),
               "-i va:vb --shard " + std::to_string(s) + "/" + std::to_string(kShards));
  }
  WaitCapturing();
  auto counter = [&](test::Netns& ns, const std::string& dev, const std::string& which) {
    return std::stoull(
        "0" + ns.Output("cat /sys/class/net/" + dev + "/statistics/" + which + "_packets"));
  };
  const uint64_t c_tx = counter(topology_->client, "c0", "tx");
  const uint64_t s_rx = counter(topology_->server, "s0", "rx");
  // Every request answered: each share is forwarded (ARP by shard 0, the rest by their shard).
  EXPECT_EQ(RequestFromEveryClient(), kClients);
  std::this_thread::sleep_for(500ms);
  const uint64_t sent = counter(topology_->client, "c0", "tx") - c_tx;
  const uint64_t arrived = counter(topology_->server, "s0", "rx") - s_rx;
  StopVigils();
  EXPECT_GT(sent, uint64_t(kClients) * 5);
  // No frame forwarded by two shards (the server would get it twice: ARP by all three, the rest
  // by two); on a loaded machine a veth may lose one or two of its own.
  EXPECT_LE(arrived, sent);
  EXPECT_GE(arrived + 2, sent);
  std::map<std::string, int> records = CheckShards();
  int requests = 0;
  for (const auto& [key, n] : records) requests += key.starts_with("3000001 ") ? n : 0;
  EXPECT_EQ(requests, kClients);
}

}  // namespace
}  // namespace vigil::tests

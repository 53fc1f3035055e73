#include "net/af_packet.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "craft/frame.h"
#include "net/netns_test_util.h"
#include "net/port.h"
#include "net/port_test_util.h"

namespace vigil::net {
namespace {

using craft::Bytes;

// A veth pair "va" <-> "vb" in a namespace of its own, entered by the test's thread; frames are
// injected on "va" with a plain packet socket and vigil's ports read them on "vb".
class AfPacketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = test::NetnsUnavailable()) GTEST_SKIP() << *why;
    ns_ = std::make_unique<test::Netns>("afpacket");
    ASSERT_TRUE(ns_->ok());
    ASSERT_EQ(ns_->Run("ip link add va type veth peer name vb && ip link set va up && "
                       "ip link set vb up && sysctl -qw net.ipv6.conf.va.disable_ipv6=1 && "
                       "sysctl -qw net.ipv6.conf.vb.disable_ipv6=1"),
              0);
    inside_ = std::make_unique<test::EnterNetns>(*ns_);
    ASSERT_TRUE(inside_->ok());
    inject_ = test::OpenInjector("va");
    ASSERT_GE(inject_, 0);
  }
  void TearDown() override {
    if (inject_ >= 0) close(inject_);
    inside_.reset();
    ns_.reset();
  }

  void Inject(const Bytes& frame) { test::Inject(inject_, frame); }

  static std::vector<Bytes> ReceiveAll(Port& port, size_t want) {
    return test::ReceiveAll(port, want);
  }

  std::unique_ptr<test::Netns> ns_;
  std::unique_ptr<test::EnterNetns> inside_;
  int inject_ = -1;
};

using test::UdpFrame;

TEST_F(AfPacketTest, ReceivesFramesAsSentAndCountsThem) {
  auto port = OpenPort({.interface = "vb"});
  ASSERT_TRUE(port) << port.error().ToString();
  std::vector<Bytes> sent;
  for (int i = 0; i < 100; ++i) {
    sent.push_back(
        UdpFrame("10.0.0.1", "10.0.0.2", uint16_t(1000 + i), "payload " + std::to_string(i)));
    Inject(sent.back());
  }
  std::vector<Bytes> got = ReceiveAll(**port, sent.size());
  EXPECT_EQ(got, sent);
  (*port)->UpdateCounters();
  EXPECT_EQ((*port)->counters().packets, 100u);
  EXPECT_EQ((*port)->counters().kernel_drops, 0u);
}

// MoreWaiting: frames behind those received so far (the tenant scheduler's signal).
TEST_F(AfPacketTest, SaysWhenFramesWaitBehindTheReceivedOnes) {
  auto port = OpenPort({.interface = "vb"});
  ASSERT_TRUE(port) << port.error().ToString();
  EXPECT_FALSE((*port)->MoreWaiting());
  for (int i = 0; i < 100; ++i) Inject(UdpFrame("10.0.0.1", "10.0.0.2", uint16_t(1000 + i), "x"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // every block retired
  ASSERT_TRUE((*port)->Wait(1000));
  std::array<Frame, 10> first;
  ASSERT_EQ((*port)->Receive(first), first.size());
  EXPECT_TRUE((*port)->MoreWaiting());
  EXPECT_EQ(ReceiveAll(**port, 90).size(), 90u);
  EXPECT_FALSE((*port)->MoreWaiting());
}

TEST_F(AfPacketTest, PutsBackTheVlanTagTheKernelStripped) {
  auto port = OpenPort({.interface = "vb"});
  ASSERT_TRUE(port) << port.error().ToString();
  Bytes tagged = UdpFrame("10.0.0.1", "10.0.0.2", 1000, "tagged", {{.id = 100, .priority = 3}});
  Bytes qinq = UdpFrame("10.0.0.1", "10.0.0.2", 1001, "double",
                        {{.id = 7, .tpid = craft::kEtherTypeQinQ}, {.id = 200}});
  Inject(tagged);
  Inject(qinq);
  std::vector<Bytes> got = ReceiveAll(**port, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], tagged);
  EXPECT_EQ(got[1], qinq);
}

TEST_F(AfPacketTest, FanoutKeepsBothDirectionsAndFragmentsOnOneMember) {
  constexpr uint32_t kMembers = 3;
  std::vector<std::unique_ptr<Port>> ports;
  for (uint32_t m = 0; m < kMembers; ++m) {
    auto port = OpenPort({.interface = "vb", .members = kMembers, .member = m});
    ASSERT_TRUE(port) << port.error().ToString();
    ports.push_back(std::move(*port));
  }
  // 60 IPv4 and 60 IPv6 address pairs, each in both directions, and per IPv4 pair a datagram in
  // fragments whose later pieces carry no ports. The payload names the pair ("pair7",
  // "pair107" for the IPv6 one).
  size_t total = 0;
  for (int pair = 0; pair < 60; ++pair) {
    std::string a = "10.1." + std::to_string(pair) + ".1", b = "10.2.0." + std::to_string(pair);
    std::string tag = "pair" + std::to_string(pair), tag6 = "pair" + std::to_string(100 + pair);
    Inject(UdpFrame(a.c_str(), b.c_str(), uint16_t(2000 + pair), tag));
    Inject(UdpFrame(b.c_str(), a.c_str(), 53, tag));
    std::string a6 = "2001:db8::" + std::to_string(pair + 1), b6 = "2001:db8:1::9";
    Inject(UdpFrame(a6.c_str(), b6.c_str(), 3000, tag6));
    Inject(UdpFrame(b6.c_str(), a6.c_str(), 53, tag6));
    auto pieces =
        craft::Fragment(UdpFrame(a.c_str(), b.c_str(), 4000, tag + std::string(600, 'x')), 200);
    ASSERT_TRUE(pieces);
    ASSERT_GT(pieces->size(), 2u);
    for (const Bytes& f : *pieces) Inject(f);
    total += 4 + pieces->size();
  }
  std::map<std::string, std::set<uint32_t>> members_of;  // pair tag -> members that saw it
  std::map<uint64_t, uint32_t> ip_id_member;             // fragments: by IPv4 id
  size_t got = 0;
  for (uint32_t m = 0; m < kMembers; ++m) {
    for (const Bytes& f : ReceiveAll(*ports[m], total)) {
      ++got;
      std::string text(f.begin(), f.end());
      size_t at = text.find("pair");
      if (at != std::string::npos) {
        size_t end = at + 4;
        while (end < text.size() && isdigit(uint8_t(text[end]))) ++end;
        members_of[text.substr(at, end - at)].insert(m);
      } else {
        // A later fragment: no tag; its addresses decide. Key by source address bytes.
        uint64_t key =
            (uint64_t(f[26]) << 24) | (uint64_t(f[27]) << 16) | (uint64_t(f[28]) << 8) | f[29];
        auto [it, fresh] = ip_id_member.emplace(key, m);
        EXPECT_EQ(it->second, m) << "fragments of one address pair on two members";
      }
    }
  }
  EXPECT_EQ(got, total);
  std::set<uint32_t> used;
  for (const auto& [tag, members] : members_of) {
    EXPECT_EQ(members.size(), 1u) << tag << " reached several members";
    used.insert(members.begin(), members.end());
  }
  EXPECT_EQ(members_of.size(), 120u);
  EXPECT_EQ(used.size(), kMembers) << "the hash should spread 120 pairs over every member";
}

// --shard I/N across processes: three shards of two fanout members each on one interface (as
// three vigil processes with -z 2). Every frame reaches exactly one socket, the one of the share
// that ShardOfAddressPair names (the kernel's classic BPF filter and the C++ reference agree),
// both directions and every fragment of a pair stay together, frames that are not IP go to
// shard 0 only, and both members of each shard get a part of its pairs.
TEST_F(AfPacketTest, ShardsSplitAnInterfaceByAddressPairAsTheReferenceSays) {
  constexpr uint32_t kShards = 3, kMembers = 2;
  std::vector<std::unique_ptr<Port>> ports;  // shard s, member m at s * kMembers + m
  for (uint32_t s = 0; s < kShards; ++s) {
    for (uint32_t m = 0; m < kMembers; ++m) {
      auto port = OpenPort(
          {.interface = "vb", .members = kMembers, .member = m, .shards = kShards, .shard = s});
      ASSERT_TRUE(port) << port.error().ToString();
      ports.push_back(std::move(*port));
    }
  }
  auto bytes_of = [](const std::string& text) {
    std::array<uint8_t, 16> b{};
    bool v6 = text.find(':') != std::string::npos;
    EXPECT_EQ(inet_pton(v6 ? AF_INET6 : AF_INET, text.c_str(), b.data()), 1) << text;
    return std::vector<uint8_t>(b.begin(), b.begin() + (v6 ? 16 : 4));
  };
  std::map<std::string, uint32_t> expected_shard;  // pair tag -> share
  size_t total = 0;
  for (int pair = 0; pair < 60; ++pair) {
    std::string a = "10.1." + std::to_string(pair) + ".1", b = "10.2.0." + std::to_string(pair);
    std::string a6 = "2001:db8::" + std::to_string(pair + 1), b6 = "2001:db8:1::9";
    std::string tag = "pair" + std::to_string(pair), tag6 = "pair" + std::to_string(100 + pair);
    expected_shard[tag] = ShardOfAddressPair(bytes_of(a), bytes_of(b), kShards);
    EXPECT_EQ(expected_shard[tag], ShardOfAddressPair(bytes_of(b), bytes_of(a), kShards));
    expected_shard[tag6] = ShardOfAddressPair(bytes_of(a6), bytes_of(b6), kShards);
    Inject(UdpFrame(a.c_str(), b.c_str(), uint16_t(2000 + pair), tag));
    Inject(UdpFrame(b.c_str(), a.c_str(), 53, tag));
    Inject(UdpFrame(a6.c_str(), b6.c_str(), 3000, tag6));
    Inject(UdpFrame(b6.c_str(), a6.c_str(), 53, tag6));
    // Later fragments carry no tag: their payload bytes are all 'x'; the tag rides in front.
    auto pieces =
        craft::Fragment(UdpFrame(a.c_str(), b.c_str(), 4000, tag + std::string(600, 'x')), 200);
    ASSERT_TRUE(pieces);
    for (const Bytes& f : *pieces) Inject(f);
    total += 4 + pieces->size();
  }
  // An ARP request (not IP): shard 0 only, so that inline shards forward it once.
  Bytes arp(42, 0);
  std::fill(arp.begin(), arp.begin() + 6, 0xff);
  arp[12] = 0x08;
  arp[13] = 0x06;
  Inject(arp);
  ++total;

  std::map<std::string, std::set<uint32_t>> shards_of;
  std::map<std::string, uint32_t> fragment_shard;  // later fragments, by source address
  std::vector<std::set<uint32_t>> members_used(kShards);
  size_t got = 0, arps = 0;
  for (uint32_t i = 0; i < ports.size(); ++i) {
    const uint32_t shard = i / kMembers;
    for (const Bytes& f : ReceiveAll(*ports[i], total)) {
      ++got;
      if (f.size() >= 14 && f[12] == 0x08 && f[13] == 0x06) {
        ++arps;
        EXPECT_EQ(shard, 0u) << "ARP outside shard 0";
        continue;
      }
      members_used[shard].insert(i % kMembers);
      std::string text(f.begin(), f.end());
      size_t at = text.find("pair");
      if (at == std::string::npos) {
        std::string src = std::to_string(f[26]) + "." + std::to_string(f[27]) + "." +
                          std::to_string(f[28]) + "." + std::to_string(f[29]);
        auto [it, fresh] = fragment_shard.emplace(src, shard);
        EXPECT_EQ(it->second, shard) << "fragments of " << src << " in two shards";
        continue;
      }
      size_t end = at + 4;
      while (end < text.size() && isdigit(uint8_t(text[end]))) ++end;
      shards_of[text.substr(at, end - at)].insert(shard);
    }
  }
  EXPECT_EQ(got, total) << "a frame reached no shard, or two";
  EXPECT_EQ(arps, 1u);
  ASSERT_EQ(shards_of.size(), expected_shard.size());
  std::vector<size_t> per_shard(kShards);
  for (const auto& [tag, shards] : shards_of) {
    ASSERT_EQ(shards.size(), 1u) << tag << " reached several shards";
    EXPECT_EQ(*shards.begin(), expected_shard[tag]) << tag;
    ++per_shard[*shards.begin()];
  }
  for (uint32_t s = 0; s < kShards; ++s) {
    EXPECT_GT(per_shard[s], 20u) << "shard " << s << " of 120 pairs";
    EXPECT_EQ(members_used[s].size(), kMembers) << "shard " << s << " fed one worker only";
  }
}

TEST(AfPacketOpen, RefusesABadShard) {
  if (auto why = test::NetnsUnavailable()) GTEST_SKIP() << *why;
  auto port = OpenPort({.interface = "lo", .shards = 2, .shard = 2});
  ASSERT_FALSE(port);
  EXPECT_NE(port.error().message.find("shard 2 of 2"), std::string::npos) << port.error().message;
}

TEST_F(AfPacketTest, TransmitsFramesAndDoesNotCaptureThemAgain) {
  auto port_b = OpenPort({.interface = "vb"});
  auto port_a = OpenPort({.interface = "va"});
  ASSERT_TRUE(port_b && port_a);
  std::vector<Bytes> sent;
  for (int i = 0; i < 40; ++i) {
    sent.push_back(UdpFrame("10.0.0.2", "10.0.0.1", 53, "reply " + std::to_string(i)));
  }
  std::vector<Frame> frames;
  for (Bytes& b : sent) frames.push_back({.data = b.data(), .caplen = uint32_t(b.size())});
  EXPECT_EQ((*port_b)->Transmit(frames), sent.size());
  EXPECT_EQ(ReceiveAll(**port_a, sent.size()), sent);
  // Nothing comes back on the sending interface.
  EXPECT_TRUE(ReceiveAll(**port_b, 1).empty());
  EXPECT_EQ((*port_b)->counters().tx_packets, sent.size());
}

TEST(AfPacketOpen, NamesAMissingInterface) {
  if (auto why = test::NetnsUnavailable()) GTEST_SKIP() << *why;
  auto port = OpenPort({.interface = "vigil-nosuch0"});
  ASSERT_FALSE(port);
  EXPECT_NE(port.error().message.find("vigil-nosuch0: no such network interface"),
            std::string::npos)
      << port.error().message;
}

TEST(AfPacketOpen, ParsesBackendNames) {
  EXPECT_TRUE(ParseBackend("afpacket"));
  auto bad = ParseBackend("dpdk");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("dpdk"), std::string::npos);
}

}  // namespace
}  // namespace vigil::net

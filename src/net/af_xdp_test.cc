#include "net/af_xdp.h"

#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "craft/craft_test_util.h"
#include "craft/frame.h"
#include "net/netns_test_util.h"
#include "net/port.h"
#include "net/port_test_util.h"

namespace vigil::net {
namespace {

using craft::Bytes;

// Why AF_XDP cannot be tested here (besides namespaces): the kernel or the process refuses an
// AF_XDP socket.
std::optional<std::string> AfXdpUnavailable() {
  int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("the kernel refuses AF_XDP sockets: ") + std::strerror(errno);
  close(fd);
  return std::nullopt;
}

// A veth pair "va" <-> "vb" (`queues` queues each way) in a namespace of its own, entered by the
// test's thread; frames are injected on "va" with a plain packet socket and AF_XDP ports read
// them on "vb".
class AfXdpTest : public ::testing::Test {
 protected:
  void SetUp() override { MakePair(1); }

  void MakePair(int queues) {
    if (auto why = test::NetnsUnavailable()) GTEST_SKIP() << *why;
    ns_ = std::make_unique<test::Netns>("afxdp");
    ASSERT_TRUE(ns_->ok());
    std::string q = std::to_string(queues);
    ASSERT_EQ(ns_->Run("ip link add va numtxqueues " + q + " numrxqueues " + q +
                       " type veth peer name vb numtxqueues " + q + " numrxqueues " + q +
                       " && ip link set va up && ip link set vb up && "
                       "sysctl -qw net.ipv6.conf.va.disable_ipv6=1 && "
                       "sysctl -qw net.ipv6.conf.vb.disable_ipv6=1"),
              0);
    inside_ = std::make_unique<test::EnterNetns>(*ns_);
    ASSERT_TRUE(inside_->ok());
    if (auto why = AfXdpUnavailable()) GTEST_SKIP() << *why;
    inject_ = test::OpenInjector("va");
    ASSERT_GE(inject_, 0);
  }
  void TearDown() override {
    if (inject_ >= 0) close(inject_);
    inject_ = -1;
    inside_.reset();
    ns_.reset();
  }

  // Opens an AF_XDP port, or skips the test when the kernel refuses AF_XDP on a veth.
  std::unique_ptr<Port> Open(PortOptions o) {
    o.backend = Backend::kAfXdp;
    auto port = OpenPort(o);
    if (!port) {
      ADD_FAILURE() << port.error().ToString();
      return nullptr;
    }
    return std::move(*port);
  }

  void Inject(const Bytes& frame) { test::Inject(inject_, frame); }

  static std::vector<Bytes> ReceiveAll(Port& port, size_t want) {
    return test::ReceiveAll(port, want, [](const Frame& f) {
      EXPECT_EQ(f.offload.gso_type, 0) << "XDP frames are never super-frames";
    });
  }

  std::unique_ptr<test::Netns> ns_;
  std::unique_ptr<test::EnterNetns> inside_;
  int inject_ = -1;
};

using test::UdpFrame;

TEST_F(AfXdpTest, ReceivesFramesAsSentAndCountsThem) {
  auto port = Open({.interface = "vb"});
  ASSERT_TRUE(port);
  // veth has native XDP but no zero-copy.
  EXPECT_EQ(DescribeAfXdp(*port), "vb queue 0: native XDP, copy mode");
  std::vector<Bytes> sent;
  for (int i = 0; i < 100; ++i) {
    sent.push_back(
        UdpFrame("10.0.0.1", "10.0.0.2", uint16_t(1000 + i), "payload " + std::to_string(i)));
    Inject(sent.back());
  }
  std::vector<Bytes> got = ReceiveAll(*port, sent.size());
  EXPECT_EQ(got, sent);
  port->UpdateCounters();
  EXPECT_EQ(port->counters().packets, 100u);
  EXPECT_EQ(port->counters().kernel_drops, 0u);
}

TEST_F(AfXdpTest, CountsWhatTheFullRingDropped) {
  auto port = Open({.interface = "vb"});
  ASSERT_TRUE(port);
  // More frames than the receive frames, none read meanwhile: the RX ring fills and the kernel
  // drops the rest; what was received and what was dropped add up to what was sent.
  constexpr size_t kSent = 3000;
  for (size_t i = 0; i < kSent; ++i) {
    Inject(UdpFrame("10.0.0.1", "10.0.0.2", uint16_t(i), "flood"));
    // veth's own queue to the peer holds 256 frames; give the peer's poll time to empty it.
    if (i % 128 == 127) usleep(2000);
  }
  EXPECT_TRUE(port->Backlogged());
  std::vector<Bytes> got = ReceiveAll(*port, kSent);
  EXPECT_FALSE(port->Backlogged());
  port->UpdateCounters();
  EXPECT_EQ(got.size(), kAfXdpFrames / 2);
  EXPECT_EQ(port->counters().kernel_drops, kSent - got.size());
  EXPECT_EQ(port->counters().packets, kSent);
  // The frames went back to the fill ring: the port receives again.
  Bytes after = UdpFrame("10.0.0.1", "10.0.0.2", 7, "after");
  Inject(after);
  EXPECT_EQ(ReceiveAll(*port, 1), std::vector<Bytes>{after});
}

TEST_F(AfXdpTest, PassesVlanTaggedFramesAsSent) {
  auto port = Open({.interface = "vb"});
  ASSERT_TRUE(port);
  Bytes tagged = UdpFrame("10.0.0.1", "10.0.0.2", 1000, "tagged", {{.id = 100, .priority = 3}});
  Bytes qinq = UdpFrame("10.0.0.1", "10.0.0.2", 1001, "double",
                        {{.id = 7, .tpid = craft::kEtherTypeQinQ}, {.id = 200}});
  Inject(tagged);
  Inject(qinq);
  std::vector<Bytes> got = ReceiveAll(*port, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], tagged);
  EXPECT_EQ(got[1], qinq);
}

TEST_F(AfXdpTest, TransmitsFramesThatArriveOnThePeer) {
  auto port_b = Open({.interface = "vb"});
  ASSERT_TRUE(port_b);
  // The peer reads with AF_PACKET: an independent witness of what left vb.
  auto port_a = OpenPort({.interface = "va"});
  ASSERT_TRUE(port_a) << port_a.error().ToString();
  std::vector<Bytes> sent;
  // More than the transmit frames, so that completions must be reclaimed on the way.
  for (int i = 0; i < 3000; ++i) {
    sent.push_back(UdpFrame("10.0.0.2", "10.0.0.1", 53, "reply " + std::to_string(i)));
  }
  sent.push_back(UdpFrame("10.0.0.2", "10.0.0.1", 53, std::string(1400, 'z'), {{.id = 42}}));
  std::vector<Bytes> got;
  for (size_t at = 0; at < sent.size(); at += 32) {
    std::vector<Frame> frames;
    for (size_t i = at; i < std::min(at + 32, sent.size()); ++i) {
      frames.push_back({.data = sent[i].data(), .caplen = uint32_t(sent[i].size())});
    }
    EXPECT_EQ(port_b->Transmit(frames), frames.size());
    // Read as we go: the AF_PACKET ring on va is not sized for the whole burst.
    for (Bytes& b : ReceiveAll(**port_a, frames.size())) got.push_back(std::move(b));
  }
  EXPECT_EQ(got, sent);
  EXPECT_EQ(port_b->counters().tx_packets, sent.size());
  port_b->UpdateCounters();
  EXPECT_EQ(port_b->counters().tx_errors, 0u);
  // Nothing comes back on the sending port.
  EXPECT_TRUE(ReceiveAll(*port_b, 1).empty());
}

TEST_F(AfXdpTest, ABurstLargerThanThePeersQueueArrivesWhole) {
  // Both ends read by AF_XDP: veth then queues frames to the peer in a ring of 256 and pushes
  // back when it is full, so one Transmit of 1,500 frames cannot go out in one go.
  auto port_a = Open({.interface = "va"});
  auto port_b = Open({.interface = "vb"});
  ASSERT_TRUE(port_a && port_b);
  std::vector<Bytes> sent;
  std::vector<Frame> frames;
  for (int i = 0; i < 1500; ++i) {
    sent.push_back(UdpFrame("10.0.0.2", "10.0.0.1", 53, "burst " + std::to_string(i)));
  }
  for (Bytes& b : sent) frames.push_back({.data = b.data(), .caplen = uint32_t(b.size())});
  EXPECT_EQ(port_b->Transmit(frames), sent.size());
  std::vector<Bytes> got;
  std::array<Frame, 32> batch;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (got.size() < sent.size() && std::chrono::steady_clock::now() < deadline) {
    // A worker waits on every port it holds; that is when vb sends what it could not yet.
    (void)port_b->Wait(0);
    if (!port_a->Wait(10)) continue;
    size_t n = port_a->Receive(batch);
    for (size_t i = 0; i < n; ++i) got.emplace_back(batch[i].data, batch[i].data + batch[i].caplen);
    port_a->Release();
  }
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_EQ(got, sent);
  port_a->UpdateCounters();
  port_b->UpdateCounters();
  EXPECT_EQ(port_a->counters().kernel_drops, 0u);
  EXPECT_EQ(port_b->counters().tx_errors, 0u);
}

TEST_F(AfXdpTest, RefusesMoreWorkersThanQueuesNamingBoth) {
  auto port = OpenPort({.interface = "vb", .backend = Backend::kAfXdp, .members = 2});
  ASSERT_FALSE(port);
  EXPECT_NE(port.error().message.find("vb: 2 workers for 1 receive queue"), std::string::npos)
      << port.error().message;
}

// A queue without a socket would send its frames to the kernel's stack, past inspection.
TEST_F(AfXdpTest, RefusesFewerWorkersThanQueues) {
  TearDown();
  MakePair(2);
  if (IsSkipped()) return;
  auto port = OpenPort({.interface = "vb", .backend = Backend::kAfXdp, .members = 1});
  ASSERT_FALSE(port);
  EXPECT_NE(port.error().message.find("vb: 1 worker for 2 receive queues"), std::string::npos)
      << port.error().message;
}

TEST_F(AfXdpTest, SeveralMembersReadOneQueueEach) {
  TearDown();
  MakePair(2);
  if (IsSkipped()) return;
  std::vector<std::unique_ptr<Port>> ports;
  for (uint32_t m = 0; m < 2; ++m) {
    ports.push_back(Open({.interface = "vb", .members = 2, .member = m}));
    ASSERT_TRUE(ports.back());
    EXPECT_EQ(DescribeAfXdp(*ports.back()),
              "vb queue " + std::to_string(m) + ": native XDP, copy mode");
  }
  // Each frame reaches the queue va transmitted it on (the packet socket's flow hash picks
  // it): every frame arrives exactly once over the two members.
  std::set<Bytes> sent;
  for (int i = 0; i < 200; ++i) {
    Bytes f = UdpFrame(("10.3." + std::to_string(i) + ".1").c_str(), "10.0.0.2", uint16_t(5000 + i),
                       "q" + std::to_string(i));
    Inject(f);
    sent.insert(f);
  }
  std::multiset<Bytes> got;
  for (auto& port : ports) {
    std::vector<Bytes> mine = ReceiveAll(*port, sent.size());
    // 200 flows over two queues: both are used, else member 1 went untested.
    EXPECT_FALSE(mine.empty()) << DescribeAfXdp(*port) << " received nothing";
    got.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(got, std::multiset<Bytes>(sent.begin(), sent.end()));
}

// The checksum field a stack leaves for the device (CHECKSUM_PARTIAL): the folded sum of the
// pseudo-header, here computed independently of the backend (RFC 793, RFC 8200 8.1).
uint16_t PseudoHeaderSum(const Bytes& frame, size_t ip, bool v6, uint8_t proto, size_t l4_len) {
  Bytes pseudo;
  if (v6) {
    pseudo.assign(frame.begin() + ip + 8, frame.begin() + ip + 40);
    pseudo.insert(pseudo.end(), {uint8_t(l4_len >> 24), uint8_t(l4_len >> 16), uint8_t(l4_len >> 8),
                                 uint8_t(l4_len), 0, 0, 0, proto});
  } else {
    pseudo.assign(frame.begin() + ip + 12, frame.begin() + ip + 20);
    pseudo.insert(pseudo.end(), {0, proto, uint8_t(l4_len >> 8), uint8_t(l4_len)});
  }
  return craft::testing::OnesSum(pseudo);
}

TEST_F(AfXdpTest, MarksPartialChecksumsAndFinishesThemOnTransmit) {
  auto port_b = Open({.interface = "vb"});
  ASSERT_TRUE(port_b);
  auto port_a = OpenPort({.interface = "va"});
  ASSERT_TRUE(port_a) << port_a.error().ToString();
  // TCP over IPv4, and UDP over IPv6 behind a VLAN tag, each built with its complete checksum
  // and again with the partial one a local sender with checksum offload hands to veth.
  craft::FrameSpec tcp{.ip = {.src = craft::Addr("10.0.0.1"), .dst = craft::Addr("10.0.0.2")},
                       .transport = craft::TcpHeader{.src_port = 40000, .dst_port = 80},
                       .payload = craft::ToBytes("GET / HTTP/1.1\r\n\r\n")};
  craft::FrameSpec udp{.ethernet = craft::EthernetHeader{.vlans = {{.id = 9}}},
                       .ip = {.src = craft::Addr("2001:db8::1"), .dst = craft::Addr("2001:db8::2")},
                       .transport = craft::UdpHeader{.src_port = 5353, .dst_port = 53},
                       .payload = craft::ToBytes("a query, odd length")};
  Bytes tcp_complete = craft::BuildFrame(tcp), udp_complete = craft::BuildFrame(udp);
  std::get<craft::TcpHeader>(tcp.transport).checksum =
      PseudoHeaderSum(tcp_complete, 14, false, 6, tcp_complete.size() - 34);
  std::get<craft::UdpHeader>(udp.transport).checksum =
      PseudoHeaderSum(udp_complete, 18, true, 17, udp_complete.size() - 58);
  Bytes tcp_partial = craft::BuildFrame(tcp), udp_partial = craft::BuildFrame(udp);
  ASSERT_NE(tcp_partial, tcp_complete);
  ASSERT_NE(udp_partial, udp_complete);
  for (const Bytes* f : {&tcp_partial, &udp_partial, &tcp_complete}) Inject(*f);

  std::vector<Frame> frames;
  std::array<Frame, 8> batch;
  for (int tries = 0; tries < 50 && frames.size() < 3; ++tries) {
    if (!port_b->Wait(20)) continue;
    size_t n = port_b->Receive(batch);
    frames.insert(frames.end(), batch.begin(), batch.begin() + n);
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_TRUE(frames[0].checksum_partial);
  EXPECT_EQ(frames[0].offload.csum_start, 34);  // Ethernet + IPv4
  EXPECT_EQ(frames[0].offload.csum_offset, 16);
  EXPECT_TRUE(frames[1].checksum_partial);
  EXPECT_EQ(frames[1].offload.csum_start, 58);  // Ethernet + VLAN tag + IPv6
  EXPECT_EQ(frames[1].offload.csum_offset, 6);
  EXPECT_FALSE(frames[2].checksum_partial);
  EXPECT_EQ(frames[2].offload.flags, 0);
  // Received in place: the ring's bytes are as sent, partial checksums included.
  EXPECT_EQ(Bytes(frames[0].data, frames[0].data + frames[0].caplen), tcp_partial);
  EXPECT_EQ(port_b->Transmit(frames), 3u);
  port_b->Release();
  std::vector<Bytes> got = ReceiveAll(**port_a, 3);
  EXPECT_EQ(got, (std::vector<Bytes>{tcp_complete, udp_complete, tcp_complete}));
}

// What a bridge of two AF_XDP ports saw of a TCP connection, measured in the bridge.
struct BridgeSeen {
  size_t frames = 0;
  size_t max_frame = 0;
  size_t bad_tcp_checksums = 0;  // checksum left for offload (CHECKSUM_PARTIAL) shows as bad
  size_t tcp_frames = 0;
  size_t unmarked = 0;  // a bad checksum not marked partial
};

// client ns: c0 (10.9.0.1) -- veth -- c1 [AF_XDP bridge in the test's ns] s1 -- veth -- s0
// (10.9.0.2) server ns. Every end keeps the kernel's default offloads (TSO, GSO, GRO, checksum
// offload on). The bridge forwards every frame from one port to the other, as the inline mode
// will.
TEST_F(AfXdpTest, ForwardsATcpStreamWithDefaultOffloads) {
  test::Netns cli("xcli"), srv("xsrv");
  ASSERT_TRUE(cli.ok() && srv.ok());
  ASSERT_EQ(ns_->Run("ip link add c1 type veth peer name c0 netns " + cli.name() +
                     " && ip link add s1 type veth peer name s0 netns " + srv.name() +
                     " && ip link set c1 up && ip link set s1 up"),
            0);
  ASSERT_EQ(cli.Run("ip addr add 10.9.0.1/24 dev c0 && ip link set c0 up"), 0);
  ASSERT_EQ(srv.Run("ip addr add 10.9.0.2/24 dev s0 && ip link set s0 up"), 0);
  std::string offloads = cli.Output(
      "ethtool -k c0 | grep -E \"^(tcp-segmentation-offload|"
      "generic-segmentation-offload|tx-checksumming):\"");
  auto c1 = Open({.interface = "c1"});
  auto s1 = Open({.interface = "s1"});
  ASSERT_TRUE(c1 && s1);
  std::string offloads_after = cli.Output(
      "ethtool -k c0 | grep -E \"^(tcp-segmentation-offload|generic-segmentation-offload|"
      "tx-checksumming):\"");
  std::atomic<bool> stop = false;
  BridgeSeen seen;
  std::thread bridge([&] {
    std::array<Frame, 32> frames;
    while (!stop) {
      for (auto [from, to] : {std::pair{c1.get(), s1.get()}, std::pair{s1.get(), c1.get()}}) {
        if (!from->Wait(0)) continue;
        size_t n = from->Receive(frames);
        for (size_t i = 0; i < n; ++i) {
          ++seen.frames;
          seen.max_frame = std::max<size_t>(seen.max_frame, frames[i].caplen);
          auto d =
              craft::testing::Dissect(Bytes(frames[i].data, frames[i].data + frames[i].caplen));
          if (d && d->protocol == 6) {
            ++seen.tcp_frames;
            if (!d->l4_checksum_ok) ++seen.bad_tcp_checksums;
            if (!d->l4_checksum_ok && !frames[i].checksum_partial) ++seen.unmarked;
          }
        }
        to->Transmit({frames.data(), n});
        from->Release();
      }
      usleep(50);
    }
  });
  // 4 MB each way over one connection; each side prints what it received and its SHA-256.
  std::string dir = "/tmp/vigil-afxdp-" + std::to_string(getpid());
  ASSERT_EQ(test::Shell("mkdir -p " + dir), 0);
  std::ofstream(dir + "/peer.py") << R"(import hashlib, socket, sys, threading, time
data = hashlib.shake_256(b"vigil").digest(4 << 20)
def serve(c):
    t = threading.Thread(target=c.sendall, args=(data,)); t.start()
    got = bytearray()
    while len(got) < len(data):
        b = c.recv(1 << 16)
        if not b: break
        got += b
    t.join()
    print(len(got), got == data)
if sys.argv[1] == "server":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.9.0.2", 5001)); s.listen(1); s.settimeout(8)
    serve(s.accept()[0])
else:
    for attempt in range(40):  # until the server listens
        try:
            c = socket.create_connection(("10.9.0.2", 5001), timeout=8); break
        except ConnectionRefusedError:
            time.sleep(0.1)
    serve(c)
)";
  std::string server_out = dir + "/server.out";
  ASSERT_EQ(
      test::Shell(srv.Exec() + "python3 " + dir + "/peer.py server > " + server_out + " 2>&1 &"),
      0);
  std::string client =
      test::ShellOutput(cli.Exec() + "timeout 9 python3 " + dir + "/peer.py client 2>&1");
  usleep(200'000);
  stop = true;
  bridge.join();
  std::string server = test::ShellOutput("cat " + server_out);
  test::Shell("rm -rf " + dir);
  c1->UpdateCounters();
  s1->UpdateCounters();
  std::cerr << "c0 offloads before the program: " << offloads << "c0 offloads after:\n"
            << offloads_after << "bridge: " << seen.frames << " frames, " << seen.tcp_frames
            << " TCP, largest " << seen.max_frame << " bytes, " << seen.bad_tcp_checksums
            << " TCP checksums not finished; drops " << c1->counters().kernel_drops << "/"
            << s1->counters().kernel_drops << ", tx errors " << c1->counters().tx_errors << "/"
            << s1->counters().tx_errors << "\n";
  EXPECT_EQ(seen.unmarked, 0u);
  // Measured on Linux 6.18: the program on c1 takes TSO off c0, so the stack segments before
  // veth; no frame is larger than the MTU allows.
  EXPECT_LE(seen.max_frame, 1514u);
  EXPECT_EQ(client, "4194304 True\n");
  EXPECT_EQ(server, "4194304 True\n");
}

TEST_F(AfXdpTest, FallsBackToGenericXdpWhereTheDriverHasNone) {
  // The loopback device has no native XDP; generic (SKB) mode attaches to anything.
  auto port = Open({.interface = "lo"});
  ASSERT_TRUE(port);
  std::string mode = DescribeAfXdp(*port);
  EXPECT_EQ(mode.rfind("lo queue 0: generic (SKB) XDP, copy mode (native refused: ", 0), 0u)
      << mode;
  std::cerr << mode << "\n";
}

TEST_F(AfXdpTest, DetachesTheProgramWhenTheLastPortCloses) {
  auto port = Open({.interface = "vb"});
  ASSERT_TRUE(port);
  EXPECT_NE(ns_->Output("ip link show vb").find(" xdp"), std::string::npos);
  port.reset();
  // Left attached, the program would keep TSO off the peer and pass frames through XDP.
  EXPECT_EQ(ns_->Output("ip link show vb").find(" xdp"), std::string::npos)
      << ns_->Output("ip link show vb");
}

TEST_F(AfXdpTest, ReopensAQueueJustClosedAndRefusesAHeldOne) {
  // The kernel frees a closed socket's queue a moment later: a port reopened at once (a worker
  // restarted) must wait for it rather than take it for a driver without native XDP.
  for (int i = 0; i < 5; ++i) {
    auto port = Open({.interface = "vb"});
    ASSERT_TRUE(port);
    EXPECT_EQ(DescribeAfXdp(*port), "vb queue 0: native XDP, copy mode") << "round " << i;
  }
  auto held = Open({.interface = "vb"});
  ASSERT_TRUE(held);
  auto second = OpenPort({.interface = "vb", .backend = Backend::kAfXdp});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("vb: queue 0 is busy"), std::string::npos)
      << second.error().message;
}

TEST(AfXdpOpen, NamesAMissingInterface) {
  if (auto why = test::NetnsUnavailable()) GTEST_SKIP() << *why;
  auto port = OpenPort({.interface = "vigil-nosuch0", .backend = Backend::kAfXdp});
  ASSERT_FALSE(port);
  EXPECT_NE(port.error().message.find("vigil-nosuch0: no such network interface"),
            std::string::npos)
      << port.error().message;
}

TEST(AfXdpOpen, ParsesItsBackendName) {
  auto backend = ParseBackend("afxdp");
  ASSERT_TRUE(backend);
  EXPECT_EQ(*backend, Backend::kAfXdp);
}

}  // namespace
}  // namespace vigil::net

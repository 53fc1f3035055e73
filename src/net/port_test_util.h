// Helpers for the tests of net::Port backends on a veth pair (af_packet_test.cc, af_xdp_test.cc):
// frames written on one end with a plain packet socket, read back from a Port on the other.
//
//   int fd = test::OpenInjector("va");                  // inside the test's namespace
//   test::Inject(fd, test::UdpFrame("10.0.0.1", "10.0.0.2", 1000, "hello"));
//   std::vector<craft::Bytes> got = test::ReceiveAll(*port, 1);
#pragma once

#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <functional>
#include <string_view>
#include <vector>

#include "craft/frame.h"
#include "net/port.h"

namespace vigil::test {

// A packet socket that sends raw frames out of `interface`; -1 when it cannot be opened.
inline int OpenInjector(const char* interface) {
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) return -1;
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = int(if_nametoindex(interface));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline void Inject(int fd, const craft::Bytes& frame) {
  ASSERT_EQ(send(fd, frame.data(), frame.size(), 0), ssize_t(frame.size()));
}

// Receives until `want` frames arrived on `port` or a second passed; `check` sees each frame.
inline std::vector<craft::Bytes> ReceiveAll(
    net::Port& port, size_t want, const std::function<void(const net::Frame&)>& check = {}) {
  std::vector<craft::Bytes> got;
  std::array<net::Frame, 32> frames;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    if (!port.Wait(20)) continue;
    size_t n = port.Receive(frames);
    for (size_t i = 0; i < n; ++i) {
      got.emplace_back(frames[i].data, frames[i].data + frames[i].caplen);
      if (check) check(frames[i]);
    }
    port.Release();
  }
  return got;
}

// A UDP datagram to port 53 carrying `text`, with the given VLAN tags.
inline craft::Bytes UdpFrame(const char* src, const char* dst, uint16_t sport,
                             std::string_view text, std::vector<craft::VlanTag> vlans = {}) {
  craft::EthernetHeader eth;
  eth.vlans = std::move(vlans);
  return craft::UdpFrame({craft::Addr(src), sport}, {craft::Addr(dst), 53}, craft::ToBytes(text),
                         eth);
}

}  // namespace vigil::test

// blast: sends the frames of a capture file out of an interface as fast as one core can, in
// batches of 64 through one sendmmsg system call each (an AF_PACKET socket that bypasses the
// queueing discipline) — the sender of bench/live_bench.sh, several times tcpreplay's rate,
// which sends one frame per system call.
//
//   blast -i c0 -r udp64.pcap --loops 200      # prints "sent N frames, B bytes in S s"
//
// Frames are loaded into memory first; a frame larger than the interface's MTU is skipped.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "io/capture_source.h"

int main(int argc, char** argv) {
  std::string interface, path;
  uint32_t loops = 1;
  CLI::App app{"blast: send a capture's frames out of an interface at full speed"};
  app.add_option("-i,--interface", interface, "interface to send on")->required();
  app.add_option("-r,--read", path, "capture file")->required();
  app.add_option("--loops", loops, "times to send the whole capture")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<std::vector<uint8_t>> frames;
  auto status = vigil::io::ForEachPacket(path, [&](const vigil::packet::Packet& p) {
    if (p.caplen <= 1514 + 4) frames.emplace_back(p.data, p.data + p.caplen);
  });
  if (!status) {
    fmt::print(stderr, "blast: {}\n", status.error().ToString());
    return 1;
  }
  if (frames.empty()) {
    fmt::print(stderr, "blast: {}: no frame to send\n", path);
    return 1;
  }
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = int(if_nametoindex(interface.c_str()));
  int on = 1;
  if (fd < 0 || addr.sll_ifindex == 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    fmt::print(stderr, "blast: {}: cannot send on it: {}\n", interface, std::strerror(errno));
    return 1;
  }
  (void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &on, sizeof on);

  constexpr size_t kBatch = 64;
  std::vector<mmsghdr> msgs(kBatch);
  std::vector<iovec> iov(kBatch);
  uint64_t sent = 0, bytes = 0, refused = 0;
  const auto start = std::chrono::steady_clock::now();
  size_t next = 0;
  const uint64_t total = uint64_t(frames.size()) * loops;
  for (uint64_t queued = 0; queued < total;) {
    size_t n = size_t(std::min<uint64_t>(kBatch, total - queued));
    for (size_t i = 0; i < n; ++i) {
      std::vector<uint8_t>& f = frames[(next + i) % frames.size()];
      iov[i] = {.iov_base = f.data(), .iov_len = f.size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(fd, msgs.data(), unsigned(n), 0);
    if (r <= 0) {
      if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) continue;
      ++refused;  // this frame cannot be sent (too large for the link): skip it
      r = 1;
    } else {
      sent += uint64_t(r);
      for (int i = 0; i < r; ++i) bytes += iov[size_t(i)].iov_len;
    }
    next = (next + size_t(r)) % frames.size();
    queued += uint64_t(r);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("sent {} frames, {} bytes in {:.3f} s ({:.3f} Mpps), {} refused\n", sent, bytes, s,
             double(sent) / s / 1e6, refused);
  close(fd);
  return 0;
}

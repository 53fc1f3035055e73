// Port: one worker's handle on one network interface — a receive ring it reads frames from in
// place, and a way to transmit frames. Two backends implement it: AF_PACKET with a TPACKET_V3
// ring (af_packet.h, the default) and AF_XDP (af_xdp.h). The worker calls it once per batch:
//
//   auto port = net::OpenPort({.interface = "eth0", .members = 2, .member = 0});
//   std::array<net::Frame, 32> frames;
//   while (running) {
//     if (!port->Wait(100)) continue;            // sleeps in poll() until frames are ready
//     size_t n = port->Receive(frames);          // borrowed from the ring, valid until Release
//     ... decode and inspect frames[0..n) in place; other->Transmit({frames.data(), n}) ...
//     port->Release();                           // the ring slots go back to the kernel
//   }
//
// Several workers open the same interface with the same `members` and their own `member`
// index: the kernel then spreads frames over them (fanout) by a symmetric hash of the IP
// addresses, so both directions of a connection, and every fragment of a datagram, reach the
// same worker — which is what lets each worker own its flow table without locks. An inline pair
// (A:B) opens A and B with the same member count, so worker i holds member i of both.
#pragma once

#include <time.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/result.h"
#include "packet/packet.h"

namespace vigil::net {

// GSO (generic segmentation offload) and checksum-offload state of a frame, as the kernel's
// virtio_net_hdr carries it: a TCP "super-frame" of up to 64 KiB that the sender's stack did
// not segment, and a checksum the sender left for the device to finish. Passed back unchanged
// when the frame is forwarded, so the kernel segments and checksums it on the way out.
inline constexpr uint8_t kNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM, in Offload::flags

struct Offload {
  uint8_t flags = 0;  // VIRTIO_NET_HDR_F_NEEDS_CSUM, _DATA_VALID
  uint8_t gso_type = 0;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
};

// One received frame, borrowed from the ring. `data` starts at the link-layer (Ethernet) header;
// a VLAN tag the kernel had moved to metadata is put back in the bytes (ring headroom), so
// decoding and forwarding see the frame as it was on the wire.
struct Frame {
  uint8_t* data = nullptr;
  uint32_t caplen = 0;   // bytes present
  uint32_t wirelen = 0;  // bytes of the frame (more than caplen only when truncated)
  packet::Timestamp ts;
  Offload offload;
  bool checksum_partial = false;  // the transport checksum is not filled in yet
};

// Finishes the checksum a sender left partial (Offload::flags kNeedsCsum) in `frame`: the one's
// complement of the sum from csum_start to the end, the field (which holds the pseudo-header sum)
// included. The kernel does this for AF_PACKET's transmit; an AF_XDP frame, or a copy handed to
// an XDP program, needs it done here.
void FinishChecksum(std::span<uint8_t> frame, const Offload& offload);

enum class Backend { kAfPacket, kAfXdp };

struct PortOptions {
  std::string interface;
  Backend backend = Backend::kAfPacket;
  // Fanout: `members` sockets share the interface's traffic; this one is `member` (0-based).
  // Members must be opened in order 0, 1, ... in one process.
  uint32_t members = 1;
  uint32_t member = 0;
  // Sharding across processes (--shard I/N, AF_PACKET only): the socket receives only the
  // frames whose symmetric address-pair hash falls in share `shard` of `shards`, and frames that
  // are not IP in share 0 only; the kernel filters (SO_ATTACH_FILTER) before copying a frame into
  // the ring, so N processes on one interface split it without one seeing another's frames or
  // splitting a flow (net::ShardOfAddressPair says which share a frame is in).
  uint32_t shards = 1;
  uint32_t shard = 0;
  // AF_PACKET ring: blocks of block_bytes (a frame larger than a block is truncated and
  // counted), handed to the worker when full or after block_timeout_ms.
  // The kernel retires a block after block_timeout_ms even when it holds few frames, so at a low
  // rate the ring holds `blocks` timeouts' worth of traffic: 256 blocks ride out a quarter of a
  // second off the CPU. 128 KiB holds the largest TCP super-frame (64 KiB) with room to spare.
  uint32_t block_bytes = 1 << 17;
  uint32_t blocks = 256;
  uint32_t block_timeout_ms = 1;
  bool busy_poll = false;  // Wait() spins instead of sleeping in poll()
  // Frames this host sends out of the interface are not received. On for inline ports, so that
  // what the workers forward is not read back; off for a monitored interface, whose outgoing
  // traffic is half of its connections. (AF_XDP only ever sees incoming frames.)
  bool ignore_outgoing = true;
};

// Counters of one port, read from the kernel (PACKET_STATISTICS, XDP statistics) and kept by
// the port. Cumulative.
struct PortCounters {
  uint64_t packets = 0;       // frames the kernel offered this socket, dropped ones included
  uint64_t kernel_drops = 0;  // frames the kernel dropped because the ring was full
  uint64_t truncated = 0;     // frames larger than a ring block
  uint64_t tx_packets = 0;
  uint64_t tx_errors = 0;  // frames the kernel refused to send
};

class Port {
 public:
  virtual ~Port() = default;

  // Waits up to timeout_ms (0: only checks) until frames are ready; true when they are.
  [[nodiscard]] virtual bool Wait(int timeout_ms) = 0;
  // Fills `out` with ready frames (at most out.size(); 0 when none are ready).
  [[nodiscard]] virtual size_t Receive(std::span<Frame> out) = 0;
  // Hands the frames of the previous Receive back to the kernel.
  virtual void Release() = 0;
  // Whether the ring holds more than three quarters of its capacity not yet received: the
  // worker is falling behind and the kernel will soon drop (the overload policy's signal). Not
  // half: a worker the scheduler held off the CPU for a moment catches up from a quarter-full
  // ring without losing anything.
  [[nodiscard]] virtual bool Backlogged() const = 0;
  // Whether frames wait behind those received so far (the tenant scheduler's sign that the
  // worker, not the traffic, held a tenant back: TenantStage::EndBatch's `waiting`).
  [[nodiscard]] virtual bool MoreWaiting() const = 0;
  // Sends `frames` (their bytes are copied by the kernel); returns how many were sent.
  virtual size_t Transmit(std::span<const Frame> frames) = 0;
  // The kernel's counters since the last call, added to counters().
  virtual void UpdateCounters() = 0;
  [[nodiscard]] virtual const PortCounters& counters() const = 0;
  [[nodiscard]] virtual int fd() const = 0;
  [[nodiscard]] virtual const std::string& interface() const = 0;
};

// Busy polling for Port::Wait: checks `ready()` in rounds of 1,024 until it holds or
// `timeout_ms` has passed, calling `between()` after each round (a backend's kick). No system
// call but the clock read per round, at the cost of a whole core.
template <class Ready, class Between>
[[nodiscard]] bool SpinWait(int timeout_ms, Ready ready, Between between) {
  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (true) {
    for (int i = 0; i < 1024; ++i) {
      if (ready()) return true;
    }
    between();
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1'000'000 >=
        timeout_ms) {
      return false;
    }
  }
}

// Opens the port; fails with a message naming the interface when it does not exist, when the
// process lacks CAP_NET_RAW (root), or when the backend cannot attach.
[[nodiscard]] base::Result<std::unique_ptr<Port>> OpenPort(const PortOptions& options);

// "afpacket" / "afxdp".
[[nodiscard]] base::Result<Backend> ParseBackend(std::string_view name);

}  // namespace vigil::net

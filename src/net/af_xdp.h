// AF_XDP backend of net::Port (libxdp): frames are redirected by an XDP (eXpress Data Path)
// program from the driver's receive path into a UMEM — a region of this process's memory cut
// into frames — and read there in place; no socket buffer is built for them.
//
//   auto port = net::OpenPort({.interface = "eth0", .backend = net::Backend::kAfXdp});
//   std::cerr << net::DescribeAfXdp(**port);   // "eth0 queue 0: native XDP, copy mode"
//
// Each port owns one UMEM of kAfXdpFrames frames of kAfXdpFrameBytes (16 MiB): the first half feeds
// the receive side (the fill ring hands empty frames to the kernel, the RX ring returns them full;
// Release puts the received frames back on the fill ring), the second half is a pool of transmit
// frames: Transmit copies each frame into a free one, queues it on the TX ring and kicks the kernel
// (sendto; frames the device pushes back stay on the TX ring and go at the next Transmit or
// Wait); the completion ring returns sent frames to the pool. libxdp attaches its default
// program, which redirects a frame to the socket bound to the frame's receive queue and passes
// frames of queues without a socket to the kernel's stack.
//
// Attach and copy modes: the program is attached in native (driver) mode and, when the driver
// refuses that, in generic (SKB) mode, which works on every interface at the cost of a socket
// buffer per frame; DescribeAfXdp says which, and why native was refused. In native mode the
// socket is bound with no copy flag, so the kernel uses zero-copy where the driver has it and
// copies otherwise (veth copies). Without a bpffs mounted at /sys/fs/bpf libxdp attaches its
// program alone, not through its dispatcher, so no other XDP program can share the interface;
// the program is detached when the last port on the interface closes. A killed process leaves
// it attached (measured: and the peer's TSO off); the next open reuses it, and
// `ip link set IF xdp off` removes it.
//
// Offloads, measured on veth (Linux 6.18, kernel defaults on every end: TSO, GSO, GRO and
// checksum offload on; af_xdp_test.cc's ForwardsATcpStreamWithDefaultOffloads bridges a real
// TCP connection, 4 MB each way, and checks it byte-exact):
// - No super-frames. Attaching the program to one end makes veth take TSO off its peer
//   (`ethtool -k` on the peer: tcp-segmentation-offload goes from on to off), so the sender's
//   stack segments before veth; every frame seen was at most 1,514 bytes. XDP frames carry no
//   virtio header; Frame::offload never has a gso_type.
// - Jumbo frames. A frame larger than a UMEM frame (kAfXdpFrameBytes less 256 bytes of
//   headroom) cannot be received: the kernel drops it and counts it (rx_dropped, in
//   kernel_drops; measured with a 5,014-byte frame). Native XDP on veth refuses a peer MTU
//   above about 3,500 ("veth: Peer MTU is too large to set XDP"), so such a pair falls back
//   to generic mode, where the drop happens.
// - Partial checksums. The peer keeps tx-checksumming on, so a local sender's TCP and UDP
//   frames reach XDP with the checksum left for the device (CHECKSUM_PARTIAL: the field holds
//   the pseudo-header sum) — all but a handful of the TCP frames of that stream. XDP does not
//   say so, and a frame forwarded like that is dropped by the receiving stack (the connection
//   never opened before this was handled). Receive therefore recognizes them (the checksum
//   field equals the pseudo-header sum: a few additions a frame, no pass over the payload) and
//   marks them as AF_PACKET's virtio header would: checksum_partial, offload.flags NEEDS_CSUM,
//   csum_start and csum_offset from the frame's start. Transmit finishes such a checksum in its
//   copy (one pass over the segment); AF_PACKET's Transmit has the kernel finish it. A frame
//   that really carries a checksum equal to its pseudo-header sum (1 in 65,536) is finished to
//   the same value: harmless. A NIC's frames come with complete checksums.
// - Transmit cannot send a super-frame (an AF_PACKET frame with a gso_type, larger than a UMEM
//   frame): it is counted in tx_errors. Inline pairs use one backend on both sides.
//
// VLAN: a tag in the frame's bytes reaches the UMEM as it was sent (tested, 802.1Q and QinQ);
// nothing strips it before XDP. A tag that the sender's stack kept in metadata (a VLAN device
// over a veth whose tx-vlan-offload is on, or a NIC with rx-vlan-offload on) is not in the
// bytes the XDP program sees — the kernel offers it to XDP programs only through the
// bpf_xdp_metadata_rx_vlan_tag kfunc, which libxdp's program does not call — so such frames
// should arrive untagged. Not measured here (this kernel has no 8021q module); turn
// rx-vlan-offload off on a NIC read with AF_XDP where VLANs matter.
//
// Several workers: AF_XDP binds a socket to one receive queue, and the kernel cannot move a
// frame to another queue's socket, so member i is bound to queue i and `members` must equal the
// interface's queue count (OpenAfXdp fails naming both): a queue without a socket would hand its
// frames to the kernel's stack, uninspected and not forwarded. Flows stay whole on one
// worker only when the interface spreads them over its queues by a symmetric hash of both
// directions: a NIC whose RSS (receive-side scaling) hash is symmetric — `ethtool -X IF xfrm
// symmetric-xor` where the driver and ethtool have it, or a Toeplitz key of 0x6d5a repeated. On a
// veth pair the receive queue is the one the *sender* transmitted on, chosen by the sender's stack
// per socket, so both directions of a flow, and two flows of one address pair, may reach different
// workers: afxdp with several workers on veth is NOT flow-safe.
//
// Counters: the kernel's XDP_STATISTICS are cumulative; UpdateCounters adds their growth.
// kernel_drops = rx_dropped (a frame larger than a UMEM frame, or no empty frame on the fill
// ring in copy mode) + rx_ring_full (the RX ring was full). rx_fill_ring_empty_descs is not
// added: in copy mode its drops are already in rx_dropped, and in zero-copy mode a driver
// that finds the fill ring empty leaves the frame in the NIC's ring (it is lost only when that
// overflows, which the NIC's own counters report). rx_invalid_descs would count bad fill ring
// addresses, which this port never writes. packets = frames received + kernel_drops.
// tx_errors = frames larger than a UMEM frame, frames with no free transmit frame after
// waiting for completions, and the kernel's tx_invalid_descs.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "net/port.h"

namespace vigil::net {

inline constexpr uint32_t kAfXdpFrameBytes = 4096;
inline constexpr uint32_t kAfXdpFrames = 4096;  // half receive, half transmit

// Opens member `options.member` of `options.interface` on receive queue `options.member`.
// Fails with a message naming the interface when it does not exist, when it has fewer queues
// than `options.members`, without privileges, or when the kernel refuses AF_XDP.
[[nodiscard]] base::Result<std::unique_ptr<Port>> OpenAfXdp(const PortOptions& options);

// "IF queue Q: native|generic (SKB) XDP, zero-copy|copy mode"; empty for a port of another
// backend.
[[nodiscard]] std::string DescribeAfXdp(const Port& port);

}  // namespace vigil::net

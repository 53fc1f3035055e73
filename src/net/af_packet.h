// AF_PACKET backend of net::Port: a TPACKET_V3 receive ring mapped into the process, frames read
// in place, and transmission with sendmmsg (one system call per batch).
//
// The ring is `blocks` blocks of `block_bytes`; the kernel fills a block with frames and hands
// it over when it is full or `block_timeout_ms` after its first frame, so an idle link costs
// one poll() wake-up per timeout at most and a busy one a system call per block, not per frame.
// The block timeout bounds the latency a frame gains inline (1 ms by default).
//
// Offloads: the socket asks for the virtio_net_hdr of every frame (PACKET_VNET_HDR), so a TCP
// super-frame (GSO/TSO/GRO: up to 64 KiB in one frame) or a frame with an unfinished checksum
// is inspected whole and forwarded with the same header — the kernel then segments it and
// finishes its checksum on the way out. Nothing needs to be turned off on the interfaces.
//
// Fanout: several members of one interface form a PACKET_FANOUT group whose demultiplexer is a
// classic BPF program hashing the IP source and destination addresses symmetrically. (The
// kernel's own PACKET_FANOUT_HASH is symmetric too, but it hashes ports when it sees them, so
// the fragments of a datagram, which carry no ports after the first, would reach another worker
// than the datagram's flow; vigil defragments in the worker, so it keeps the addresses only.)
//
// Outgoing frames are not captured (PACKET_IGNORE_OUTGOING): what one worker forwards on an
// interface is not received again by the others.
#pragma once

#include <memory>
#include <vector>

#include "base/result.h"
#include "net/port.h"

namespace vigil::net {

[[nodiscard]] base::Result<std::unique_ptr<Port>> OpenAfPacket(const PortOptions& options);

// The classic BPF program of the fanout group: returns a symmetric hash of the IPv4 or IPv6
// addresses (the kernel takes it modulo the group's size), 0 for other frames. Exposed for tests.
struct ClassicInsn {
  uint16_t code;
  uint8_t jt;
  uint8_t jf;
  uint32_t k;
};
[[nodiscard]] std::vector<ClassicInsn> AddressPairFanoutProgram();

}  // namespace vigil::net

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
// Sharding across processes (--shard I/N): a classic BPF socket filter computes the same hash
// and keeps only share I of N, so N vigil processes on one host split an interface by flow with
// the kernel doing the split (each process still fans its share out over its own workers).
//
// Outgoing frames are not captured (PACKET_IGNORE_OUTGOING): what one worker forwards on an
// interface is not received again by the others.
#pragma once

#include <memory>
#include <span>
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

// The socket filter of --shard I/N (PortOptions::shards): keeps a frame whose address-pair hash
// falls in share `shard` of `shards`, and a frame that is not IP when `shard` is 0.
[[nodiscard]] std::vector<ClassicInsn> ShardFilterProgram(uint32_t shard, uint32_t shards);

// What those programs compute, for tests and tools: the hash of the source and destination
// addresses (4 or 16 bytes each, network order; the same with the two swapped), and the share of
// N it falls in: ((hash >> 16) * N) >> 16. The share takes the hash's high half and the fanout
// the remainder of the whole hash by the worker count, so the workers of one shard still each get
// a part of its flows.
[[nodiscard]] uint32_t AddressPairHash(std::span<const uint8_t> src, std::span<const uint8_t> dst);
[[nodiscard]] uint32_t ShardOfAddressPair(std::span<const uint8_t> src,
                                          std::span<const uint8_t> dst, uint32_t shards);

}  // namespace vigil::net

// Batch: up to kMaxPackets packets that travel through the stages together (one call per stage
// per batch). A batch owns the bytes of its packets: a capture source copies each frame into the
// slot's buffer, which keeps its capacity from batch to batch, so steady state allocates nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "packet/packet.h"

namespace vigil::packet {

class Batch {
 public:
  static constexpr size_t kMaxPackets = 32;

  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] bool full() const { return size_ == kMaxPackets; }
  Packet& operator[](size_t i) { return packets_[i]; }
  const Packet& operator[](size_t i) const { return packets_[i]; }
  Packet* begin() { return packets_.data(); }
  Packet* end() { return packets_.data() + size_; }

  void Clear() { size_ = 0; }

  // Keeps the packets for which keep(packet) is true, in order; each keeps its own bytes.
  template <typename Keep>
  void Retain(Keep&& keep) {
    size_t n = 0;
    for (size_t i = 0; i < size_; ++i) {
      if (!keep(packets_[i])) continue;
      if (n != i) {
        std::swap(packets_[n], packets_[i]);
        std::swap(buffers_[n], buffers_[i]);
      }
      ++n;
    }
    size_ = n;
  }

  // Appends a packet whose `len` bytes are copied from `bytes`; returns it for the caller to fill
  // in the timestamp, wire length and number. Precondition: !full().
  Packet& Append(const uint8_t* bytes, uint32_t len) {
    std::vector<uint8_t>& buf = buffers_[size_];
    buf.assign(bytes, bytes + len);
    Packet& p = packets_[size_++];
    p = Packet{};
    p.data = buf.data();
    p.caplen = len;
    p.wirelen = len;
    return p;
  }

 private:
  std::array<Packet, kMaxPackets> packets_;
  std::array<std::vector<uint8_t>, kMaxPackets> buffers_;
  size_t size_ = 0;
};

}  // namespace vigil::packet

// DecodedCapture: a whole capture read into memory and decoded once, for benchmarks and tests
// that must time or compare the later stages without the cost of reading the file.
//
//   auto capture = engine::DecodedCapture::Load("../shared/pcaps/mixed-traffic.pcap");
//   if (!capture) return capture.error();
//   for (const packet::Packet& p : capture->packets) detector.Inspect(p, alerts);
//
// Each packet's `data` points into `frames`, which never move (a deque of owned buffers).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "base/result.h"
#include "packet/packet.h"

namespace vigil::engine {

struct DecodedCapture {
  std::deque<std::vector<uint8_t>> frames;
  std::vector<packet::Packet> packets;  // decoded, in capture order
  uint64_t bytes = 0;                   // captured bytes

  // Reads every packet of `path` (a file or directory, as `-r` takes it) and decodes it. Fails
  // on the capture's first error.
  [[nodiscard]] static base::Result<DecodedCapture> Load(const std::string& path);
};

}  // namespace vigil::engine

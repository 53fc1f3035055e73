// Capture: crafted frames with timestamps, written as a pcap file through io::PcapWriter.
//
// Frames get evenly spaced times (start time and step configurable) unless a test places one
// explicitly; Wait() leaves a gap, e.g. to let a flow time out.
//
//   craft::Capture capture({.start = {1'700'000'000, 0}, .step_ns = 1'000'000});
//   capture.Add(session.Handshake()).Wait(30'000'000'000).Add(late_frame);
//   if (auto s = capture.WriteTo(dir + "/input.pcap"); !s) return s;
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "craft/frame.h"
#include "packet/packet.h"

namespace vigil::craft {

struct CaptureOptions {
  packet::Timestamp start{1'700'000'000, 0};  // time of the first frame
  uint64_t step_ns = 1'000'000;               // time between consecutive frames
  // The file's link type: kEthernet for frames built with an Ethernet header, kRaw (or kIpv4 /
  // kIpv6) for bare IP packets; any other value for frames the test lays out itself.
  packet::LinkType linktype = packet::LinkType::kEthernet;
  bool nanosecond = false;  // nanosecond timestamps in the file (else microseconds)
};

class Capture {
 public:
  struct Record {
    packet::Timestamp ts;
    Bytes data;
  };

  explicit Capture(CaptureOptions options = {});

  // Appends frames at the current time, each advancing the clock by step_ns.
  Capture& Add(Bytes frame);
  Capture& Add(const std::vector<Bytes>& frames);
  // Appends a frame at `ts`; the clock goes on from there.
  Capture& AddAt(packet::Timestamp ts, Bytes frame);
  // Moves the clock forward by `ns` before the next frame.
  Capture& Wait(uint64_t ns);

  [[nodiscard]] const std::vector<Record>& records() const { return records_; }
  [[nodiscard]] size_t size() const { return records_.size(); }
  [[nodiscard]] const CaptureOptions& options() const { return options_; }

  // Writes every record to a new pcap file at `path`; fails as io::PcapWriter does.
  [[nodiscard]] base::Status WriteTo(const std::string& path) const;

 private:
  CaptureOptions options_;
  packet::Timestamp next_;
  std::vector<Record> records_;
};

// `ts` moved forward by `ns` nanoseconds.
[[nodiscard]] packet::Timestamp AddNanoseconds(packet::Timestamp ts, uint64_t ns);

}  // namespace vigil::craft

// PcapWriter: writes packets to a classic pcap file (the format every tool reads).
//
// Used by the pcap log output, by tests that build captures, and by the traffic generator. The
// file is written in host byte order with microsecond or nanosecond timestamps; tcpdump, tshark
// and PcapReader read it back unchanged.
//
//   auto writer = io::PcapWriter::Open("out.pcap", packet::LinkType::kEthernet);
//   if (!writer) return writer.error();
//   if (auto s = (*writer)->Write(frame.data(), frame.size(), frame.size(), ts); !s) return s;
//   if (auto s = (*writer)->Close(); !s) return s;  // the destructor closes too, silently
//
// Cost: one buffered fwrite per packet.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "base/result.h"
#include "packet/packet.h"

namespace vigil::io {

class PcapWriter {
 public:
  static constexpr uint32_t kDefaultSnaplen = 262144;

  // Creates (or truncates) `path` and writes the file header. `snaplen` is the largest number of
  // bytes kept per packet; `nanosecond` selects nanosecond timestamps (otherwise microseconds,
  // the format older tools expect). Fails when the file cannot be created or written.
  [[nodiscard]] static base::Result<std::unique_ptr<PcapWriter>> Open(
      const std::string& path, packet::LinkType linktype, uint32_t snaplen = kDefaultSnaplen,
      bool nanosecond = false);

  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Appends one packet record. Only the first `snaplen` bytes of a longer frame are kept (as a
  // capture would); a wire length below the captured length is raised to it. Fails, and keeps
  // failing, when the write fails, after Close(), or when `ts` does not fit a pcap record
  // (seconds outside 0..2^32-1, or nsec >= 1e9). In microsecond files nsec is truncated to
  // microseconds.
  [[nodiscard]] base::Status Write(const uint8_t* data, uint32_t caplen, uint32_t wirelen,
                                   packet::Timestamp ts);
  // Writes a packet's raw part (data, caplen, wirelen, ts).
  [[nodiscard]] base::Status Write(const packet::Packet& packet);

  // Flushes and closes the file; reports a failed flush. Calling it again does nothing.
  [[nodiscard]] base::Status Close();

  [[nodiscard]] uint64_t packets_written() const { return packets_written_; }
  [[nodiscard]] uint64_t bytes_written() const { return bytes_written_; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  PcapWriter() = default;
  base::Error MakeError(std::string message) const;

  std::string path_;
  std::FILE* file_ = nullptr;
  uint32_t snaplen_ = kDefaultSnaplen;
  bool nanosecond_ = false;
  bool closed_ = false;
  uint64_t packets_written_ = 0;
  uint64_t bytes_written_ = 0;
};

}  // namespace vigil::io

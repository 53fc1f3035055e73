#include "io/pcap_writer.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace vigil::io {
namespace {

constexpr uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMagicNano = 0xa1b23c4d;
constexpr uint32_t kMaxSeconds = 0xffffffff;

// pcap headers are written in host order; readers detect the order from the magic number.
void Put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void Put16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

}  // namespace

base::Result<std::unique_ptr<PcapWriter>> PcapWriter::Open(const std::string& path,
                                                           packet::LinkType linktype,
                                                           uint32_t snaplen, bool nanosecond) {
  if (snaplen == 0) return base::Error{"snapshot length must be at least 1", path};
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return base::Error{fmt::format("cannot create capture file: {}", std::strerror(errno)), path};
  }
  auto writer = std::unique_ptr<PcapWriter>(new PcapWriter());
  writer->path_ = path;
  writer->file_ = file;
  writer->snaplen_ = snaplen;
  writer->nanosecond_ = nanosecond;

  uint8_t header[24] = {};
  Put32(header, nanosecond ? kMagicNano : kMagicMicro);
  Put16(header + 4, 2);  // format version 2.4
  Put16(header + 6, 4);
  // Bytes 8..15: time zone offset and timestamp accuracy, both 0 by convention.
  Put32(header + 16, snaplen);
  Put32(header + 20, static_cast<uint32_t>(linktype));
  if (std::fwrite(header, 1, sizeof(header), file) != sizeof(header)) {
    base::Error e = writer->MakeError(
        fmt::format("cannot write capture file header: {}", std::strerror(errno)));
    return e;  // the destructor closes the file
  }
  writer->bytes_written_ = sizeof(header);
  return writer;
}

PcapWriter::~PcapWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

base::Error PcapWriter::MakeError(std::string message) const {
  return base::Error{std::move(message), path_, 0, 0, static_cast<int64_t>(bytes_written_)};
}

base::Status PcapWriter::Write(const uint8_t* data, uint32_t caplen, uint32_t wirelen,
                               packet::Timestamp ts) {
  if (closed_ || file_ == nullptr) return MakeError("write after the capture file was closed");
  if (ts.sec < 0 || ts.sec > int64_t{kMaxSeconds} || ts.nsec >= 1'000'000'000) {
    return MakeError(fmt::format("timestamp {}.{:09} does not fit a pcap record", ts.sec, ts.nsec));
  }
  const uint32_t kept = caplen < snaplen_ ? caplen : snaplen_;
  uint8_t header[16];
  Put32(header, static_cast<uint32_t>(ts.sec));
  Put32(header + 4, nanosecond_ ? ts.nsec : ts.nsec / 1000);
  Put32(header + 8, kept);
  Put32(header + 12, wirelen < caplen ? caplen : wirelen);
  if (std::fwrite(header, 1, sizeof(header), file_) != sizeof(header) ||
      (kept > 0 && std::fwrite(data, 1, kept, file_) != kept)) {
    return MakeError(fmt::format("cannot write packet record: {}", std::strerror(errno)));
  }
  bytes_written_ += sizeof(header) + kept;
  ++packets_written_;
  return {};
}

base::Status PcapWriter::Write(const packet::Packet& packet) {
  return Write(packet.data, packet.caplen, packet.wirelen, packet.ts);
}

base::Status PcapWriter::Close() {
  if (closed_ || file_ == nullptr) return {};
  closed_ = true;
  bool flushed = std::fflush(file_) == 0;
  int flush_errno = errno;
  bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!flushed || !closed) {
    return MakeError(fmt::format("cannot finish capture file: {}",
                                 std::strerror(flushed ? errno : flush_errno)));
  }
  return {};
}

}  // namespace vigil::io

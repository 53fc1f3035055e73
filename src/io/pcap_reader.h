// PcapReader: reads one capture file, classic pcap (packet capture) or pcapng (pcap next
// generation), into packet batches.
//
// libpcap does the parsing; this class adds what vigil needs around it: nanosecond timestamps,
// vigil's link-type numbering, a running packet number, progress (bytes read out of the file
// size), and one clear error for a bad file that names the file, the byte offset where the
// problem is and what is wrong ("truncated packet record: header says 1514 bytes, only 300
// present"). Packets read before a problem are always delivered before the error is reported.
//
//   auto reader = io::PcapReader::Open("trace.pcap");
//   if (!reader) return reader.error();
//   packet::Batch batch;
//   while (true) {
//     batch.Clear();
//     auto n = (*reader)->ReadBatch(batch);
//     if (!n) return n.error();  // file:offset: what is wrong
//     if (*n == 0) break;        // end of file
//     Process(batch);
//   }
//
// Cost: one copy of each frame into the batch (the batch owns its bytes), no allocation in
// steady state.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "packet/batch.h"
#include "packet/packet.h"

// libpcap's handle type, kept out of this header so users do not include <pcap.h>.
struct pcap;

namespace vigil::io {

class PcapReader {
 public:
  // Opens `path`. Fails, with `file` set to the path and `offset` to 0, when the file is missing,
  // unreadable, empty, not a pcap or pcapng file, or has a bad or truncated file header.
  // `first_number` is the number given to the first packet; the count goes on from there (a
  // caller reading several files passes the next number so that numbering continues).
  [[nodiscard]] static base::Result<std::unique_ptr<PcapReader>> Open(const std::string& path,
                                                                      uint64_t first_number = 1);

  ~PcapReader();
  PcapReader(const PcapReader&) = delete;
  PcapReader& operator=(const PcapReader&) = delete;

  // Appends packets to `batch` until it is full or the file ends; the caller clears the batch.
  // Returns the number appended, 0 at end of file (and on every call after it). A truncated or
  // corrupt record is reported as an Error with `file` and `offset` (the offset of the bad
  // record); when packets were appended in the same call, they are returned first and the error
  // comes on the next call. After an error every call returns the same error.
  [[nodiscard]] base::Result<size_t> ReadBatch(packet::Batch& batch);

  [[nodiscard]] packet::LinkType linktype() const { return linktype_; }
  // Byte offset reached in the file (for progress; equals file_size() at end of file).
  [[nodiscard]] uint64_t bytes_read() const;
  [[nodiscard]] uint64_t file_size() const { return file_size_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  // Packets delivered so far; the next packet's number is first_number + packets_read().
  [[nodiscard]] uint64_t packets_read() const { return packets_read_; }
  [[nodiscard]] bool is_pcapng() const { return format_ == Format::kPcapng; }

 private:
  enum class Format { kPcap, kPcapng };

  PcapReader() = default;

  // Builds the error for a record libpcap refused at `record_offset`, looking at the bytes
  // there so that the message says what is wrong rather than only what libpcap tried.
  base::Error DescribeBadRecord(uint64_t record_offset, const char* libpcap_message) const;
  base::Error MakeFileError(int64_t offset, std::string message) const;

  std::string path_;
  pcap* pcap_ = nullptr;
  std::FILE* file_ = nullptr;  // owned by pcap_ once the open succeeds
  Format format_ = Format::kPcap;
  bool swapped_ = false;  // the file's byte order differs from the host's
  packet::LinkType linktype_ = packet::LinkType::kEthernet;
  uint64_t file_size_ = 0;
  uint64_t good_offset_ = 0;  // end of the last record delivered
  uint64_t first_number_ = 1;
  uint64_t packets_read_ = 0;
  bool at_end_ = false;
  std::optional<base::Error> error_;
};

// Converts libpcap's DLT_* value (what pcap_datalink returns) to vigil's LinkType, which uses
// the LINKTYPE_* numbering of the file format. Values vigil has no name for pass through.
[[nodiscard]] packet::LinkType LinkTypeFromDlt(int dlt);

}  // namespace vigil::io

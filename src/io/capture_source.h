// CaptureSource: the packets of one capture file, or of every capture file in a directory, as
// one numbered stream of batches.
//
// A directory means each regular, non-hidden file in it (subdirectories are not entered), read
// in name order; packet numbers continue from one file to the next. A file that is not a
// capture, or is truncated, is reported when it is reached, after the packets of the files
// before it were delivered.
//
//   auto source = io::CaptureSource::Open(path);  // "trace.pcap" or "captures/"
//   if (!source) return source.error();
//   packet::Batch batch;
//   while (true) {
//     batch.Clear();
//     auto n = (*source)->ReadBatch(batch);
//     if (!n) return n.error();
//     if (*n == 0) break;
//     Process(batch);
//     ShowProgress(100.0 * (*source)->bytes_read() / (*source)->total_bytes());
//   }
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "io/pcap_reader.h"
#include "packet/batch.h"

namespace vigil::io {

class CaptureSource {
 public:
  // Opens a file (checked at once, as PcapReader::Open does) or a directory. Fails when the path
  // does not exist, the directory cannot be listed, or it holds no regular non-hidden file.
  [[nodiscard]] static base::Result<std::unique_ptr<CaptureSource>> Open(const std::string& path);

  // Same contract as PcapReader::ReadBatch: appends up to the batch's free space, 0 when every
  // file is done, and an error (sticky, after the packets before it) naming the file and offset.
  // One batch holds packets of one file only, so a batch never mixes link types.
  [[nodiscard]] base::Result<size_t> ReadBatch(packet::Batch& batch);

  // The file being read (the last one once all are done).
  [[nodiscard]] const std::string& current_file() const;
  [[nodiscard]] const std::vector<std::string>& files() const { return files_; }
  // Bytes consumed so far and the total size of all files, for a progress percentage.
  [[nodiscard]] uint64_t bytes_read() const;
  [[nodiscard]] uint64_t total_bytes() const { return total_bytes_; }
  [[nodiscard]] uint64_t packets_read() const { return next_number_ - 1; }

 private:
  CaptureSource() = default;
  // Moves to files_[next_file_]; an error is the one that file's Open gave.
  base::Status OpenNext();

  std::vector<std::string> files_;
  std::vector<uint64_t> sizes_;
  size_t next_file_ = 0;  // index of the file after the one being read
  std::unique_ptr<PcapReader> reader_;
  uint64_t done_bytes_ = 0;  // sizes of the files finished
  uint64_t total_bytes_ = 0;
  uint64_t next_number_ = 1;
  std::optional<base::Error> error_;
};

// Calls `f` with every packet of `path` (a file or a directory, as CaptureSource::Open reads
// it), raw and in order: for tools and benchmarks that load a whole capture. Fails as Open and
// ReadBatch do, after the packets before the error.
[[nodiscard]] base::Status ForEachPacket(const std::string& path,
                                         const std::function<void(const packet::Packet&)>& f);

}  // namespace vigil::io

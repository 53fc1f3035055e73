#include "io/capture_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace vigil::io {

namespace fs = std::filesystem;

base::Result<std::unique_ptr<CaptureSource>> CaptureSource::Open(const std::string& path) {
  auto source = std::unique_ptr<CaptureSource>(new CaptureSource());
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return base::Error{fmt::format("cannot open capture input: {}",
                                   ec ? ec.message() : "no such file or directory"),
                       path};
  }
  if (fs::is_directory(status)) {
    fs::directory_iterator it(path, ec);
    if (ec) return base::Error{fmt::format("cannot list directory: {}", ec.message()), path};
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      const fs::path& entry = it->path();
      std::string name = entry.filename().string();
      if (name.empty() || name[0] == '.') continue;
      std::error_code entry_ec;
      if (!it->is_regular_file(entry_ec)) continue;  // follows symbolic links
      source->files_.push_back(entry.string());
    }
    if (ec) return base::Error{fmt::format("cannot list directory: {}", ec.message()), path};
    if (source->files_.empty()) {
      return base::Error{"directory holds no capture files (no regular, non-hidden file)", path};
    }
    std::sort(source->files_.begin(), source->files_.end());
  } else {
    source->files_.push_back(path);
  }
  for (const std::string& file : source->files_) {
    std::error_code size_ec;
    uint64_t size = fs::is_regular_file(file, size_ec) ? fs::file_size(file, size_ec) : 0;
    if (size_ec) size = 0;
    source->sizes_.push_back(size);
    source->total_bytes_ += size;
  }
  // A single file is checked now so that a bad path fails at Open; a directory's files are
  // checked as they are reached, after the packets before them were delivered.
  if (auto opened = source->OpenNext(); !opened) return opened.error();
  return source;
}

base::Status CaptureSource::OpenNext() {
  const std::string& path = files_[next_file_];
  ++next_file_;
  auto reader = PcapReader::Open(path, next_number_);
  if (!reader) return reader.error();
  reader_ = std::move(*reader);
  return {};
}

const std::string& CaptureSource::current_file() const {
  return files_[next_file_ == 0 ? 0 : next_file_ - 1];
}

uint64_t CaptureSource::bytes_read() const {
  uint64_t current = reader_ ? reader_->bytes_read() : 0;
  return std::min(done_bytes_ + current, total_bytes_);
}

base::Result<size_t> CaptureSource::ReadBatch(packet::Batch& batch) {
  if (error_) return *error_;
  while (true) {
    if (!reader_) {
      if (next_file_ >= files_.size()) return size_t{0};
      if (auto opened = OpenNext(); !opened) {
        error_ = opened.error();
        return *error_;
      }
    }
    auto n = reader_->ReadBatch(batch);
    if (!n) {
      error_ = n.error();
      return *error_;
    }
    if (*n > 0) {
      next_number_ += *n;
      return n;
    }
    // End of this file: account for it and move on to the next.
    done_bytes_ += sizes_[next_file_ - 1];
    reader_.reset();
  }
}

base::Status ForEachPacket(const std::string& path,
                           const std::function<void(const packet::Packet&)>& f) {
  auto source = CaptureSource::Open(path);
  if (!source) return source.error();
  packet::Batch batch;
  while (true) {
    batch.Clear();
    auto n = (*source)->ReadBatch(batch);
    if (!n) return n.error();
    if (*n == 0) return {};
    for (const packet::Packet& p : batch) f(p);
  }
}

}  // namespace vigil::io

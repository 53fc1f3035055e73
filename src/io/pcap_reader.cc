#include "io/pcap_reader.h"

#include <fmt/format.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/bytes.h"

namespace vigil::io {
namespace {

// Classic pcap magic numbers as read in host order from a file written in host order:
// microsecond, nanosecond, and the "modified" pcap some old Linux patches wrote.
constexpr uint32_t kPcapMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kPcapMagicNano = 0xa1b23c4d;
constexpr uint32_t kPcapMagicModified = 0xa1b2cd34;
// pcapng files start with a Section Header Block, whose type reads the same in both orders.
constexpr uint32_t kPcapngSectionHeader = 0x0a0d0d0a;
constexpr uint32_t kPcapngByteOrderMagic = 0x1a2b3c4d;

constexpr uint64_t kPcapFileHeaderSize = 24;
constexpr uint64_t kPcapRecordHeaderSize = 16;
constexpr uint64_t kPcapngMinBlockSize = 12;  // type, total length, trailing total length

bool IsPcapMagic(uint32_t m) {
  return m == kPcapMagicMicro || m == kPcapMagicNano || m == kPcapMagicModified;
}

uint32_t HostLoad32(const uint8_t* p, bool swapped) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swapped ? __builtin_bswap32(v) : v;
}

// Reads exactly `len` bytes at `offset` without moving the stream libpcap reads from.
bool ReadAt(int fd, uint64_t offset, uint8_t* out, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, out + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

packet::LinkType LinkTypeFromDlt(int dlt) {
  switch (dlt) {
    case DLT_NULL:
      return packet::LinkType::kNull;
    case DLT_EN10MB:
      return packet::LinkType::kEthernet;
    // DLT_RAW is 12 on most systems and 14 on OpenBSD; files say LINKTYPE_RAW (101).
    case 12:
    case 14:
    case 101:
      return packet::LinkType::kRaw;
    case 108:  // DLT_LOOP everywhere but OpenBSD, where it is 12
      return packet::LinkType::kLoop;
    case DLT_LINUX_SLL:
      return packet::LinkType::kLinuxSll;
    case DLT_IPV4:
      return packet::LinkType::kIpv4;
    case DLT_IPV6:
      return packet::LinkType::kIpv6;
    case DLT_LINUX_SLL2:
      return packet::LinkType::kLinuxSll2;
    default:
      return static_cast<packet::LinkType>(static_cast<uint16_t>(dlt));
  }
}

base::Result<std::unique_ptr<PcapReader>> PcapReader::Open(const std::string& path,
                                                           uint64_t first_number) {
  auto fail = [&](std::string message) { return base::Error{std::move(message), path, 0, 0, 0}; };
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    base::Error e = fail(fmt::format("cannot open capture file: {}", std::strerror(errno)));
    e.offset = -1;
    return e;
  }
  // Until libpcap owns the stream, every failure path must close it.
  auto close_and_fail = [&](std::string message) {
    std::fclose(file);
    return fail(std::move(message));
  };

  struct stat st {};
  if (fstat(fileno(file), &st) != 0) {
    return close_and_fail(fmt::format("cannot stat capture file: {}", std::strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) return close_and_fail("is a directory, not a capture file");
  const bool regular = S_ISREG(st.st_mode);
  const uint64_t size = regular ? static_cast<uint64_t>(st.st_size) : 0;
  if (regular && size == 0) return close_and_fail("empty file");

  uint8_t head[12] = {};
  size_t got = std::fread(head, 1, sizeof(head), file);
  if (got < 4) {
    if (std::ferror(file)) {
      return close_and_fail(fmt::format("cannot read capture file: {}", std::strerror(errno)));
    }
    return close_and_fail(
        fmt::format("truncated file header: {} byte(s), too short for a pcap or pcapng file", got));
  }

  auto reader = std::unique_ptr<PcapReader>(new PcapReader());
  reader->path_ = path;
  reader->file_size_ = size;
  reader->first_number_ = first_number;

  const uint32_t magic = HostLoad32(head, false);
  if (IsPcapMagic(magic) || IsPcapMagic(__builtin_bswap32(magic))) {
    reader->format_ = Format::kPcap;
    reader->swapped_ = !IsPcapMagic(magic);
    if (regular && size < kPcapFileHeaderSize) {
      return close_and_fail(
          fmt::format("truncated pcap file header: {} bytes needed, only {} present",
                      kPcapFileHeaderSize, size));
    }
  } else if (magic == kPcapngSectionHeader) {
    reader->format_ = Format::kPcapng;
    if (got >= 12) {
      uint32_t bom = HostLoad32(head + 8, false);
      reader->swapped_ = bom != kPcapngByteOrderMagic;
    }
  } else {
    return close_and_fail(
        fmt::format("not a pcap or pcapng file (unknown magic 0x{:08x})", base::LoadBe32(head)));
  }

  std::rewind(file);
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) {
    return close_and_fail(
        fmt::format("bad {} file header: {}", reader->is_pcapng() ? "pcapng" : "pcap", errbuf));
  }
  reader->pcap_ = p;
  reader->file_ = file;
  reader->linktype_ = LinkTypeFromDlt(pcap_datalink(p));
  long pos = std::ftell(file);
  reader->good_offset_ = pos > 0 ? static_cast<uint64_t>(pos) : 0;
  return reader;
}

PcapReader::~PcapReader() {
  if (pcap_ != nullptr) pcap_close(pcap_);  // closes file_ too
}

uint64_t PcapReader::bytes_read() const {
  if (at_end_) return file_size_;
  long pos = std::ftell(file_);
  if (pos < 0) return good_offset_;
  uint64_t upos = static_cast<uint64_t>(pos);
  return file_size_ > 0 && upos > file_size_ ? file_size_ : upos;
}

base::Error PcapReader::MakeFileError(int64_t offset, std::string message) const {
  return base::Error{std::move(message), path_, 0, 0, offset};
}

base::Error PcapReader::DescribeBadRecord(uint64_t record_offset,
                                          const char* libpcap_message) const {
  const int fd = fileno(file_);
  const int64_t at = static_cast<int64_t>(record_offset);
  if (file_size_ == 0) {  // not a regular file (a pipe): nothing to look at
    return MakeFileError(at, fmt::format("bad or truncated record: {}", libpcap_message));
  }
  const uint64_t remaining = file_size_ > record_offset ? file_size_ - record_offset : 0;

  if (format_ == Format::kPcap) {
    if (remaining < kPcapRecordHeaderSize) {
      return MakeFileError(
          at, fmt::format("truncated packet record header: {} bytes needed, only {} present",
                          kPcapRecordHeaderSize, remaining));
    }
    uint8_t header[kPcapRecordHeaderSize];
    if (ReadAt(fd, record_offset, header, sizeof(header))) {
      uint32_t caplen = HostLoad32(header + 8, swapped_);
      uint64_t present = remaining - kPcapRecordHeaderSize;
      // A length libpcap refuses outright is damage, not truncation, even if it also runs past
      // the end of the file.
      bool refused = std::strstr(libpcap_message, "invalid packet capture length") != nullptr;
      if (caplen > present && !refused) {
        return MakeFileError(
            at, fmt::format("truncated packet record: header says {} bytes, only {} present",
                            caplen, present));
      }
    }
    return MakeFileError(at, fmt::format("corrupt packet record: {}", libpcap_message));
  }

  // pcapng: the bad block may follow blocks that carry no packet (statistics, name resolution),
  // so walk the blocks from the end of the last packet to find the one that does not fit.
  uint64_t off = record_offset;
  bool swapped = swapped_;
  while (file_size_ > off) {
    uint64_t left = file_size_ - off;
    uint8_t header[12];
    if (left < kPcapngMinBlockSize) {
      return MakeFileError(static_cast<int64_t>(off),
                           fmt::format("truncated pcapng block: at least {} bytes needed, only {} "
                                       "present",
                                       kPcapngMinBlockSize, left));
    }
    if (!ReadAt(fd, off, header, sizeof(header))) break;
    if (HostLoad32(header, false) == kPcapngSectionHeader) {
      swapped = HostLoad32(header + 8, false) != kPcapngByteOrderMagic;
    }
    uint32_t total = HostLoad32(header + 4, swapped);
    if (total < kPcapngMinBlockSize || total % 4 != 0) {
      return MakeFileError(static_cast<int64_t>(off),
                           fmt::format("corrupt pcapng block: invalid block length {}", total));
    }
    if (total > left) {
      return MakeFileError(
          static_cast<int64_t>(off),
          fmt::format("truncated pcapng block: header says {} bytes, only {} present", total,
                      left));
    }
    off += total;
  }
  return MakeFileError(at, fmt::format("corrupt pcapng block: {}", libpcap_message));
}

base::Result<size_t> PcapReader::ReadBatch(packet::Batch& batch) {
  if (error_) return *error_;
  if (at_end_) return size_t{0};
  size_t appended = 0;
  while (!batch.full()) {
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    int rc = pcap_next_ex(pcap_, &header, &data);
    if (rc == 1) {
      packet::Packet& p = batch.Append(data, header->caplen);
      p.wirelen = header->len;
      // Classic pcap stores unsigned 32-bit seconds, which libpcap 1.10 reads as signed; undo
      // that so that times after 2038 come out right. pcapng timestamps are 64-bit already.
      p.ts.sec = format_ == Format::kPcap ? int64_t{static_cast<uint32_t>(header->ts.tv_sec)}
                                          : int64_t{header->ts.tv_sec};
      p.ts.nsec = static_cast<uint32_t>(header->ts.tv_usec);  // nanoseconds: opened with NANO
      p.linktype = linktype_;
      p.number = first_number_ + packets_read_;
      ++packets_read_;
      ++appended;
      long pos = std::ftell(file_);
      if (pos >= 0) good_offset_ = static_cast<uint64_t>(pos);
      continue;
    }
    if (rc == PCAP_ERROR_BREAK) {
      // libpcap ends cleanly only when a record header read returns no bytes at all. If the file
      // is longer than where it stopped (it shrank or libpcap skipped something), say so rather
      // than silently dropping the rest.
      long pos = std::ftell(file_);
      if (file_size_ > 0 && pos >= 0 && static_cast<uint64_t>(pos) < file_size_) {
        error_ = DescribeBadRecord(good_offset_, "unexpected end of data");
      } else {
        at_end_ = true;
      }
      break;
    }
    error_ = DescribeBadRecord(good_offset_, pcap_geterr(pcap_));
    break;
  }
  if (appended == 0 && error_) return *error_;
  return appended;
}

}  // namespace vigil::io

#include "io/pcap_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "io/io_test_util.h"
#include "io/pcap_writer.h"

namespace vigil::io {
namespace {

using packet::LinkType;
using packet::Timestamp;
using testing::ByteWriter;
using ::testing::HasSubstr;
using testing::PatternFrame;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

struct Frame {
  std::vector<uint8_t> data;
  uint32_t wirelen;
  Timestamp ts;
};

// Everything a reader delivered, copied out of the batches.
struct Delivered {
  std::vector<Frame> frames;
  std::vector<uint64_t> numbers;
  std::vector<LinkType> linktypes;
  std::vector<size_t> batch_sizes;
};

// Reads until end of file or error; returns the error if one came.
std::optional<base::Error> ReadAll(PcapReader& reader, Delivered& out) {
  packet::Batch batch;
  while (true) {
    batch.Clear();
    auto n = reader.ReadBatch(batch);
    if (!n) return n.error();
    if (*n == 0) return std::nullopt;
    EXPECT_EQ(*n, batch.size());
    out.batch_sizes.push_back(*n);
    for (const packet::Packet& p : batch) {
      out.frames.push_back(Frame{std::vector<uint8_t>(p.data, p.data + p.caplen), p.wirelen, p.ts});
      out.numbers.push_back(p.number);
      out.linktypes.push_back(p.linktype);
    }
  }
}

std::vector<Frame> SampleFrames(size_t count) {
  std::vector<Frame> frames;
  for (uint32_t i = 0; i < count; ++i) {
    size_t len = 1 + (i * 97) % 1600;  // 1..1600 bytes, including jumbo-ish frames
    // Seconds far beyond 2^31 and odd nanoseconds exercise the full timestamp range.
    Timestamp ts{int64_t{1'700'000'000} + i * 3 + (i == 5 ? 2'500'000'000LL : 0),
                 (i * 123'456'789u + 1) % 1'000'000'000u};
    frames.push_back(Frame{PatternFrame(len, i), static_cast<uint32_t>(len + (i % 3) * 10), ts});
  }
  return frames;
}

void WriteFrames(const std::string& path, LinkType linktype, bool nanosecond,
                 const std::vector<Frame>& frames) {
  auto writer = PcapWriter::Open(path, linktype, PcapWriter::kDefaultSnaplen, nanosecond);
  ASSERT_TRUE(writer) << writer.error().ToString();
  for (const Frame& f : frames) {
    auto s = (*writer)->Write(f.data.data(), static_cast<uint32_t>(f.data.size()), f.wirelen, f.ts);
    ASSERT_TRUE(s) << s.error().ToString();
  }
  auto closed = (*writer)->Close();
  ASSERT_TRUE(closed) << closed.error().ToString();
}

struct LinkCase {
  LinkType linktype;
  bool nanosecond;
};

class RoundTripTest : public ::testing::TestWithParam<LinkCase> {};

TEST_P(RoundTripTest, WriteThenReadIsByteExact) {
  TempDir dir;
  const std::string path = dir.File("round.pcap");
  const std::vector<Frame> frames = SampleFrames(70);  // three batches: 32 + 32 + 6
  WriteFrames(path, GetParam().linktype, GetParam().nanosecond, frames);

  auto reader = PcapReader::Open(path);
  ASSERT_TRUE(reader) << reader.error().ToString();
  EXPECT_EQ((*reader)->linktype(), GetParam().linktype);
  EXPECT_FALSE((*reader)->is_pcapng());
  Delivered got;
  auto error = ReadAll(**reader, got);
  ASSERT_FALSE(error) << error->ToString();
  EXPECT_EQ(got.batch_sizes, (std::vector<size_t>{32, 32, 6}));
  ASSERT_EQ(got.frames.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got.frames[i].data, frames[i].data);
    EXPECT_EQ(got.frames[i].wirelen, frames[i].wirelen);
    EXPECT_EQ(got.frames[i].ts.sec, frames[i].ts.sec);
    uint32_t want_nsec =
        GetParam().nanosecond ? frames[i].ts.nsec : frames[i].ts.nsec / 1000 * 1000;
    EXPECT_EQ(got.frames[i].ts.nsec, want_nsec);
    EXPECT_EQ(got.numbers[i], i + 1);
    EXPECT_EQ(got.linktypes[i], GetParam().linktype);
  }
  EXPECT_EQ((*reader)->bytes_read(), (*reader)->file_size());
  EXPECT_EQ((*reader)->file_size(), std::filesystem::file_size(path));
  // End of file is sticky and not an error.
  packet::Batch batch;
  auto again = (*reader)->ReadBatch(batch);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    EveryLinkType, RoundTripTest,
    ::testing::Values(LinkCase{LinkType::kEthernet, false}, LinkCase{LinkType::kEthernet, true},
                      LinkCase{LinkType::kRaw, true}, LinkCase{LinkType::kIpv4, false},
                      LinkCase{LinkType::kIpv6, true}, LinkCase{LinkType::kLinuxSll, false},
                      LinkCase{LinkType::kLinuxSll2, true}, LinkCase{LinkType::kNull, false},
                      LinkCase{LinkType::kLoop, true},
                      // LINKTYPE_USER0: not decoded by vigil, still delivered as is.
                      LinkCase{static_cast<LinkType>(147), false}),
    [](const ::testing::TestParamInfo<LinkCase>& info) {
      return "LinkType" + std::to_string(static_cast<int>(info.param.linktype)) +
             (info.param.nanosecond ? "Nano" : "Micro");
    });

TEST(PcapReaderTest, FirstNumberContinuesTheCount) {
  TempDir dir;
  WriteFrames(dir.File("a.pcap"), LinkType::kEthernet, false, SampleFrames(3));
  auto reader = PcapReader::Open(dir.File("a.pcap"), 41);
  ASSERT_TRUE(reader);
  Delivered got;
  ASSERT_FALSE(ReadAll(**reader, got));
  EXPECT_EQ(got.numbers, (std::vector<uint64_t>{41, 42, 43}));
  EXPECT_EQ((*reader)->packets_read(), 3u);
}

TEST(PcapReaderTest, ReadsBigEndianFileWrittenByHand) {
  // An independent encoder: a big-endian nanosecond pcap with LINKTYPE_RAW (101), which libpcap
  // maps to its own DLT_RAW value; the reader must map it back.
  ByteWriter w(/*big_endian=*/true);
  w.U32(0xa1b23c4d).U16(2).U16(4).U32(0).U32(0).U32(65535).U32(101);
  const std::vector<uint8_t> payload = {0x45, 0, 0, 20, 1, 2, 3, 4};
  w.U32(7).U32(999'999'999).U32(payload.size()).U32(60).Raw(payload);
  TempDir dir;
  WriteBytes(dir.File("be.pcap"), w.bytes());

  auto reader = PcapReader::Open(dir.File("be.pcap"));
  ASSERT_TRUE(reader) << reader.error().ToString();
  EXPECT_EQ((*reader)->linktype(), LinkType::kRaw);
  Delivered got;
  ASSERT_FALSE(ReadAll(**reader, got));
  ASSERT_EQ(got.frames.size(), 1u);
  EXPECT_EQ(got.frames[0].data, payload);
  EXPECT_EQ(got.frames[0].wirelen, 60u);
  EXPECT_EQ(got.frames[0].ts.sec, 7);
  EXPECT_EQ(got.frames[0].ts.nsec, 999'999'999u);
}

TEST(PcapReaderTest, MapsLibpcapDltValues) {
  EXPECT_EQ(LinkTypeFromDlt(12), LinkType::kRaw);
  EXPECT_EQ(LinkTypeFromDlt(14), LinkType::kRaw);
  EXPECT_EQ(LinkTypeFromDlt(0), LinkType::kNull);
  EXPECT_EQ(LinkTypeFromDlt(1), LinkType::kEthernet);
  EXPECT_EQ(LinkTypeFromDlt(108), LinkType::kLoop);
  EXPECT_EQ(LinkTypeFromDlt(113), LinkType::kLinuxSll);
  EXPECT_EQ(LinkTypeFromDlt(276), LinkType::kLinuxSll2);
  EXPECT_EQ(LinkTypeFromDlt(228), LinkType::kIpv4);
  EXPECT_EQ(LinkTypeFromDlt(229), LinkType::kIpv6);
  EXPECT_EQ(static_cast<int>(LinkTypeFromDlt(147)), 147);
}

// ---- pcapng, built block by block ----

// Appends a block with the given type and body, adding the two length fields.
void PcapngBlock(ByteWriter& w, uint32_t type, const std::vector<uint8_t>& body) {
  uint32_t total = static_cast<uint32_t>(12 + body.size());
  w.U32(type).U32(total).Raw(body).U32(total);
}

std::vector<uint8_t> SectionHeaderBody() {
  ByteWriter b;
  b.U32(0x1a2b3c4d).U16(1).U16(0).U64(~uint64_t{0});  // byte-order magic, v1.0, length unknown
  return b.bytes();
}

// Interface Description Block body; `tsresol` 0 means no if_tsresol option (microseconds).
std::vector<uint8_t> InterfaceBody(uint16_t linktype, uint8_t tsresol) {
  ByteWriter b;
  b.U16(linktype).U16(0).U32(262144);
  if (tsresol != 0) b.U16(9).U16(1).U8(tsresol).Zeros(3);  // if_tsresol, padded to 4
  b.U16(0).U16(0);                                         // opt_endofopt
  return b.bytes();
}

// Enhanced Packet Block body; the timestamp is in the interface's units.
std::vector<uint8_t> EnhancedPacketBody(uint64_t ts_units, const std::vector<uint8_t>& data,
                                        uint32_t wirelen) {
  ByteWriter b;
  b.U32(0).U32(static_cast<uint32_t>(ts_units >> 32)).U32(static_cast<uint32_t>(ts_units));
  b.U32(static_cast<uint32_t>(data.size())).U32(wirelen).Raw(data);
  b.Zeros((4 - data.size() % 4) % 4);
  return b.bytes();
}

TEST(PcapReaderTest, ReadsPcapngWithNanosecondResolution) {
  ByteWriter w;
  PcapngBlock(w, 0x0a0d0d0a, SectionHeaderBody());
  PcapngBlock(w, 1, InterfaceBody(1, 9));
  const auto f1 = PatternFrame(61, 1);
  const auto f2 = PatternFrame(64, 2);
  PcapngBlock(w, 6, EnhancedPacketBody(1'700'000'000'123'456'789ULL, f1, 61));
  // A block type libpcap skips (a custom block) between packets must not disturb anything.
  PcapngBlock(w, 0x00000bad, {1, 2, 3, 4, 0, 0, 0, 0});
  PcapngBlock(w, 6, EnhancedPacketBody(1'700'000'001'000'000'001ULL, f2, 1500));
  TempDir dir;
  WriteBytes(dir.File("ns.pcapng"), w.bytes());

  auto reader = PcapReader::Open(dir.File("ns.pcapng"));
  ASSERT_TRUE(reader) << reader.error().ToString();
  EXPECT_TRUE((*reader)->is_pcapng());
  EXPECT_EQ((*reader)->linktype(), LinkType::kEthernet);
  Delivered got;
  auto error = ReadAll(**reader, got);
  ASSERT_FALSE(error) << error->ToString();
  ASSERT_EQ(got.frames.size(), 2u);
  EXPECT_EQ(got.frames[0].data, f1);
  EXPECT_EQ(got.frames[0].ts.sec, 1'700'000'000);
  EXPECT_EQ(got.frames[0].ts.nsec, 123'456'789u);
  EXPECT_EQ(got.frames[1].data, f2);
  EXPECT_EQ(got.frames[1].wirelen, 1500u);
  EXPECT_EQ(got.frames[1].ts.sec, 1'700'000'001);
  EXPECT_EQ(got.frames[1].ts.nsec, 1u);
  EXPECT_EQ(got.numbers, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ((*reader)->bytes_read(), w.size());
}

TEST(PcapReaderTest, ReadsPcapngWithDefaultMicrosecondsAndSll2) {
  ByteWriter w;
  PcapngBlock(w, 0x0a0d0d0a, SectionHeaderBody());
  PcapngBlock(w, 1, InterfaceBody(276, 0));
  const auto f = PatternFrame(33, 9);
  PcapngBlock(w, 6, EnhancedPacketBody(1'600'000'000'654'321ULL, f, 33));
  TempDir dir;
  WriteBytes(dir.File("us.pcapng"), w.bytes());

  auto reader = PcapReader::Open(dir.File("us.pcapng"));
  ASSERT_TRUE(reader) << reader.error().ToString();
  EXPECT_EQ((*reader)->linktype(), LinkType::kLinuxSll2);
  Delivered got;
  ASSERT_FALSE(ReadAll(**reader, got));
  ASSERT_EQ(got.frames.size(), 1u);
  EXPECT_EQ(got.frames[0].data, f);
  EXPECT_EQ(got.frames[0].ts.sec, 1'600'000'000);
  EXPECT_EQ(got.frames[0].ts.nsec, 654'321'000u);
  EXPECT_EQ(got.linktypes[0], LinkType::kLinuxSll2);
}

TEST(PcapReaderTest, TruncatedPcapngDeliversPacketsThenNamesTheBlock) {
  ByteWriter w;
  PcapngBlock(w, 0x0a0d0d0a, SectionHeaderBody());
  PcapngBlock(w, 1, InterfaceBody(1, 9));
  PcapngBlock(w, 6, EnhancedPacketBody(1, PatternFrame(100, 1), 100));
  PcapngBlock(w, 6, EnhancedPacketBody(2, PatternFrame(100, 2), 100));
  const size_t third_block = w.size();
  PcapngBlock(w, 6, EnhancedPacketBody(3, PatternFrame(100, 3), 100));  // 132 bytes
  std::vector<uint8_t> bytes = w.bytes();
  bytes.resize(third_block + 50);
  TempDir dir;
  const std::string path = dir.File("cut.pcapng");
  WriteBytes(path, bytes);

  auto reader = PcapReader::Open(path);
  ASSERT_TRUE(reader) << reader.error().ToString();
  Delivered got;
  auto error = ReadAll(**reader, got);
  EXPECT_EQ(got.frames.size(), 2u);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->file, path);
  EXPECT_EQ(error->offset, static_cast<int64_t>(third_block));
  EXPECT_EQ(error->message, "truncated pcapng block: header says 132 bytes, only 50 present");
}

// ---- damaged and wrong files ----

// Writes `count` 100-byte Ethernet frames; each record takes 16 + 100 bytes after the 24-byte
// file header.
std::vector<uint8_t> HundredByteCapture(TempDir& dir, size_t count) {
  const std::string path = dir.File("whole.pcap");
  std::vector<Frame> frames;
  for (uint32_t i = 0; i < count; ++i) frames.push_back({PatternFrame(100, i), 100, {i, 0}});
  WriteFrames(path, LinkType::kEthernet, false, frames);
  return ReadBytes(path);
}

constexpr size_t kRecord = 116;

TEST(PcapReaderTest, TruncatedRecordDeliversEarlierPacketsThenOneError) {
  TempDir dir;
  std::vector<uint8_t> bytes = HundredByteCapture(dir, 5);
  bytes.resize(24 + 3 * kRecord + 16 + 30);  // the fourth record has its header and 30 bytes
  const std::string path = dir.File("cut.pcap");
  WriteBytes(path, bytes);

  auto reader = PcapReader::Open(path);
  ASSERT_TRUE(reader) << reader.error().ToString();
  packet::Batch batch;
  // The packets before the cut come first, in a call that succeeds.
  auto first = (*reader)->ReadBatch(batch);
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(*first, 3u);
  EXPECT_EQ(batch[2].data[0], PatternFrame(100, 2)[0]);
  // Then exactly one clear error, and the same error from then on.
  batch.Clear();
  auto second = (*reader)->ReadBatch(batch);
  ASSERT_FALSE(second);
  EXPECT_EQ(batch.size(), 0u);
  EXPECT_EQ(second.error().file, path);
  EXPECT_EQ(second.error().offset, static_cast<int64_t>(24 + 3 * kRecord));
  EXPECT_EQ(second.error().message,
            "truncated packet record: header says 100 bytes, only 30 present");
  EXPECT_EQ(second.error().ToString(),
            path + ": offset 372: truncated packet record: header says 100 bytes, only 30 present");
  auto third = (*reader)->ReadBatch(batch);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().message, second.error().message);
}

TEST(PcapReaderTest, TruncationAfterAFullBatchComesOnTheCallAfterThePackets) {
  TempDir dir;
  std::vector<uint8_t> bytes = HundredByteCapture(dir, 40);
  bytes.resize(24 + 34 * kRecord + 7);  // 34 whole records, then 7 bytes of a record header
  const std::string path = dir.File("cut.pcap");
  WriteBytes(path, bytes);
  auto reader = PcapReader::Open(path);
  ASSERT_TRUE(reader);
  Delivered got;
  auto error = ReadAll(**reader, got);
  EXPECT_EQ(got.batch_sizes, (std::vector<size_t>{32, 2}));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->offset, static_cast<int64_t>(24 + 34 * kRecord));
  EXPECT_EQ(error->message, "truncated packet record header: 16 bytes needed, only 7 present");
}

TEST(PcapReaderTest, CorruptCaptureLengthIsNamed) {
  TempDir dir;
  std::vector<uint8_t> bytes = HundredByteCapture(dir, 2);
  // Second record's caplen (host order, little-endian here) set to 0x7fffffff.
  size_t caplen_at = 24 + kRecord + 8;
  bytes[caplen_at] = 0xff;
  bytes[caplen_at + 1] = 0xff;
  bytes[caplen_at + 2] = 0xff;
  bytes[caplen_at + 3] = 0x7f;
  const std::string path = dir.File("corrupt.pcap");
  WriteBytes(path, bytes);
  auto reader = PcapReader::Open(path);
  ASSERT_TRUE(reader);
  Delivered got;
  auto error = ReadAll(**reader, got);
  EXPECT_EQ(got.frames.size(), 1u);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->offset, static_cast<int64_t>(24 + kRecord));
  EXPECT_THAT(error->message, HasSubstr("corrupt packet record"));
  EXPECT_THAT(error->message, HasSubstr("2147483647"));
}

TEST(PcapReaderTest, EveryCutOfAPcapEndsCleanlyOnlyAtARecordBoundary) {
  TempDir dir;
  const std::vector<uint8_t> whole = HundredByteCapture(dir, 3);
  const std::string path = dir.File("cut.pcap");
  for (size_t n = 0; n < whole.size(); ++n) {
    SCOPED_TRACE(n);
    WriteBytes(path, std::vector<uint8_t>(whole.begin(), whole.begin() + n));
    auto reader = PcapReader::Open(path);
    if (n < 24) {
      ASSERT_FALSE(reader);
      EXPECT_EQ(reader.error().offset, 0);
      continue;
    }
    ASSERT_TRUE(reader) << reader.error().ToString();
    Delivered got;
    auto error = ReadAll(**reader, got);
    const size_t whole_records = (n - 24) / kRecord;
    EXPECT_EQ(got.frames.size(), whole_records);
    const bool at_boundary = (n - 24) % kRecord == 0;
    ASSERT_EQ(error.has_value(), !at_boundary);
    if (error) {
      EXPECT_EQ(error->file, path);
      EXPECT_EQ(error->offset, static_cast<int64_t>(24 + whole_records * kRecord));
      EXPECT_THAT(error->message, HasSubstr("truncated packet record"));
    }
  }
}

TEST(PcapReaderTest, EveryCutOfAPcapngIsDetected) {
  ByteWriter w;
  PcapngBlock(w, 0x0a0d0d0a, SectionHeaderBody());
  PcapngBlock(w, 1, InterfaceBody(1, 9));
  const size_t first_packet = w.size();
  std::vector<size_t> block_ends;
  for (uint32_t i = 0; i < 3; ++i) {
    PcapngBlock(w, 6, EnhancedPacketBody(i, PatternFrame(50 + i, i), 50 + i));
    block_ends.push_back(w.size());
  }
  TempDir dir;
  const std::string path = dir.File("cut.pcapng");
  for (size_t n = 0; n < w.size(); ++n) {
    SCOPED_TRACE(n);
    WriteBytes(path, std::vector<uint8_t>(w.bytes().begin(), w.bytes().begin() + n));
    auto reader = PcapReader::Open(path);
    if (n < first_packet) {
      // Without a whole section header and interface description there is nothing to read.
      ASSERT_FALSE(reader);
      EXPECT_EQ(reader.error().offset, 0);
      continue;
    }
    ASSERT_TRUE(reader) << reader.error().ToString();
    Delivered got;
    auto error = ReadAll(**reader, got);
    size_t whole_blocks = 0;
    size_t last_end = first_packet;
    for (size_t end : block_ends) {
      if (end <= n) {
        ++whole_blocks;
        last_end = end;
      }
    }
    EXPECT_EQ(got.frames.size(), whole_blocks);
    ASSERT_EQ(error.has_value(), n != last_end);
    if (error) {
      EXPECT_EQ(error->offset, static_cast<int64_t>(last_end));
      EXPECT_THAT(error->message, HasSubstr("truncated pcapng block"));
    }
  }
}

TEST(PcapReaderTest, DamagedBytesGiveAnErrorNamingTheFileOrValidPackets) {
  // Deterministic byte damage to a pcap and a pcapng; every outcome must be either packets that
  // fit the file or an error naming it (under the sanitizers this also shows no bad read).
  TempDir dir;
  ByteWriter ng;
  PcapngBlock(ng, 0x0a0d0d0a, SectionHeaderBody());
  PcapngBlock(ng, 1, InterfaceBody(1, 9));
  for (uint32_t i = 0; i < 4; ++i) {
    PcapngBlock(ng, 6, EnhancedPacketBody(i, PatternFrame(40 + i, i), 40 + i));
  }
  const std::vector<std::vector<uint8_t>> originals = {HundredByteCapture(dir, 4), ng.bytes()};
  const std::string path = dir.File("damaged");
  uint32_t rng = 12345;
  auto next = [&rng] { return rng = rng * 1103515245 + 12345, rng >> 8; };
  for (int round = 0; round < 400; ++round) {
    std::vector<uint8_t> bytes = originals[round % 2];
    for (int flips = 1 + next() % 4; flips > 0; --flips) {
      bytes[next() % bytes.size()] = static_cast<uint8_t>(next());
    }
    WriteBytes(path, bytes);
    auto reader = PcapReader::Open(path);
    if (!reader) {
      EXPECT_EQ(reader.error().file, path);
      continue;
    }
    Delivered got;
    auto error = ReadAll(**reader, got);
    if (error) {
      EXPECT_EQ(error->file, path);
    }
    size_t delivered = 0;
    for (const Frame& f : got.frames) delivered += f.data.size();
    EXPECT_LE(delivered, bytes.size());
  }
}

struct BadFileCase {
  const char* name;
  std::vector<uint8_t> bytes;
  const char* message;
};

class BadFileTest : public ::testing::TestWithParam<BadFileCase> {};

TEST_P(BadFileTest, OpenFailsWithOneClearError) {
  TempDir dir;
  const std::string path = dir.File(std::string(GetParam().name) + ".pcap");
  WriteBytes(path, GetParam().bytes);
  auto reader = PcapReader::Open(path);
  ASSERT_FALSE(reader);
  EXPECT_EQ(reader.error().file, path);
  EXPECT_EQ(reader.error().offset, 0);
  EXPECT_EQ(reader.error().message, GetParam().message);
}

std::vector<uint8_t> Text(const char* s) { return {s, s + std::char_traits<char>::length(s)}; }

std::vector<uint8_t> CutPcapHeader() {
  ByteWriter w;
  w.U32(0xa1b2c3d4).U16(2).U16(4).U32(0);  // 12 of the 24 header bytes
  return w.bytes();
}

INSTANTIATE_TEST_SUITE_P(
    Files, BadFileTest,
    ::testing::Values(BadFileCase{"empty", {}, "empty file"},
                      BadFileCase{"text", Text("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
                                  "not a pcap or pcapng file (unknown magic 0x47455420)"},
                      BadFileCase{
                          "tiny", Text("ab"),
                          "truncated file header: 2 byte(s), too short for a pcap or pcapng file"},
                      BadFileCase{"cut_header", CutPcapHeader(),
                                  "truncated pcap file header: 24 bytes needed, only 12 present"}),
    [](const ::testing::TestParamInfo<BadFileCase>& info) { return info.param.name; });

TEST(PcapReaderTest, HeaderCutFromARealFileFails) {
  TempDir dir;
  std::vector<uint8_t> bytes = HundredByteCapture(dir, 1);
  bytes.resize(20);
  WriteBytes(dir.File("cut.pcap"), bytes);
  auto reader = PcapReader::Open(dir.File("cut.pcap"));
  ASSERT_FALSE(reader);
  EXPECT_EQ(reader.error().offset, 0);
  EXPECT_EQ(reader.error().message, "truncated pcap file header: 24 bytes needed, only 20 present");
}

TEST(PcapReaderTest, BadVersionReportsLibpcapReason) {
  ByteWriter w;
  w.U32(0xa1b2c3d4).U16(1).U16(0).U32(0).U32(0).U32(65535).U32(1);  // pcap 1.0: pre-history
  TempDir dir;
  WriteBytes(dir.File("old.pcap"), w.bytes());
  auto reader = PcapReader::Open(dir.File("old.pcap"));
  ASSERT_FALSE(reader);
  EXPECT_EQ(reader.error().offset, 0);
  EXPECT_THAT(reader.error().message, HasSubstr("bad pcap file header"));
}

TEST(PcapReaderTest, MissingFileAndDirectoryFail) {
  TempDir dir;
  auto missing = PcapReader::Open(dir.File("nope.pcap"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().file, dir.File("nope.pcap"));
  EXPECT_EQ(missing.error().message, "cannot open capture file: No such file or directory");
  auto directory = PcapReader::Open(dir.path());
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().message, "is a directory, not a capture file");
}

TEST(PcapReaderTest, ProgressGrowsToTheFileSize) {
  TempDir dir;
  std::vector<uint8_t> bytes = HundredByteCapture(dir, 40);
  auto reader = PcapReader::Open(dir.File("whole.pcap"));
  ASSERT_TRUE(reader);
  EXPECT_EQ((*reader)->file_size(), bytes.size());
  EXPECT_LT((*reader)->bytes_read(), 100u);
  packet::Batch batch;
  ASSERT_TRUE((*reader)->ReadBatch(batch));
  EXPECT_EQ((*reader)->bytes_read(), 24 + 32 * kRecord);
  batch.Clear();
  ASSERT_TRUE((*reader)->ReadBatch(batch));
  batch.Clear();
  ASSERT_TRUE((*reader)->ReadBatch(batch));
  EXPECT_EQ((*reader)->bytes_read(), bytes.size());
}

// ---- writer ----

TEST(PcapWriterTest, KeepsOnlySnaplenBytesAndTheWireLength) {
  TempDir dir;
  const std::string path = dir.File("snap.pcap");
  auto writer = PcapWriter::Open(path, LinkType::kEthernet, 64);
  ASSERT_TRUE(writer);
  const auto frame = PatternFrame(100, 1);
  ASSERT_TRUE((*writer)->Write(frame.data(), 100, 100, {1, 0}));
  ASSERT_TRUE((*writer)->Write(frame.data(), 50, 10, {2, 0}));  // wire length raised to 50
  ASSERT_TRUE((*writer)->Close());
  EXPECT_EQ((*writer)->packets_written(), 2u);

  auto reader = PcapReader::Open(path);
  ASSERT_TRUE(reader);
  Delivered got;
  ASSERT_FALSE(ReadAll(**reader, got));
  ASSERT_EQ(got.frames.size(), 2u);
  EXPECT_EQ(got.frames[0].data, std::vector<uint8_t>(frame.begin(), frame.begin() + 64));
  EXPECT_EQ(got.frames[0].wirelen, 100u);
  EXPECT_EQ(got.frames[1].data.size(), 50u);
  EXPECT_EQ(got.frames[1].wirelen, 50u);
}

TEST(PcapWriterTest, WritesTheExactClassicFormat) {
  TempDir dir;
  const std::string path = dir.File("exact.pcap");
  auto writer = PcapWriter::Open(path, LinkType::kLinuxSll, 1000, /*nanosecond=*/false);
  ASSERT_TRUE(writer);
  const std::vector<uint8_t> data = {0xde, 0xad, 0xbe, 0xef};
  ASSERT_TRUE((*writer)->Write(data.data(), 4, 9, {0x01020304, 5'006'000}));
  ASSERT_TRUE((*writer)->Close());
  ByteWriter want;  // little-endian host
  want.U32(0xa1b2c3d4).U16(2).U16(4).U32(0).U32(0).U32(1000).U32(113);
  want.U32(0x01020304).U32(5006).U32(4).U32(9).Raw(data);
  EXPECT_EQ(ReadBytes(path), want.bytes());
}

TEST(PcapWriterTest, RejectsWhatPcapCannotHold) {
  TempDir dir;
  auto writer = PcapWriter::Open(dir.File("w.pcap"), LinkType::kEthernet);
  ASSERT_TRUE(writer);
  const uint8_t byte = 0;
  EXPECT_FALSE((*writer)->Write(&byte, 1, 1, {-1, 0}));
  EXPECT_FALSE((*writer)->Write(&byte, 1, 1, {int64_t{1} << 32, 0}));
  EXPECT_FALSE((*writer)->Write(&byte, 1, 1, {0, 1'000'000'000}));
  ASSERT_TRUE((*writer)->Close());
  EXPECT_TRUE((*writer)->Close());  // a second close does nothing
  auto late = (*writer)->Write(&byte, 1, 1, {0, 0});
  ASSERT_FALSE(late);
  EXPECT_THAT(late.error().message, HasSubstr("closed"));

  auto bad_dir = PcapWriter::Open(dir.File("no/such/dir.pcap"), LinkType::kEthernet);
  ASSERT_FALSE(bad_dir);
  EXPECT_THAT(bad_dir.error().message, HasSubstr("cannot create capture file"));
}

}  // namespace
}  // namespace vigil::io

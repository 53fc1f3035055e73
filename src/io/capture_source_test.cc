#include "io/capture_source.h"

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
using ::testing::HasSubstr;
using testing::PatternFrame;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

// Writes `count` frames whose first byte is `tag` and second byte the index in the file.
void WriteTagged(const std::string& path, LinkType linktype, uint8_t tag, size_t count) {
  auto writer = PcapWriter::Open(path, linktype);
  ASSERT_TRUE(writer) << writer.error().ToString();
  for (size_t i = 0; i < count; ++i) {
    std::vector<uint8_t> frame = PatternFrame(60, static_cast<uint32_t>(i));
    frame[0] = tag;
    frame[1] = static_cast<uint8_t>(i);
    ASSERT_TRUE((*writer)->Write(frame.data(), 60, 60, {static_cast<int64_t>(i), 0}));
  }
  ASSERT_TRUE((*writer)->Close());
}

struct Seen {
  uint8_t tag;
  uint8_t index;
  uint64_t number;
  LinkType linktype;
  std::string file;
};

std::optional<base::Error> ReadAll(CaptureSource& source, std::vector<Seen>& seen,
                                   std::vector<size_t>* batch_sizes = nullptr) {
  packet::Batch batch;
  while (true) {
    batch.Clear();
    auto n = source.ReadBatch(batch);
    if (!n) return n.error();
    if (*n == 0) return std::nullopt;
    if (batch_sizes) batch_sizes->push_back(*n);
    for (const packet::Packet& p : batch) {
      seen.push_back({p.data[0], p.data[1], p.number, p.linktype, source.current_file()});
    }
  }
}

TEST(CaptureSourceTest, DirectoryIsReadInNameOrderWithContinuousNumbers) {
  TempDir dir;
  // Created out of name order, with a hidden file and a subdirectory that must be skipped.
  WriteTagged(dir.File("b.pcap"), LinkType::kRaw, 'b', 3);
  WriteTagged(dir.File("a.pcap"), LinkType::kEthernet, 'a', 40);
  WriteTagged(dir.File(".hidden.pcap"), LinkType::kEthernet, 'h', 5);
  std::filesystem::create_directory(dir.File("sub"));
  WriteTagged(dir.File("sub/c.pcap"), LinkType::kEthernet, 'c', 5);

  auto source = CaptureSource::Open(dir.path());
  ASSERT_TRUE(source) << source.error().ToString();
  EXPECT_EQ((*source)->files(), (std::vector<std::string>{dir.File("a.pcap"), dir.File("b.pcap")}));
  const uint64_t total = std::filesystem::file_size(dir.File("a.pcap")) +
                         std::filesystem::file_size(dir.File("b.pcap"));
  EXPECT_EQ((*source)->total_bytes(), total);

  std::vector<Seen> seen;
  std::vector<size_t> batch_sizes;
  auto error = ReadAll(**source, seen, &batch_sizes);
  ASSERT_FALSE(error) << error->ToString();
  // A batch never spans two files: a's 40 packets are 32 + 8, then b's 3.
  EXPECT_EQ(batch_sizes, (std::vector<size_t>{32, 8, 3}));
  ASSERT_EQ(seen.size(), 43u);
  for (size_t i = 0; i < seen.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(seen[i].number, i + 1);
    bool in_a = i < 40;
    EXPECT_EQ(seen[i].tag, in_a ? 'a' : 'b');
    EXPECT_EQ(seen[i].index, in_a ? i : i - 40);
    EXPECT_EQ(seen[i].linktype, in_a ? LinkType::kEthernet : LinkType::kRaw);
    EXPECT_EQ(seen[i].file, dir.File(in_a ? "a.pcap" : "b.pcap"));
  }
  EXPECT_EQ((*source)->bytes_read(), total);
  EXPECT_EQ((*source)->packets_read(), 43u);
}

TEST(CaptureSourceTest, ProgressCountsFinishedFiles) {
  TempDir dir;
  WriteTagged(dir.File("1.pcap"), LinkType::kEthernet, '1', 10);
  WriteTagged(dir.File("2.pcap"), LinkType::kEthernet, '2', 10);
  const uint64_t first = std::filesystem::file_size(dir.File("1.pcap"));
  auto source = CaptureSource::Open(dir.path());
  ASSERT_TRUE(source);
  packet::Batch batch;
  ASSERT_TRUE((*source)->ReadBatch(batch));
  EXPECT_EQ((*source)->bytes_read(), first);
  batch.Clear();
  ASSERT_TRUE((*source)->ReadBatch(batch));  // ends file 1, reads all of file 2
  EXPECT_EQ((*source)->current_file(), dir.File("2.pcap"));
  EXPECT_EQ((*source)->bytes_read(), (*source)->total_bytes());
}

TEST(CaptureSourceTest, NonCaptureFileInDirectoryFailsAfterEarlierPackets) {
  TempDir dir;
  WriteTagged(dir.File("a.pcap"), LinkType::kEthernet, 'a', 4);
  const std::string notes = dir.File("b-notes.txt");
  WriteBytes(notes, {'h', 'e', 'l', 'l', 'o', '\n'});
  WriteTagged(dir.File("c.pcap"), LinkType::kEthernet, 'c', 4);

  auto source = CaptureSource::Open(dir.path());
  ASSERT_TRUE(source) << source.error().ToString();
  std::vector<Seen> seen;
  auto error = ReadAll(**source, seen);
  EXPECT_EQ(seen.size(), 4u);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->file, notes);
  EXPECT_EQ(error->offset, 0);
  EXPECT_EQ(error->message, "not a pcap or pcapng file (unknown magic 0x68656c6c)");
  // Sticky: the file after it is never read.
  packet::Batch batch;
  auto again = (*source)->ReadBatch(batch);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().file, notes);
}

TEST(CaptureSourceTest, TruncatedSecondFileKeepsNumberingThenFails) {
  TempDir dir;
  WriteTagged(dir.File("a.pcap"), LinkType::kEthernet, 'a', 2);
  WriteTagged(dir.File("b.pcap"), LinkType::kEthernet, 'b', 3);
  std::vector<uint8_t> b = ReadBytes(dir.File("b.pcap"));
  b.resize(b.size() - 10);
  WriteBytes(dir.File("b.pcap"), b);

  auto source = CaptureSource::Open(dir.path());
  ASSERT_TRUE(source);
  std::vector<Seen> seen;
  auto error = ReadAll(**source, seen);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[3].tag, 'b');
  EXPECT_EQ(seen[3].number, 4u);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->file, dir.File("b.pcap"));
  EXPECT_EQ(error->offset, 24 + 2 * (16 + 60));
  EXPECT_EQ(error->message, "truncated packet record: header says 60 bytes, only 50 present");
}

TEST(CaptureSourceTest, SingleFileAndItsErrors) {
  TempDir dir;
  WriteTagged(dir.File("one.pcap"), LinkType::kLoop, 'x', 2);
  auto source = CaptureSource::Open(dir.File("one.pcap"));
  ASSERT_TRUE(source);
  EXPECT_EQ((*source)->current_file(), dir.File("one.pcap"));
  std::vector<Seen> seen;
  ASSERT_FALSE(ReadAll(**source, seen));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].number, 2u);
  EXPECT_EQ(seen[1].linktype, LinkType::kLoop);

  // A bad single file fails at Open, not later.
  WriteBytes(dir.File("empty.pcap"), {});
  auto empty = CaptureSource::Open(dir.File("empty.pcap"));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "empty file");
  EXPECT_EQ(empty.error().file, dir.File("empty.pcap"));

  auto missing = CaptureSource::Open(dir.File("missing.pcap"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().file, dir.File("missing.pcap"));
  EXPECT_EQ(missing.error().message, "cannot open capture input: No such file or directory");
}

TEST(CaptureSourceTest, DirectoryWithoutCaptureFilesFails) {
  TempDir dir;
  auto empty = CaptureSource::Open(dir.path());
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().file, dir.path());
  EXPECT_THAT(empty.error().message, HasSubstr("no capture files"));

  WriteTagged(dir.File(".only-hidden.pcap"), LinkType::kEthernet, 'h', 1);
  std::filesystem::create_directory(dir.File("subdir"));
  auto hidden = CaptureSource::Open(dir.path());
  ASSERT_FALSE(hidden);
  EXPECT_THAT(hidden.error().message, HasSubstr("no capture files"));
}

}  // namespace
}  // namespace vigil::io

#include "detect/literal_database.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace vigil::detect {
namespace {

// Where `lit` first ends in data[0, len) (one past its last byte), or 0 when it does not occur.
uint64_t FirstEnd(const Literal& lit, const uint8_t* data, size_t len) {
  const size_t n = lit.bytes.size();
  for (size_t at = 0; at + n <= len; ++at) {
    bool eq = true;
    for (size_t i = 0; i < n && eq; ++i) {
      const auto a = static_cast<unsigned char>(lit.bytes[i]);
      eq = lit.nocase ? std::tolower(a) == std::tolower(data[at + i]) : a == data[at + i];
    }
    if (eq) return at + n;
  }
  return 0;
}

// The literals a scan reports, with the end of each one's first occurrence.
std::map<uint32_t, uint64_t> Reported(const LiteralDatabase& db, LiteralScratch& scratch,
                                      const uint8_t* data, size_t len) {
  std::map<uint32_t, uint64_t> got;
  db.Scan(data, uint32_t(len), scratch, [&](uint32_t id, uint64_t end) {
    EXPECT_FALSE(got.contains(id)) << "literal " << id << " reported twice";
    got[id] = end;
  });
  return got;
}

// Differential: every literal that occurs is reported once, at its first occurrence, whatever
// the buffer's address (all 64 offsets from a cache line). Literal sets mix one-byte literals
// (which Debian's Vectorscan 5.4.9 misses at some alignments: LiteralDatabase finds them itself)
// with longer ones, case-sensitive and not; the data is drawn from the literals' own bytes so
// that they occur, often more than once.
TEST(LiteralDatabaseTest, ReportsEachFirstOccurrenceAtEveryAlignment) {
  std::mt19937 rng(11);
  for (int round = 0; round < 200; ++round) {
    std::vector<Literal> literals;
    std::string alphabet;
    const int count = 1 + int(rng() % 60);
    for (int i = 0; i < count; ++i) {
      const size_t n = rng() % 3 == 0 ? 1 : 2 + rng() % 8;
      std::string bytes;
      for (size_t k = 0; k < n; ++k) bytes += char(rng() % 4 == 0 ? 'a' + rng() % 6 : rng() % 256);
      literals.push_back({bytes, rng() % 3 == 0, uint32_t(i)});
      alphabet += bytes;
    }
    auto db = LiteralDatabase::Build(literals);
    ASSERT_TRUE(db) << db.error().ToString();
    LiteralScratch scratch;
    ASSERT_TRUE(scratch.Prepare(**db));
    alignas(64) static uint8_t buf[64 + 2048];
    for (int sample = 0; sample < 8; ++sample) {
      std::vector<uint8_t> data(1 + rng() % 1500);
      for (uint8_t& b : data) {
        b = rng() % 2 ? uint8_t(alphabet[rng() % alphabet.size()]) : uint8_t(rng());
      }
      std::map<uint32_t, uint64_t> want;
      for (const Literal& lit : literals) {
        if (uint64_t end = FirstEnd(lit, data.data(), data.size())) want[lit.id] = end;
      }
      for (int offset = 0; offset < 64; ++offset) {
        std::copy(data.begin(), data.end(), buf + offset);
        ASSERT_EQ(Reported(**db, scratch, buf + offset, data.size()), want)
            << "round " << round << " sample " << sample << " offset " << offset;
      }
    }
  }
}

// The case found in mixed-traffic.pcap: |13| among the fast patterns of snort3-community's
// HTTP-port set, 91 bytes into a payload. With every literal given to Vectorscan, the scan missed
// it when the payload started 37 to 53 bytes past a 64-byte boundary.
TEST(LiteralDatabaseTest, OneByteLiteralIsFoundWhereverThePayloadStarts) {
  std::vector<Literal> literals = {{"\x13", false, 0}, {"GET /", false, 1}, {"cmd.exe", true, 2}};
  for (uint32_t i = 3; i < 400; ++i)
    literals.push_back({"lit" + std::to_string(i * 7919), false, i});
  auto db = LiteralDatabase::Build(literals);
  ASSERT_TRUE(db);
  LiteralScratch scratch;
  ASSERT_TRUE(scratch.Prepare(**db));
  alignas(64) static uint8_t buf[64 + 512];
  std::vector<uint8_t> data(285, 'x');
  data[91] = 0x13;
  for (int offset = 0; offset < 64; ++offset) {
    std::copy(data.begin(), data.end(), buf + offset);
    const auto got = Reported(**db, scratch, buf + offset, data.size());
    ASSERT_TRUE(got.contains(0)) << "offset " << offset;
    EXPECT_EQ(got.at(0), 92u);
  }
}

TEST(LiteralDatabaseTest, OnlyOneByteLiteralsNeedNoVectorscanDatabase) {
  auto db = LiteralDatabase::Build({{"a", true, 4}, {std::string(1, 0), false, 5}});
  ASSERT_TRUE(db);
  EXPECT_EQ((**db).raw(), nullptr);
  LiteralScratch scratch;
  ASSERT_TRUE(scratch.Prepare(**db));
  const uint8_t data[] = {'x', 0, 'A', 'a'};
  EXPECT_EQ(Reported(**db, scratch, data, sizeof(data)),
            (std::map<uint32_t, uint64_t>{{4, 3}, {5, 2}}));
}

}  // namespace
}  // namespace vigil::detect

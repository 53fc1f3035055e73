#include "detect/database_cache.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "detect/literal_database.h"

namespace vigil::detect {
namespace {

namespace fs = std::filesystem;

fs::path FreshDir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / "vigil_database_cache_test" / name;
  fs::remove_all(dir);
  return dir;
}

std::vector<Literal> SomeLiterals(int seed) {
  std::mt19937 rng(seed);
  std::vector<Literal> lits;
  for (uint32_t i = 0; i < 40; ++i) {
    std::string bytes;
    const size_t len = 2 + rng() % 12;
    for (size_t j = 0; j < len; ++j) bytes += char(rng() % 4 == 0 ? rng() % 256 : 'a' + rng() % 26);
    lits.push_back({bytes, rng() % 3 == 0, i});
  }
  return lits;
}

// The ids the database reports on `data`, sorted.
std::vector<uint32_t> Hits(const LiteralDatabase& db, const std::string& data) {
  LiteralScratch scratch;
  EXPECT_TRUE(scratch.Prepare(db));
  std::vector<uint32_t> ids;
  db.Scan(reinterpret_cast<const uint8_t*>(data.data()), uint32_t(data.size()), scratch,
          [&](uint32_t id) { ids.push_back(id); });
  std::sort(ids.begin(), ids.end());
  return ids;
}

// Text holding every literal of `lits` whose id is even.
std::string TextWithEvenLiterals(const std::vector<Literal>& lits) {
  std::string text = "----";
  for (const Literal& l : lits) {
    if (l.id % 2 == 0) text += l.bytes + "|";
  }
  return text;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void WriteFile(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

// Load reads each file into a buffer its thread keeps: files of every size, read in turn on one
// thread, all load (a buffer grown for a bigger file once read short, and that file was rebuilt).
TEST(DatabaseCache, FilesOfEverySizeLoadOneAfterAnother) {
  const fs::path dir = FreshDir("sizes");
  std::vector<std::vector<Literal>> sets;
  for (int n : {3, 400, 40, 1200, 10}) {
    std::vector<Literal> lits;
    for (uint32_t i = 0; i < uint32_t(n); ++i) {
      lits.push_back({fmt::format("<{}-{}>", n, i), i % 2 == 0, i});
    }
    sets.push_back(std::move(lits));
  }
  {
    DatabaseCache writer({.dir = dir});
    for (const auto& s : sets) ASSERT_TRUE(LiteralDatabase::Build(s, &writer));
    ASSERT_EQ(writer.stored(), sets.size());
  }
  DatabaseCache reader({.dir = dir});
  for (int round = 0; round < 2; ++round) {
    for (const auto& s : sets) {
      auto db = LiteralDatabase::Build(s, &reader);
      ASSERT_TRUE(db) << db.error().message;
      EXPECT_EQ(Hits(**db, "--" + s.back().bytes + "--"), std::vector<uint32_t>{s.back().id});
    }
  }
  EXPECT_EQ(reader.hits(), 2 * sets.size());
  EXPECT_EQ(reader.misses(), 0u);
  EXPECT_TRUE(reader.warnings().empty()) << reader.warnings().front();
}

TEST(DatabaseCache, SecondBuildLoadsWhatTheFirstCompiled) {
  DatabaseCache cache({.dir = FreshDir("roundtrip")});
  const auto lits = SomeLiterals(1);
  auto compiled = LiteralDatabase::Build(lits, &cache);
  ASSERT_TRUE(compiled) << compiled.error().message;
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(cache.stored(), 1u);
  auto loaded = LiteralDatabase::Build(lits, &cache);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(cache.hits(), 1u);
  const std::string text = TextWithEvenLiterals(lits);
  EXPECT_EQ(Hits(**loaded, text), Hits(**compiled, text));
  EXPECT_FALSE(Hits(**loaded, text).empty());
  EXPECT_TRUE(cache.warnings().empty());
}

// Every way a file can go bad: each is refused with a warning naming the file and deleted, and
// the database is compiled again and gives the same matches.
TEST(DatabaseCache, CorruptFilesAreRejectedAndRebuilt) {
  const auto lits = SomeLiterals(2);
  const auto other = SomeLiterals(3);
  const std::string text = TextWithEvenLiterals(lits);
  auto reference = LiteralDatabase::Build(lits);
  ASSERT_TRUE(reference);
  const std::vector<uint32_t> want = Hits(**reference, text);

  fs::path dir = FreshDir("corrupt");
  DatabaseCache writer({.dir = dir});
  ASSERT_TRUE(LiteralDatabase::Build(lits, &writer));
  ASSERT_TRUE(LiteralDatabase::Build(other, &writer));
  const fs::path path = writer.PathOf(LiteralDatabase::Material(lits));
  const fs::path other_path = writer.PathOf(LiteralDatabase::Material(other));
  const std::string good = ReadFile(path);
  const std::string good_other = ReadFile(other_path);
  ASSERT_GT(good.size(), 100u);

  std::vector<std::pair<std::string, std::string>> damaged = {
      {"empty", ""},
      {"magic only", good.substr(0, 8)},
      {"truncated header", good.substr(0, 20)},
      {"truncated body", good.substr(0, good.size() / 2)},
      {"one byte short", good.substr(0, good.size() - 1)},
      {"padded", good + "x"},
      {"other ruleset's file", good_other},
      {"text", "not a database at all\n"}};
  // A flipped bit anywhere: header, material, database.
  for (size_t at : {size_t{3}, size_t{9}, size_t{17}, size_t{25}, size_t{40}, good.size() / 2,
                    good.size() - 1}) {
    std::string flipped = good;
    flipped[at] = char(flipped[at] ^ 0x10);
    damaged.emplace_back("bit flipped at " + std::to_string(at), flipped);
  }
  for (const auto& [what, bytes] : damaged) {
    SCOPED_TRACE(what);
    WriteFile(path, bytes);
    DatabaseCache cache({.dir = dir});
    auto db = LiteralDatabase::Build(lits, &cache);
    ASSERT_TRUE(db) << db.error().message;
    EXPECT_EQ(Hits(**db, text), want);
    EXPECT_EQ(cache.hits(), 0u);
    EXPECT_EQ(cache.rejected(), 1u);
    ASSERT_EQ(cache.warnings().size(), 1u);
    EXPECT_NE(cache.warnings()[0].find(path.string()), std::string::npos) << cache.warnings()[0];
    // The rebuilt database replaced the bad file: the next run loads it.
    EXPECT_EQ(ReadFile(path), good);
    DatabaseCache again({.dir = dir});
    ASSERT_TRUE(LiteralDatabase::Build(lits, &again));
    EXPECT_EQ(again.hits(), 1u);
  }
}

TEST(DatabaseCache, TrimEvictsLeastRecentlyUsedBeyondTheCap) {
  fs::path dir = FreshDir("trim");
  std::vector<std::vector<Literal>> sets;
  for (int i = 0; i < 6; ++i) sets.push_back(SomeLiterals(10 + i));
  {
    DatabaseCache cache({.dir = dir});
    for (const auto& s : sets) ASSERT_TRUE(LiteralDatabase::Build(s, &cache));
  }
  uint64_t one = 0;
  for (const auto& e : fs::directory_iterator(dir)) one = std::max<uint64_t>(one, e.file_size());
  // Age the files in order, then use set 0 again: it becomes the most recent.
  auto t = fs::file_time_type::clock::now() - std::chrono::hours(1);
  DatabaseCache probe({.dir = dir});
  for (size_t i = 0; i < sets.size(); ++i) {
    fs::last_write_time(probe.PathOf(LiteralDatabase::Material(sets[i])),
                        t + std::chrono::minutes(i));
  }
  DatabaseCache cache({.dir = dir, .max_bytes = 3 * one});
  ASSERT_TRUE(LiteralDatabase::Build(sets[0], &cache));
  EXPECT_EQ(cache.hits(), 1u);
  cache.Trim();
  EXPECT_GE(cache.evicted(), 3u);
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(dir)) total += e.file_size();
  EXPECT_LE(total, 3 * one);
  EXPECT_TRUE(fs::exists(cache.PathOf(LiteralDatabase::Material(sets[0])))) << "recently used";
  EXPECT_FALSE(fs::exists(cache.PathOf(LiteralDatabase::Material(sets[1])))) << "oldest";
}

TEST(DatabaseCache, UnwritableDirectoryIsAWarningNotAFailure) {
  fs::path file = FreshDir("blocked");
  fs::create_directories(file.parent_path());
  WriteFile(file, "a file where the directory should be");
  DatabaseCache cache({.dir = (file / "sub").string()});
  auto db = LiteralDatabase::Build(SomeLiterals(4), &cache);
  ASSERT_TRUE(db);
  EXPECT_EQ(cache.stored(), 0u);
  ASSERT_FALSE(cache.warnings().empty());
  EXPECT_NE(cache.warnings()[0].find("cannot create"), std::string::npos);
}

TEST(DatabaseBatch, EqualSetsShareOneDatabaseAndMatchSeparateBuilds) {
  DatabaseBatch batch;
  std::vector<std::vector<Literal>> sets;
  for (int i = 0; i < 7; ++i) sets.push_back(SomeLiterals(20 + i % 3));  // 3 distinct
  sets.push_back({{"x", false, 0}, {"yz", true, 1}});                    // a one-byte literal too
  std::vector<uint32_t> handles;
  for (const auto& s : sets) handles.push_back(batch.Add(s));
  size_t calls = 0;
  ASSERT_TRUE(batch.Compile({.threads = 3, .progress = [&](size_t, size_t) { ++calls; }}));
  EXPECT_EQ(batch.requested(), 8u);
  EXPECT_EQ(batch.distinct(), 4u);
  EXPECT_EQ(calls, 4u);
  EXPECT_EQ(batch.Get(handles[0]), batch.Get(handles[3]));
  EXPECT_NE(batch.Get(handles[0]), batch.Get(handles[1]));
  for (size_t i = 0; i < sets.size(); ++i) {
    auto alone = LiteralDatabase::Build(sets[i]);
    ASSERT_TRUE(alone);
    const std::string text = TextWithEvenLiterals(sets[i]) + "xYZ";
    EXPECT_EQ(Hits(*batch.Get(handles[i]), text), Hits(**alone, text)) << "set " << i;
  }
}

TEST(DatabaseBatch, ConcurrentRunsShareOneCacheDirectory) {
  fs::path dir = FreshDir("concurrent");
  std::vector<std::thread> runs;
  std::atomic<int> failures{0};
  for (int r = 0; r < 4; ++r) {
    runs.emplace_back([&] {
      DatabaseCache cache({.dir = dir});
      DatabaseBatch batch;
      for (int i = 0; i < 6; ++i) batch.Add(SomeLiterals(40 + i));
      if (!batch.Compile({.cache = &cache, .threads = 2})) ++failures;
      if (cache.rejected() != 0) ++failures;
    });
  }
  for (auto& t : runs) t.join();
  EXPECT_EQ(failures.load(), 0);
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    EXPECT_EQ(e.path().extension(), ".hsdb") << "no temporary file left: " << e.path();
    ++files;
  }
  EXPECT_EQ(files, 6u);
}

}  // namespace
}  // namespace vigil::detect

// database_cache_fuzz: libFuzzer target for the database cache's file reader (DatabaseCache::Load).
// The input is written as the cache file of a fixed literal set, as a damaged or foreign file
// would lie in a user's cache directory. A file that loads must scan like the compiled database;
// one that does not must be reported (a warning naming the file) and removed, never trusted.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "detect/database_cache.h"
#include "detect/literal_database.h"

namespace {

using vigil::detect::DatabaseCache;
using vigil::detect::Literal;
using vigil::detect::LiteralDatabase;

const std::vector<Literal>& Literals() {
  static const std::vector<Literal> lits = {
      {"GET /", false, 0}, {"cmd.exe", true, 1}, {std::string("\0\x01\x02", 3), false, 2}};
  return lits;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = "/tmp/vigil_database_cache_fuzz_" + std::to_string(getpid());
  DatabaseCache cache({.dir = dir});
  const std::string material = LiteralDatabase::Material(Literals());
  const std::string path = cache.PathOf(material);
  std::filesystem::create_directories(dir);
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  } else {
    return 0;
  }
  auto db = LiteralDatabase::Build(Literals(), &cache);
  if (!db) std::abort();  // a bad file is never an error: the database is compiled anew
  if (cache.hits() == 0) {
    // Rejected (or a miss for an empty file name): reported, and replaced by a good file.
    if (cache.rejected() == 1 && cache.warnings().empty()) std::abort();
  }
  const std::string text = std::string("xx GET / CMD.EXE ") + std::string("\0\x01\x02", 3);
  vigil::detect::LiteralScratch scratch;
  if (!scratch.Prepare(**db)) std::abort();
  unsigned found = 0;
  (*db)->Scan(reinterpret_cast<const uint8_t*>(text.data()), uint32_t(text.size()), scratch,
              [&](uint32_t id) { found |= 1u << id; });
  if (found != 7) std::abort();
  return 0;
}

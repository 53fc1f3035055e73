// DatabaseCache: compiled Vectorscan databases kept on disk between runs, as Snort 3's
// `rule_db_dir` and Suricata's mpm cache keep theirs, so that a ruleset compiled once starts in
// a fraction of a second afterwards.
//
// A database is stored under the hash of everything that determines it — the cache format, the
// Vectorscan version, the CPU features it was compiled for and its literals with their flags and
// ids (the caller's `material`) — in a file that also holds that material in full and a
// checksum over the file:
//
//   magic "VIGILDB1" | u64 material length | u64 database length | u64 checksum
//   | material | hs_serialize_database() bytes
//
// Nothing read back is trusted: a file that is truncated, fails its checksum, holds other
// material (a collision, or a file copied from another ruleset) or that Vectorscan will not
// deserialize is reported in warnings(), deleted, and the caller compiles anew. Files are
// written under a temporary name and renamed, so a concurrent vigil never reads half a file.
//
// Size: Trim() deletes the least recently used files (a hit refreshes a file's time) until the
// directory's *.hsdb files total at most CacheOptions::max_bytes, counted in evicted().
//
//   DatabaseCache cache({.dir = DatabaseCache::DefaultDir()});
//   if (hs_database_t* db = cache.Load(material)) ...;      // else compile, then:
//   cache.Store(material, db);
//   cache.Trim();
//
// Load and Store may be called from several threads at once.
#pragma once

#include <hs/hs.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::detect {

struct CacheOptions {
  std::string dir;
  uint64_t max_bytes = uint64_t{512} << 20;  // 512 MiB: ET Open's databases need about 60 MiB
};

class DatabaseCache {
 public:
  // $XDG_CACHE_HOME/vigil, else $HOME/.cache/vigil; "" when neither variable is set.
  [[nodiscard]] static std::string DefaultDir();

  // The directory is created on the first Store; one that cannot be is a warning, not an error.
  explicit DatabaseCache(CacheOptions options);

  // The database stored for `material`, or null (a miss, or a rejected file: see warnings()).
  // The caller owns the result (hs_free_database).
  [[nodiscard]] hs_database_t* Load(std::string_view material);
  // Writes `db` for `material`; a failure to write is a warning.
  void Store(std::string_view material, const hs_database_t* db);
  // Evicts least recently used files beyond max_bytes.
  void Trim();

  // "cache_hits", ... for the start-up report.
  [[nodiscard]] uint64_t hits() const { return hits_; }
  [[nodiscard]] uint64_t misses() const { return misses_; }
  [[nodiscard]] uint64_t rejected() const { return rejected_; }  // files found unusable
  [[nodiscard]] uint64_t stored() const { return stored_; }
  [[nodiscard]] uint64_t evicted() const { return evicted_; }
  [[nodiscard]] std::vector<std::string> warnings() const;

  // The path a material's database is stored at.
  [[nodiscard]] std::string PathOf(std::string_view material) const;
  [[nodiscard]] const std::string& dir() const { return options_.dir; }

 private:
  void Warn(std::string message);
  CacheOptions options_;
  std::string prefix_;  // what every key starts with: format, Vectorscan version, CPU features
  std::atomic<uint64_t> hits_{0}, misses_{0}, rejected_{0}, stored_{0}, evicted_{0};
  mutable std::mutex mu_;
  std::vector<std::string> warnings_;
  bool dir_ready_ = false;  // under mu_
};

}  // namespace vigil::detect

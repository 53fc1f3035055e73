#include "detect/database_cache.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/hash.h"

namespace vigil::detect {
namespace {

constexpr char kMagic[8] = {'V', 'I', 'G', 'I', 'L', 'D', 'B', '1'};
constexpr size_t kHeaderSize = 8 + 3 * 8;
constexpr std::string_view kSuffix = ".hsdb";
// A cache file larger than this is not read (no database of a real ruleset comes near it).
constexpr uint64_t kMaxFileBytes = uint64_t{1} << 30;
// Load's read buffer keeps up to this much memory between files.
constexpr size_t kKeptBufferBytes = size_t{16} << 20;

// A 64-bit hash of `data` (not cryptographic: the file keeps the material it stands for, and a
// load compares it in full). Eight bytes a step, the tail padded with its length.
uint64_t Hash64(std::string_view data, uint64_t seed) {
  uint64_t h = base::Mix64(seed ^ data.size());
  size_t i = 0;
  for (; i + 8 <= data.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, data.data() + i, 8);
    h = base::Mix64(h ^ w) + 0x9E3779B97F4A7C15ull;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, data.data() + i, data.size() - i);
  return base::Mix64(h ^ tail ^ (uint64_t(data.size() - i) << 56));
}

uint64_t Checksum(std::string_view material, std::string_view db) {
  return Hash64(db, Hash64(material, 0x5bd1e995));
}

// Reads the whole file at `path` into `out`, reusing its memory. False when the file cannot be
// opened; an empty, unreadable or oversized file leaves `out` empty.
bool ReadWhole(const std::string& path, std::string& out) {
  out.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0 && uint64_t(st.st_size) <= kMaxFileBytes) {
    const size_t size = size_t(st.st_size);
    out.resize(size);
    size_t got = 0;
    while (got < size) {
      const ssize_t r = ::read(fd, out.data() + got, size - got);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      got += size_t(r);
    }
    if (got != size) out.clear();
  }
  ::close(fd);
  return true;
}

void PutU64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }

uint64_t GetU64(const std::string& in, size_t at) {
  uint64_t v;
  std::memcpy(&v, in.data() + at, 8);
  return v;
}

}  // namespace

std::string DatabaseCache::DefaultDir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') {
    return std::string(x) + "/vigil";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.cache/vigil";
  }
  return "";
}

DatabaseCache::DatabaseCache(CacheOptions options) : options_(std::move(options)) {
  hs_platform_info_t platform{};
  (void)hs_populate_platform(&platform);
  prefix_ = fmt::format("vigil-hsdb 1\nvectorscan {}\ntune {} cpu {:#x}\n", hs_version(),
                        platform.tune, platform.cpu_features);
}

std::string DatabaseCache::PathOf(std::string_view material) const {
  std::string key = prefix_;
  key += material;
  return fmt::format("{}/{:016x}{:016x}{}", options_.dir, Hash64(key, 1), Hash64(key, 2), kSuffix);
}

void DatabaseCache::Warn(std::string message) {
  std::lock_guard lock(mu_);
  warnings_.push_back(std::move(message));
}

std::vector<std::string> DatabaseCache::warnings() const {
  std::lock_guard lock(mu_);
  return warnings_;
}

hs_database_t* DatabaseCache::Load(std::string_view material) {
  if (options_.dir.empty()) return nullptr;
  const std::string path = PathOf(material);
  // Each loading thread reuses one buffer, faulted in once: the files of a ruleset run to tens of
  // megabytes. Not a rare big one: a real database is under a megabyte.
  thread_local std::string bytes;
  struct Release {
    ~Release() {
      if (bytes.capacity() > kKeptBufferBytes) std::string().swap(bytes);
    }
  } release;
  if (!ReadWhole(path, bytes)) {
    ++misses_;
    return nullptr;
  }
  auto reject = [&](std::string_view why) -> hs_database_t* {
    ++rejected_;
    ++misses_;
    Warn(fmt::format("database cache: {}: {}; compiling anew", path, why));
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return nullptr;
  };
  if (bytes.size() < kHeaderSize || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return reject("not a vigil database file");
  }
  const uint64_t material_len = GetU64(bytes, 8);
  const uint64_t db_len = GetU64(bytes, 16);
  if (material_len > bytes.size() || db_len > bytes.size() ||
      kHeaderSize + material_len + db_len != bytes.size()) {
    return reject(fmt::format("truncated or padded ({} bytes)", bytes.size()));
  }
  const std::string_view stored_material(bytes.data() + kHeaderSize, material_len);
  const std::string_view db_bytes(bytes.data() + kHeaderSize + material_len, db_len);
  if (Checksum(stored_material, db_bytes) != GetU64(bytes, 24)) return reject("checksum mismatch");
  if (stored_material.size() != prefix_.size() + material.size() ||
      stored_material.substr(0, prefix_.size()) != prefix_ ||
      stored_material.substr(prefix_.size()) != material) {
    return reject("holds the database of other literals or another Vectorscan build");
  }
  hs_database_t* db = nullptr;
  if (hs_deserialize_database(db_bytes.data(), db_bytes.size(), &db) != HS_SUCCESS) {
    return reject("Vectorscan cannot deserialize it");
  }
  ++hits_;
  // Least recently used goes first in Trim: a hit counts as a use.
  (void)::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);
  return db;
}

void DatabaseCache::Store(std::string_view material, const hs_database_t* db) {
  if (options_.dir.empty()) return;
  {
    std::lock_guard lock(mu_);
    if (!dir_ready_) {
      std::error_code ec;
      std::filesystem::create_directories(options_.dir, ec);
      if (ec) {
        warnings_.push_back(
            fmt::format("database cache: cannot create {}: {}", options_.dir, ec.message()));
        options_.dir.clear();
        return;
      }
      dir_ready_ = true;
    }
  }
  char* serialized = nullptr;
  size_t serialized_len = 0;
  if (hs_serialize_database(db, &serialized, &serialized_len) != HS_SUCCESS) {
    Warn("database cache: Vectorscan cannot serialize a database");
    return;
  }
  std::string full_material = prefix_;
  full_material += material;
  const std::string_view db_bytes(serialized, serialized_len);
  std::string file(kMagic, sizeof kMagic);
  PutU64(file, full_material.size());
  PutU64(file, db_bytes.size());
  PutU64(file, Checksum(full_material, db_bytes));
  file += full_material;
  file += db_bytes;
  std::free(serialized);

  const std::string path = PathOf(material);
  const std::string tmp = fmt::format("{}.{}.{}.tmp", path, ::getpid(),
                                      std::hash<std::thread::id>{}(std::this_thread::get_id()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(file.data(), std::streamsize(file.size()));
    out.close();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      Warn(fmt::format("database cache: cannot write {}", tmp));
      return;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    Warn(fmt::format("database cache: cannot rename {} to {}", tmp, path));
    return;
  }
  ++stored_;
}

void DatabaseCache::Trim() {
  if (options_.dir.empty()) return;
  struct Entry {
    std::filesystem::path path;
    std::filesystem::file_time_type time;
    uint64_t size;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(options_.dir, ec)) {
    std::error_code e1, e2;
    if (e.path().extension() != kSuffix || !e.is_regular_file(e1)) continue;
    const uint64_t size = e.file_size(e1);
    const auto time = e.last_write_time(e2);
    if (e1 || e2) continue;
    entries.push_back({e.path(), time, size});
    total += size;
  }
  if (total <= options_.max_bytes) return;
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.time < b.time; });
  for (const Entry& e : entries) {
    if (total <= options_.max_bytes) break;
    if (std::filesystem::remove(e.path, ec)) {
      total -= e.size;
      ++evicted_;
    }
  }
}

}  // namespace vigil::detect

// LiteralDatabase: a compiled Vectorscan (Hyperscan API) block-mode database of byte-string
// literals, each with an id and a case flag, and the per-thread LiteralScratch it scans with.
//
// Literals are compiled as fully escaped expressions (`\x..` per byte) through hs_compile_multi,
// not the pure-literal API, because Vectorscan 5.4.9's literal API refuses any literal that
// starts with a NUL byte. Each literal reports at most once per scan (HS_FLAG_SINGLEMATCH).
//
// Single-byte literals are not given to Vectorscan: Debian's Vectorscan 5.4.9 misses them in a
// database of longer literals depending on the buffer's address (|13| at byte 91 of a 285-byte
// payload goes unreported when the payload starts at 37..53 modulo 64; literal_database_test
// pins it). They are found with memchr instead, which also gives their first occurrence.
//
// Vectorscan 5.4.9's literal API (hs_compile_lit_multi) would take the literals that do not start
// with NUL, but it compiles no faster than escaped expressions: a real 533-literal port group of
// snort3-community (413 of them caseless) took 133 ms through it and 119 ms as expressions.
//
//   auto db = LiteralDatabase::Build({{"GET /", false, 0}, {"cmd.exe", true, 1}});
//   LiteralScratch scratch;
//   if (!scratch.Prepare(*db)) ...;
//   db->Scan(data, len, scratch, [](uint32_t id) { ... });
//
// DatabaseBatch compiles many sets at once: identical sets once, every core busy, each set
// through the on-disk DatabaseCache when one is given.
#pragma once

#include <hs/hs.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "detect/database_cache.h"

namespace vigil::detect {

struct Literal {
  std::string bytes;
  bool nocase = false;
  uint32_t id = 0;
};

class LiteralScratch;

class LiteralDatabase {
 public:
  // Compiles the literals (at least one, none empty), or loads them from `cache` (and stores what
  // it compiled there). `material` is Material(literals) where the caller has it already (empty:
  // computed here when needed). Fails with Vectorscan's message.
  static base::Result<std::unique_ptr<LiteralDatabase>> Build(const std::vector<Literal>& literals,
                                                              DatabaseCache* cache = nullptr,
                                                              std::string_view material = {});
  // Everything that determines the database of `literals`, as bytes: its key in the cache.
  [[nodiscard]] static std::string Material(const std::vector<Literal>& literals);
  ~LiteralDatabase();
  LiteralDatabase(const LiteralDatabase&) = delete;
  LiteralDatabase& operator=(const LiteralDatabase&) = delete;

  // Calls on_match(id) once for each literal that occurs in data[0, len) — or on_match(id, end),
  // end being the offset just past that literal's first occurrence (the one that ends first: a
  // literal reports once per scan, so later occurrences are not seen).
  template <class F>
  void Scan(const uint8_t* data, uint32_t len, LiteralScratch& scratch, F&& on_match) const;

  // The Vectorscan database of the multi-byte literals; null when every literal is one byte.
  [[nodiscard]] const hs_database_t* raw() const { return db_; }

 private:
  struct SingleByte {
    uint8_t byte;
    uint8_t other_case;  // the same letter in the other case for a nocase letter, else `byte`
    uint32_t id;
  };
  LiteralDatabase(hs_database_t* db, std::vector<SingleByte> single)
      : db_(db), single_(std::move(single)) {}
  hs_database_t* db_;
  std::vector<SingleByte> single_;
};

// Many literal sets compiled together: a set equal to one added before shares its database, and
// the distinct ones are compiled (or loaded from the cache) on several threads, largest first.
//
//   DatabaseBatch batch;
//   uint32_t a = batch.Add(literals_a), b = batch.Add(literals_b);
//   if (auto st = batch.Compile({.cache = &cache}); !st) ...;
//   std::shared_ptr<const LiteralDatabase> db = batch.Get(a);
class DatabaseBatch {
 public:
  struct Options {
    DatabaseCache* cache = nullptr;
    unsigned threads = 0;  // 0: one per core
    // Called after each distinct set is ready, from the compiling threads (one at a time).
    std::function<void(size_t done, size_t total)> progress;
  };
  // Queues `literals` (at least one, none empty); returns the handle for Get.
  uint32_t Add(std::vector<Literal> literals);
  // Compiles every distinct set queued. Fails with the first set's error.
  base::Status Compile(const Options& options);
  [[nodiscard]] std::shared_ptr<const LiteralDatabase> Get(uint32_t handle) const;

  [[nodiscard]] size_t requested() const { return handle_to_set_.size(); }
  [[nodiscard]] size_t distinct() const { return sets_.size(); }
  [[nodiscard]] uint64_t literals() const;  // over the distinct sets

 private:
  struct Set {
    std::string material;
    std::vector<Literal> literals;
    std::shared_ptr<const LiteralDatabase> db;
  };
  std::vector<Set> sets_;
  std::vector<uint32_t> handle_to_set_;
  std::unordered_map<std::string, uint32_t> set_of_material_;
};

// Per-thread scratch space; one may serve several databases (it grows to the largest).
class LiteralScratch {
 public:
  LiteralScratch() = default;
  ~LiteralScratch();
  LiteralScratch(const LiteralScratch&) = delete;
  LiteralScratch& operator=(const LiteralScratch&) = delete;

  // Makes the scratch big enough for `db`. Fails only when Vectorscan cannot allocate.
  base::Status Prepare(const LiteralDatabase& db);
  // The same for another block-mode database (a RegexPrefilter's); null needs none.
  base::Status Prepare(const hs_database_t* db);
  [[nodiscard]] hs_scratch_t* raw() const { return scratch_; }

 private:
  hs_scratch_t* scratch_ = nullptr;
};

template <class F>
void LiteralDatabase::Scan(const uint8_t* data, uint32_t len, LiteralScratch& scratch,
                           F&& on_match) const {
  auto trampoline = [](unsigned int id, unsigned long long, unsigned long long to, unsigned int,
                       void* ctx) -> int {
    if constexpr (std::is_invocable_v<F, uint32_t, uint64_t>) {
      (*static_cast<std::remove_reference_t<F>*>(ctx))(uint32_t(id), uint64_t(to));
    } else {
      (*static_cast<std::remove_reference_t<F>*>(ctx))(uint32_t(id));
    }
    return 0;
  };
  if (db_ != nullptr) {
    hs_scan(db_, reinterpret_cast<const char*>(data), len, 0, scratch.raw(), trampoline, &on_match);
  }
  for (const SingleByte& s : single_) {
    const void* at = std::memchr(data, s.byte, len);
    if (s.other_case != s.byte) {
      const uint32_t before = at ? uint32_t(static_cast<const uint8_t*>(at) - data) : len;
      if (const void* o = std::memchr(data, s.other_case, before)) at = o;
    }
    if (at == nullptr) continue;
    const uint64_t end = uint64_t(static_cast<const uint8_t*>(at) - data) + 1;
    if constexpr (std::is_invocable_v<F, uint32_t, uint64_t>) {
      on_match(s.id, end);
    } else {
      on_match(s.id);
    }
  }
}

}  // namespace vigil::detect

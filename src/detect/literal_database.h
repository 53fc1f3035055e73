// LiteralDatabase: a compiled Vectorscan (Hyperscan API) block-mode database of byte-string
// literals, each with an id and a case flag, and the per-thread LiteralScratch it scans with.
//
// Literals are compiled as fully escaped expressions (`\x..` per byte) through hs_compile_multi,
// not the pure-literal API, because Vectorscan 5.4.9's literal API refuses any literal that
// starts with a NUL byte. Each literal reports at most once per scan (HS_FLAG_SINGLEMATCH).
//
//   auto db = LiteralDatabase::Build({{"GET /", false, 0}, {"cmd.exe", true, 1}});
//   LiteralScratch scratch;
//   if (!scratch.Prepare(*db)) ...;
//   db->Scan(data, len, scratch, [](uint32_t id) { ... });
#pragma once

#include <hs/hs.h>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "base/result.h"

namespace vigil::detect {

struct Literal {
  std::string bytes;
  bool nocase = false;
  uint32_t id = 0;
};

class LiteralScratch;

class LiteralDatabase {
 public:
  // Compiles the literals (at least one, none empty). Fails with Vectorscan's message.
  static base::Result<std::unique_ptr<LiteralDatabase>> Build(const std::vector<Literal>& literals);
  ~LiteralDatabase();
  LiteralDatabase(const LiteralDatabase&) = delete;
  LiteralDatabase& operator=(const LiteralDatabase&) = delete;

  // Calls on_match(id) once for each literal that occurs in data[0, len) — or on_match(id, end),
  // end being the offset just past that literal's first occurrence (the one that ends first: a
  // literal reports once per scan, so later occurrences are not seen).
  template <class F>
  void Scan(const uint8_t* data, uint32_t len, LiteralScratch& scratch, F&& on_match) const;

  [[nodiscard]] const hs_database_t* raw() const { return db_; }

 private:
  explicit LiteralDatabase(hs_database_t* db) : db_(db) {}
  hs_database_t* db_;
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
  hs_scan(db_, reinterpret_cast<const char*>(data), len, 0, scratch.raw(), trampoline, &on_match);
}

}  // namespace vigil::detect

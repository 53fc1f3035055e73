#include "detect/literal_database.h"

#include <fmt/format.h>

#include <cctype>

namespace vigil::detect {

base::Result<std::unique_ptr<LiteralDatabase>> LiteralDatabase::Build(
    const std::vector<Literal>& literals) {
  if (literals.empty()) return base::MakeError("no literals to compile");
  std::vector<std::string> expressions;
  std::vector<const char*> expr_ptrs;
  std::vector<unsigned> flags;
  std::vector<unsigned> ids;
  std::vector<SingleByte> single;
  expressions.reserve(literals.size());
  for (const Literal& lit : literals) {
    if (lit.bytes.empty()) return base::MakeError("empty literal");
    if (lit.bytes.size() == 1) {
      const auto b = static_cast<uint8_t>(lit.bytes[0]);
      uint8_t other = b;
      if (lit.nocase && std::isalpha(b))
        other = uint8_t(std::islower(b) ? std::toupper(b) : std::tolower(b));
      single.push_back({b, other, lit.id});
      continue;
    }
    std::string e;
    e.reserve(lit.bytes.size() * 4);
    for (unsigned char c : lit.bytes) e += fmt::format("\\x{:02x}", c);
    expressions.push_back(std::move(e));
    flags.push_back(HS_FLAG_SINGLEMATCH | (lit.nocase ? HS_FLAG_CASELESS : 0u));
    ids.push_back(lit.id);
  }
  for (const std::string& e : expressions) expr_ptrs.push_back(e.c_str());
  hs_database_t* db = nullptr;
  if (expressions.empty()) {
    return std::unique_ptr<LiteralDatabase>(new LiteralDatabase(nullptr, std::move(single)));
  }
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(expr_ptrs.data(), flags.data(), ids.data(), unsigned(expr_ptrs.size()),
                       HS_MODE_BLOCK, nullptr, &db, &err) != HS_SUCCESS) {
    std::string msg = fmt::format("vectorscan: {} (literal #{})", err ? err->message : "unknown",
                                  err ? err->expression : -1);
    hs_free_compile_error(err);
    return base::MakeError(msg);
  }
  return std::unique_ptr<LiteralDatabase>(new LiteralDatabase(db, std::move(single)));
}

LiteralDatabase::~LiteralDatabase() { hs_free_database(db_); }

LiteralScratch::~LiteralScratch() { hs_free_scratch(scratch_); }

base::Status LiteralScratch::Prepare(const LiteralDatabase& db) {
  if (db.raw() == nullptr) return {};  // single-byte literals only: no scratch needed
  if (hs_alloc_scratch(db.raw(), &scratch_) != HS_SUCCESS) {
    return base::MakeError("vectorscan: cannot allocate scratch");
  }
  return {};
}

}  // namespace vigil::detect

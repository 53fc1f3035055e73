#include "detect/literal_database.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <mutex>
#include <optional>
#include <thread>

namespace vigil::detect {

std::string LiteralDatabase::Material(const std::vector<Literal>& literals) {
  // "<id> <nocase> <length>:<bytes>\n" per literal, without a format call per literal: a ruleset's
  // material runs to megabytes, made for every set at each start-up.
  size_t size = 0;
  for (const Literal& lit : literals) size += lit.bytes.size() + 32;
  std::string m;
  m.reserve(size);
  auto append_number = [&m](uint64_t v) {
    char digits[24];
    m.append(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
  };
  for (const Literal& lit : literals) {
    append_number(lit.id);
    m += lit.nocase ? " 1 " : " 0 ";
    append_number(lit.bytes.size());
    m += ':';
    m += lit.bytes;
    m += '\n';
  }
  return m;
}

base::Result<std::unique_ptr<LiteralDatabase>> LiteralDatabase::Build(
    const std::vector<Literal>& literals, DatabaseCache* cache, std::string_view material) {
  if (literals.empty()) return base::MakeError("no literals to compile");
  std::vector<SingleByte> single;
  for (const Literal& lit : literals) {
    if (lit.bytes.empty()) return base::MakeError("empty literal");
    if (lit.bytes.size() == 1) {
      const auto b = static_cast<uint8_t>(lit.bytes[0]);
      uint8_t other = b;
      if (lit.nocase && std::isalpha(b))
        other = uint8_t(std::islower(b) ? std::toupper(b) : std::tolower(b));
      single.push_back({b, other, lit.id});
    }
  }
  if (single.size() == literals.size()) {
    return std::unique_ptr<LiteralDatabase>(new LiteralDatabase(nullptr, std::move(single)));
  }
  std::string own_material;
  if (cache != nullptr) {
    if (material.empty()) material = own_material = Material(literals);
    if (hs_database_t* cached = cache->Load(material)) {
      return std::unique_ptr<LiteralDatabase>(new LiteralDatabase(cached, std::move(single)));
    }
  }
  // Every byte escaped (\xNN), so that no literal byte is read as regex syntax.
  static constexpr char kHex[] = "0123456789abcdef";
  std::vector<std::string> expressions;
  std::vector<const char*> expr_ptrs;
  std::vector<unsigned> flags;
  std::vector<unsigned> ids;
  expressions.reserve(literals.size());
  for (const Literal& lit : literals) {
    if (lit.bytes.size() == 1) continue;
    std::string& e = expressions.emplace_back();
    e.reserve(lit.bytes.size() * 4);
    for (unsigned char c : lit.bytes) {
      const char escaped[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
      e.append(escaped, 4);
    }
    flags.push_back(HS_FLAG_SINGLEMATCH | (lit.nocase ? HS_FLAG_CASELESS : 0u));
    ids.push_back(lit.id);
  }
  for (const std::string& e : expressions) expr_ptrs.push_back(e.c_str());
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(expr_ptrs.data(), flags.data(), ids.data(), unsigned(expr_ptrs.size()),
                       HS_MODE_BLOCK, nullptr, &db, &err) != HS_SUCCESS) {
    std::string msg = fmt::format("vectorscan: {} (literal #{})", err ? err->message : "unknown",
                                  err ? err->expression : -1);
    hs_free_compile_error(err);
    return base::MakeError(msg);
  }
  if (cache != nullptr) cache->Store(material, db);
  return std::unique_ptr<LiteralDatabase>(new LiteralDatabase(db, std::move(single)));
}

uint32_t DatabaseBatch::Add(std::vector<Literal> literals) {
  std::string material = LiteralDatabase::Material(literals);
  auto [it, fresh] = set_of_material_.try_emplace(material, uint32_t(sets_.size()));
  if (fresh) sets_.push_back({std::move(material), std::move(literals), nullptr});
  handle_to_set_.push_back(it->second);
  return uint32_t(handle_to_set_.size() - 1);
}

uint64_t DatabaseBatch::literals() const {
  uint64_t n = 0;
  for (const Set& s : sets_) n += s.literals.size();
  return n;
}

base::Status DatabaseBatch::Compile(const Options& options) {
  // Largest first, so that no thread is left with a big set at the end.
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < sets_.size(); ++i) {
    if (!sets_[i].db) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return sets_[a].material.size() > sets_[b].material.size();
  });
  unsigned threads = options.threads ? options.threads : std::thread::hardware_concurrency();
  threads = std::max(1u, std::min<unsigned>(threads, unsigned(order.size())));
  std::atomic<size_t> next{0};
  std::mutex mu;  // guards first_error, done and the progress callback
  std::optional<base::Error> first_error;
  size_t done = 0;
  auto work = [&] {
    for (size_t k; (k = next.fetch_add(1)) < order.size();) {
      Set& set = sets_[order[k]];
      auto db = LiteralDatabase::Build(set.literals, options.cache, set.material);
      std::lock_guard lock(mu);
      if (!db) {
        if (!first_error) first_error = db.error();
        next = order.size();
        return;
      }
      set.db = std::move(*db);
      ++done;
      if (options.progress) options.progress(done, order.size());
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (first_error) return *first_error;
  return {};
}

std::shared_ptr<const LiteralDatabase> DatabaseBatch::Get(uint32_t handle) const {
  return sets_[handle_to_set_[handle]].db;
}

LiteralDatabase::~LiteralDatabase() { hs_free_database(db_); }

LiteralScratch::~LiteralScratch() { hs_free_scratch(scratch_); }

base::Status LiteralScratch::Prepare(const LiteralDatabase& db) { return Prepare(db.raw()); }

base::Status LiteralScratch::Prepare(const hs_database_t* db) {
  if (db == nullptr) return {};  // single-byte literals only: no scratch needed
  if (hs_alloc_scratch(db, &scratch_) != HS_SUCCESS) {
    return base::MakeError("vectorscan: cannot allocate scratch");
  }
  return {};
}

}  // namespace vigil::detect

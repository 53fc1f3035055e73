#include "detect/pcre_match.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fmt/format.h>
#include <pcre2.h>

#include <atomic>

namespace vigil::detect {
namespace {

std::atomic<uint64_t> limit_hits{0};

// One match block per thread, big enough for the whole match (captures are not needed: with too
// small a vector PCRE2 still reports the match and its bounds, returning 0).
class ThreadMatchData {
 public:
  ThreadMatchData() : data_(pcre2_match_data_create(1, nullptr)) {}
  ~ThreadMatchData() { pcre2_match_data_free(data_); }
  ThreadMatchData(const ThreadMatchData&) = delete;
  ThreadMatchData& operator=(const ThreadMatchData&) = delete;
  pcre2_match_data* get() const { return data_; }

 private:
  pcre2_match_data* data_;
};

pcre2_match_data* MatchData() {
  thread_local ThreadMatchData data;
  return data.get();
}

uint32_t CompileOptions(const rules::PcreOption& option) {
  uint32_t options = 0;
  for (char f : option.flags) {
    switch (f) {
      case 'i':
        options |= PCRE2_CASELESS;
        break;
      case 's':
        options |= PCRE2_DOTALL;
        break;
      case 'm':
        options |= PCRE2_MULTILINE;
        break;
      case 'x':
        options |= PCRE2_EXTENDED;
        break;
      case 'A':
        options |= PCRE2_ANCHORED;
        break;
      case 'E':
        options |= PCRE2_DOLLAR_ENDONLY;
        break;
      case 'G':
        options |= PCRE2_UNGREEDY;
        break;
      default:  // R B O and the buffer letters are not compile options
        break;
    }
  }
  return options;
}

}  // namespace

Pcre::Compiled::~Compiled() {
  pcre2_match_context_free(context);
  pcre2_code_free(code);
}

base::Result<Pcre> Pcre::Compile(const rules::PcreOption& option, bool jit) {
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(option.regex.data()), option.regex.size(),
                    CompileOptions(option), &error, &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    if (pcre2_get_error_message(error, message, sizeof(message)) < 0) message[0] = 0;
    return base::MakeError(
        fmt::format("{} at offset {}", reinterpret_cast<const char*>(message), error_offset));
  }
  auto compiled = std::make_shared<Compiled>();
  compiled->code = code;
  compiled->context = pcre2_match_context_create(nullptr);
  if (compiled->context == nullptr) {
    return base::MakeError("out of memory for a PCRE2 match context");
  }
  if (!option.HasFlag('O')) {
    pcre2_set_match_limit(compiled->context, kPcreMatchLimit);
    pcre2_set_depth_limit(compiled->context, kPcreDepthLimit);
  }
  compiled->want_jit = jit;
  Pcre re;
  re.compiled_ = std::move(compiled);
  return re;
}

void Pcre::PrepareJit() const {
  const Compiled& c = *compiled_;
  if (!c.want_jit) return;
  // Without JIT support (or for a pattern the JIT rejects) the interpreter runs it instead.
  std::call_once(c.jit_once, [&c] { c.jit = pcre2_jit_compile(c.code, PCRE2_JIT_COMPLETE) == 0; });
}

bool Pcre::jit() const {
  PrepareJit();
  return compiled_->jit;
}

PcreStatus Pcre::Find(const uint8_t* subject, size_t len, size_t start, size_t& begin,
                      size_t& end) const {
  if (start > len) return PcreStatus::kNoMatch;
  PrepareJit();
  pcre2_match_data* md = MatchData();
  int rc = pcre2_match(compiled_->code, subject, len, start, 0, md, compiled_->context);
  if (rc >= 0) {
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(md);
    begin = ovector[0];
    end = ovector[1];
    // \K in a lookahead can report a start after the end; treat the match as empty at its end.
    if (begin > end) begin = end;
    return PcreStatus::kMatch;
  }
  if (rc == PCRE2_ERROR_NOMATCH) return PcreStatus::kNoMatch;
  if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
      rc == PCRE2_ERROR_JIT_STACKLIMIT) {
    limit_hits.fetch_add(1, std::memory_order_relaxed);
  }
  return PcreStatus::kError;
}

base::Result<Pcre> PcreCache::Compile(const rules::PcreOption& option, bool jit) {
  // Everything Pcre::Compile reads of the option, and the JIT choice.
  const uint32_t options = CompileOptions(option);
  std::string key = option.regex;
  key.append(reinterpret_cast<const char*>(&options), sizeof options);
  key += option.HasFlag('O') ? 'O' : '-';
  key += jit ? 'J' : '-';
  {
    std::lock_guard lock(mu_);
    if (auto it = compiled_.find(key); it != compiled_.end()) return it->second;
  }
  auto re = Pcre::Compile(option, jit);
  if (!re) return re;  // seldom: not worth keeping
  std::lock_guard lock(mu_);
  return compiled_.try_emplace(std::move(key), std::move(*re)).first->second;
}

size_t PcreCache::size() const {
  std::lock_guard lock(mu_);
  return compiled_.size();
}

std::optional<std::string> PcreCompileError(const rules::PcreOption& option) {
  auto re = Pcre::Compile(option, /*jit=*/false);
  if (re) return std::nullopt;
  return re.error().message;
}

uint64_t PcreLimitHits() { return limit_hits.load(std::memory_order_relaxed); }

}  // namespace vigil::detect

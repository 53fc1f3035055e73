// Pcre: one rule's `pcre:"/regex/flags"` compiled once with PCRE2 (Perl-compatible regular
// expressions, version 2), JIT-compiled (just-in-time, to machine code) where PCRE2 supports it on
// its first search, and matched against payload bytes from any thread.
//
//   auto re = detect::Pcre::Compile(option);            // build side; error: PCRE2's message
//   size_t begin, end;
//   if (re->Find(data, len, 0, begin, end) == detect::PcreStatus::kMatch) ...
//
// Flags (Snort 2/3 and Suricata letters): i caseless, s dot matches newline, m multiline, x
// extended, A anchored, E dollar matches only at the end, G ungreedy; R (relative to the cursor)
// and the buffer letters are the caller's business; B (raw bytes) changes nothing here, as vigil
// has no normalized payload. Every pattern runs under Suricata's default limits — match limit 3500,
// recursion (depth) limit 1500 — unless it carries O, which restores PCRE2's own defaults. A search
// that hits a limit is no match; each one is counted (PcreLimitHits) so that a pathological
// pattern shows up in the statistics instead of silently costing CPU.
//
// Cost: Find uses one per-thread match block (created on the thread's first search, never per
// call) and no heap memory. The first search of a pattern (on any thread; the others wait for it)
// JIT-compiles it, tens of microseconds: a ruleset has thousands of patterns, most of which
// traffic never reaches, and compiling them all took a tenth of ET Open 2017's start-up CPU time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/result.h"
#include "rules/options.h"

struct pcre2_real_code_8;
struct pcre2_real_match_context_8;

namespace vigil::detect {

// Suricata's defaults (suricata.yaml pcre.match-limit / match-limit-recursion).
inline constexpr uint32_t kPcreMatchLimit = 3500;
inline constexpr uint32_t kPcreDepthLimit = 1500;

enum class PcreStatus : uint8_t {
  kMatch,
  kNoMatch,
  kError,  // a limit was hit (counted) or PCRE2 failed (bad UTF in a (*UTF) pattern, ...)
};

// Copies share the compiled pattern and its JIT code, made once.
class Pcre {
 public:
  // Compiles `option.regex` with the PCRE2 options its flags ask for; the JIT step waits for the
  // first search. `jit` false never takes it (enough to check that the pattern compiles). Fails
  // with PCRE2's message and offset: "missing closing parenthesis at offset 4".
  [[nodiscard]] static base::Result<Pcre> Compile(const rules::PcreOption& option, bool jit = true);

  // Searches subject[start, len) for the leftmost match (the subject still begins at `subject`,
  // so lookbehind and ^ see where the subject starts). On kMatch, [begin, end) is the match.
  [[nodiscard]] PcreStatus Find(const uint8_t* subject, size_t len, size_t start, size_t& begin,
                                size_t& end) const;

  // True when searches run JIT code: JIT was asked for, and PCRE2 supports it and accepts the
  // pattern. Asking JIT-compiles the pattern, as its first search does.
  [[nodiscard]] bool jit() const;

 private:
  // What copies share: the pattern, its match limits, and its JIT code once made.
  struct Compiled {
    Compiled() = default;
    Compiled(const Compiled&) = delete;
    Compiled& operator=(const Compiled&) = delete;
    ~Compiled();
    pcre2_real_code_8* code = nullptr;
    pcre2_real_match_context_8* context = nullptr;
    bool want_jit = false;
    mutable std::once_flag jit_once;
    mutable bool jit = false;  // written once, under jit_once
  };
  // JIT-compiles the pattern unless done or not wanted; thread-safe.
  void PrepareJit() const;

  std::shared_ptr<const Compiled> compiled_;
};

// Compiles each distinct pattern once (the same regex, flags and JIT choice give the same Pcre,
// shared): a ruleset repeats its patterns across rules, ET Open 2017 has 3,574 distinct ones in
// 8,528 pcre options. Thread-safe; what it returns does not depend on it afterwards. For the build
// side: it keeps every pattern until it is destroyed.
class PcreCache {
 public:
  // As Pcre::Compile. Two threads asking for a new pattern at once may both compile it; one copy
  // is kept.
  [[nodiscard]] base::Result<Pcre> Compile(const rules::PcreOption& option, bool jit = true);
  // The distinct patterns compiled so far.
  [[nodiscard]] size_t size() const;

 private:
  mutable std::mutex mu_;
  // By regex, PCRE2 compile options, O flag and JIT choice.
  std::unordered_map<std::string, Pcre> compiled_;
};

// nullopt when `option` compiles; else PCRE2's message, e.g. "missing closing parenthesis at
// offset 4".
[[nodiscard]] std::optional<std::string> PcreCompileError(const rules::PcreOption& option);

// Searches that hit a match, depth, heap or JIT stack limit, over all threads since start.
[[nodiscard]] uint64_t PcreLimitHits();

}  // namespace vigil::detect

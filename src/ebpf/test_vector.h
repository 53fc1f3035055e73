// Test vectors of the bpf_conformance and uBPF suites (`*.data`): sections introduced by `-- name`
// lines — `asm` (or `asm @ file` to include one), `raw` (instruction words: one 64-bit hex value
// per line, or 8 hex bytes per line), `mem` (input bytes, or `mem @ file`), `result` (expected
// r0), `error` / `error pattern` (the program must be refused or fail), and sections vigil reads
// but does not act on (`c`, `description`, `no jit`, `no register offset`). Sections vigil cannot
// run (`pyelf`, `reload`, `unload`) are listed in `unsupported`.
//
//   auto v = ebpf::ParseTestVector(path);
//   auto outcome = ebpf::RunTestVector(*v, ebpf::TestHelpers());
//   if (!outcome.passed) fmt::print("{}: {}\n", path, outcome.detail);
//
// A run follows both suites' harness: r1 = the memory (or 0), r2 = its length, checked mode, the
// memory the only region besides the stack. The suites' helper ids are the harness's own, not the
// kernel's: TestHelpers() provides uBPF's (0 gather_bytes, 1 memfrob, 2 no_op, 3 sqrti,
// 4 strcmp_ext, 5 unwind — which ends the run when its argument is 0).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "ebpf/helpers.h"
#include "ebpf/isa.h"
#include "ebpf/scratch.h"

namespace vigil::ebpf {

struct TestVector {
  std::string asm_text;
  std::vector<Insn> raw;  // when the vector gives instruction words
  bool has_raw = false;
  bool has_asm = false;
  std::vector<uint8_t> mem;
  std::optional<uint64_t> result;
  std::optional<std::string> error;  // the expected message (may be empty)
  std::vector<std::string> unsupported;
};

// Reads and splits `path`; fails on an unreadable file, an unknown section or a bad number.
[[nodiscard]] base::Result<TestVector> ParseTestVector(const std::filesystem::path& path);

// The harness helpers described above.
[[nodiscard]] const HelperTable& TestHelpers();

struct TestOutcome {
  bool passed = false;
  bool refused = false;     // assembly or load failed
  bool run_failed = false;  // the checked run ended with an error
  uint64_t r0 = 0;
  std::string detail;  // the load/run error, or "r0 X, expected Y"
};

// Assembles (when needed), loads and runs `v`. Passes when an expected error happened (refused or
// failed run) or r0 equals the expected result. A vector with both `asm` and `raw` but neither
// result nor error is an assembler test: it passes when the source assembles to the words.
// `engine` other than kChecked runs in fast mode (for differential tests of the engines).
[[nodiscard]] TestOutcome RunTestVector(const TestVector& v, const HelperTable& helpers,
                                        Engine engine = Engine::kChecked);

}  // namespace vigil::ebpf

// The verifier's corpora (tests/ebpf/verifier/): XDP programs that must be accepted (`pass/`) and
// unsafe ones that must be refused (`fail/`), as clang-built objects (`*.c`, compiled by the build
// twice: `pass/x` for clang's default instruction set, `pass/x@v3` for -mcpu=v3) and as assembly
// (`fail/*.asm`, for what C cannot express). Each file opens with comments that
// say what is expected:
//
//   // why: the reason the program is unsafe (every `fail/` program has one)
//   // strict: root's kernel accepts this; vigil refuses it on purpose, and why
//   // expect: a phrase the refusal message must contain
//
// (`#` instead of `//` in assembly), and an assembly file names its maps, `map:0` first:
//
//   # map: hash 4 8 16          (type, key size, value size, max entries)
//
// Shared by the corpus and kernel-parity tests and the soundness fuzzer's seeds.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "ebpf/isa.h"
#include "ebpf/maps.h"

namespace vigil::ebpf::verifier {

struct CorpusCase {
  std::string name;    // "pass/tcp_options", "fail/oob_read_one_byte"
  std::string path;    // the source (.c or .asm)
  std::string object;  // the compiled object (.c), or "" for assembly
  bool must_pass = false;
  std::string why, strict, expect;
  // Assembly only: the program and its maps.
  std::vector<Insn> insns;
  std::vector<MapSpec> maps;
};

// Reads every case under `source_dir` (tests/ebpf/verifier), objects from `object_dir`
// (<build>/src/ebpf/bpf/verifier), sorted by name. Fails on an unreadable file, assembly that
// does not assemble, a bad `map:` line, or a `fail/` case without `why:`.
[[nodiscard]] base::Result<std::vector<CorpusCase>> LoadCorpus(const std::string& source_dir,
                                                               const std::string& object_dir);

}  // namespace vigil::ebpf::verifier

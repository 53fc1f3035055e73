// bpf_conformance: runs bpf_conformance-style test vectors (test_vector.h) through vigil's
// assembler, load-time check and checked interpreter, and prints one line per vector and a summary.
// With --engine jit (or interp), every vector that ran to a result is run again on that engine,
// and its result is the one judged.
//
//   bpf_conformance ../shared/testdata/bpf_conformance/tests
//   bpf_conformance --engine jit ../shared/testdata/bpf_conformance/tests
//   bpf_conformance --negative ../shared/testdata/bpf_conformance/negative
//
// A positive vector passes when it behaves as its `-- result` / `-- error` says; a negative one
// (--negative) passes unless vigil runs it and returns the r0 it claims: vigil must refuse it (the
// assembler, the load-time check or the checked run fails) or give another result. The last line is
// exactly "bpf-conformance: N passed, M failed"; the exit status is 1 when M > 0.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "ebpf/test_vector.h"
#include "fmt/format.h"

namespace fs = std::filesystem;
using namespace vigil;

int main(int argc, char** argv) {
  bool negative = false;
  ebpf::Engine engine = ebpf::Engine::kChecked;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--negative") {
      negative = true;
      continue;
    }
    if (a == "--engine" && i + 1 < argc) {
      const std::string e = argv[++i];
      if (e != "jit" && e != "interp" && e != "checked") {
        fmt::print(stderr, "bpf_conformance: --engine takes jit, interp or checked\n");
        return 2;
      }
      engine = e == "jit"      ? ebpf::Engine::kJit
               : e == "interp" ? ebpf::Engine::kInterpreter
                               : ebpf::Engine::kChecked;
      continue;
    }
    if (a == "-h" || a == "--help") {
      fmt::print("usage: bpf_conformance [--negative] [--engine jit|interp|checked] DIR|FILE...\n");
      return 0;
    }
    std::error_code ec;
    if (fs::is_directory(a, ec)) {
      for (const auto& e : fs::directory_iterator(a, ec)) {
        if (e.path().extension() == ".data") files.push_back(e.path());
      }
    } else {
      files.emplace_back(a);
    }
  }
  if (files.empty()) {
    fmt::print(stderr, "bpf_conformance: no .data files given\n");
    return 2;
  }
  std::sort(files.begin(), files.end());
  int passed = 0, failed = 0;
  for (const auto& f : files) {
    auto v = ebpf::ParseTestVector(f);
    bool ok;
    std::string detail;
    if (!v) {
      ok = negative;
      detail = "unreadable vector: " + v.error().ToString();
    } else {
      auto out = ebpf::RunTestVector(*v, ebpf::TestHelpers());
      // A fast engine trusts the program: it runs the vectors that ran to a result when checked
      // (an expected error is a property of checked mode).
      if (engine != ebpf::Engine::kChecked && !out.refused && !out.run_failed)
        out = ebpf::RunTestVector(*v, ebpf::TestHelpers(), engine);
      // A negative vector fails only when vigil runs it and returns the r0 it claims.
      const bool ran_as_claimed =
          !out.refused && !out.run_failed && v->result && out.r0 == *v->result;
      ok = negative ? !ran_as_claimed : out.passed;
      detail = out.detail;
    }
    (ok ? passed : failed)++;
    fmt::print("{} {}: {}\n", ok ? "PASS" : "FAIL", f.filename().string(), detail);
  }
  fmt::print("bpf-conformance: {} passed, {} failed\n", passed, failed);
  return failed ? 1 : 0;
}

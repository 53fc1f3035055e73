// The kernel's own execution of an XDP program, for comparison: libbpf loads the object into the
// running kernel (its verifier, its JIT) and BPF_PROG_TEST_RUN runs the program on frames. Needs
// CAP_BPF (or root) and a kernel that test-runs XDP; otherwise every call fails with the reason.
//
//   auto t = ebpf::KernelNsPerRun("filter.o", "xdp_filter", frames, 1000);
//   if (t) fmt::print("kernel: {:.1f} ns per run\n", t->ns_per_run);
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace vigil::ebpf {

struct KernelTiming {
  // The mean nanoseconds per run as the kernel measures it (BPF_PROG_TEST_RUN's duration, which
  // includes the kernel's harness around each run, ~26 ns on this kind of machine).
  double ns_per_run = 0;
  size_t frames = 0;   // frames run
  size_t skipped = 0;  // frames an XDP test run cannot take (under 14 bytes, or over 1,522)
};

// An element to put into one of the object's maps before the runs.
struct KernelMapEntry {
  std::string map;  // the map's name in the object
  std::vector<uint8_t> key, value;
};

// Loads `function` of `object` into the kernel, puts `entries` into its maps and runs it `repeat`
// times on each frame. Fails when libbpf is absent from the build, or the kernel refuses to load
// or test-run the program or to update a map, saying why.
[[nodiscard]] base::Result<KernelTiming> KernelNsPerRun(
    const std::string& object, const std::string& function,
    std::span<const std::vector<uint8_t>> frames, uint32_t repeat,
    std::span<const KernelMapEntry> entries = {});

}  // namespace vigil::ebpf

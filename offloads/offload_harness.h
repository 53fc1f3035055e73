// Runs one offload object (offloads/*.bpf.c, built into build/offloads/NAME.bpf.o) on one engine:
// vigil's interpreter, vigil's JIT, or the running kernel (libbpf loads the same object and
// BPF_PROG_TEST_RUN runs it), behind one interface, so that a test or a benchmark feeds the same
// frames to all three and compares what comes out: verdicts, frames, maps.
//
//   auto engine = OffloadEngine::Open(kInterpreter, "build/offloads/synproxy.bpf.o", "synproxy");
//   if (!engine) ...;                          // the kernel's refusal says why (no root, ...)
//   (*engine)->Update("ports", Le(80, 4), {1});
//   auto r = (*engine)->Run(frame);            // r->action, r->frame
//
// vigil's engines read the time from OffloadClock (settable, so that rate limits can be tested
// over simulated seconds); the kernel reads its own clock.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace vigil::offloads {

using Bytes = std::vector<uint8_t>;

enum class EngineKind { kInterpreter, kJit, kKernel };
[[nodiscard]] const char* EngineName(EngineKind kind);

// What bpf_ktime_get_ns and bpf_ktime_get_boot_ns return in vigil's engines (nanoseconds).
struct OffloadClock {
  static uint64_t now_ns;
};

struct RunResult {
  uint32_t action = 0;  // the XDP return code
  Bytes frame;          // the frame as the program left it
};

class OffloadEngine {
 public:
  virtual ~OffloadEngine() = default;
  // Loads `function` of the object at `path` on `kind`. The kernel engine fails (with the
  // reason) where the kernel refuses BPF programs or XDP test runs.
  [[nodiscard]] static base::Result<std::unique_ptr<OffloadEngine>> Open(
      EngineKind kind, const std::string& path, const std::string& function);

  [[nodiscard]] virtual base::Result<RunResult> Run(std::span<const uint8_t> frame) = 0;
  // Runs `frame` `repeat` times; returns nanoseconds per run: the thread's CPU time for vigil, the
  // kernel's own measure of each BPF_PROG_TEST_RUN for the kernel.
  // `idempotent`: the program leaves the frame as it found it, so the kernel may run it `repeat`
  // times in one BPF_PROG_TEST_RUN (its per-call overhead spread over them).
  [[nodiscard]] virtual base::Result<double> Time(std::span<const uint8_t> frame, uint32_t repeat,
                                                  bool idempotent = false) = 0;
  // Writes one element of map `name` (a per-CPU map: the value on every CPU).
  [[nodiscard]] virtual base::Status Update(const std::string& name, std::span<const uint8_t> key,
                                            std::span<const uint8_t> value) = 0;
  // The element's value (a per-CPU map: the values summed as 64-bit counters), or nullopt.
  [[nodiscard]] virtual std::optional<Bytes> Lookup(const std::string& name,
                                                    std::span<const uint8_t> key) = 0;
  // Every key of map `name`.
  [[nodiscard]] virtual std::vector<Bytes> Keys(const std::string& name) = 0;

  // Counter `index` of the per-CPU __u64 array `name`, summed over the CPUs.
  [[nodiscard]] uint64_t Counter(const std::string& name, uint32_t index);
};

// `value` as `size` little-endian bytes (map keys and values).
[[nodiscard]] Bytes Le(uint64_t value, size_t size);

}  // namespace vigil::offloads

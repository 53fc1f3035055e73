// Scratch: the per-thread, mutable state of eBPF runs — the 8 stack frames, the memory regions a
// checked run may touch, the pseudo-random state, the trace log, and what helpers leave for the
// caller (a redirect target, a pending tail call). One Scratch per worker thread; a Program is
// shared.
//
//   ebpf::Scratch scratch({.checked = true, .step_limit = 1'000'000});
//   scratch.AddRegion(mem.data(), mem.size(), /*writable=*/true);
//   auto r0 = ebpf::Run(*prog, scratch, uint64_t(mem.data()), mem.size());
//   if (!r0) fmt::print("{}\n", r0.error().message);   // "pc 3: out-of-bounds store of 1 byte ..."
//
// Checked mode bounds-checks every load, store and helper pointer against: the live stack frames,
// the regions added with AddRegion, the XDP packet [data_meta, data_end) and context, and the value
// storage of the running program's maps. Fast mode trusts the program (a verifier's job).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "ebpf/isa.h"

namespace vigil::ebpf {

class Program;
struct XdpContext;

// Where bpf_redirect or bpf_redirect_map sent a packet (XdpVerdict::redirect): out of the
// interface `value` (bpf_redirect, a device map or device hash map entry), to the processor
// `value` (a CPU map: the entry's key), or to the AF_XDP socket of map entry `key`, whose value
// the host set to the receive queue `value` the socket is bound to (an AF_XDP socket map).
enum class RedirectKind : uint8_t { kNone, kIfindex, kCpu, kXskQueue };
struct RedirectTarget {
  RedirectKind kind = RedirectKind::kNone;
  uint32_t value = 0;
  uint32_t key = 0;           // bpf_redirect_map: the map key
  const void* map = nullptr;  // bpf_redirect_map: the map (a Map*)
};

// The three ways to run a program (`vigil bpf run --engine`): the JIT's machine code, the fast
// interpreter, the checked interpreter. EngineConfig gives the ScratchConfig that selects one.
enum class Engine { kJit, kInterpreter, kChecked };

struct ScratchConfig {
  // Checked mode: the interpreter, with every access checked (see the header comment).
  bool checked = false;
  // Fast mode runs the program's x86-64 machine code (jit/jit.h) when it has some, the threaded
  // interpreter otherwise (or when this is false). Both trust the program.
  bool jit = true;
  // Checked mode: instructions a run may execute before it fails (ends infinite loops).
  uint64_t step_limit = 1'000'000;
  // What bpf_get_smp_processor_id returns and which per-CPU map values the program sees.
  uint32_t cpu = 0;
  uint64_t prandom_seed = 0x2545f4914f6cdd1dull;
  // Non-zero: what bpf_ktime_get_ns and bpf_ktime_get_boot_ns return instead of the clocks, for
  // runs that must repeat exactly (the engines' differential tests).
  uint64_t clock_ns = 0;
  // bpf_trace_printk output is appended to trace_log() up to this many bytes.
  size_t trace_log_limit = 64 * 1024;
};

[[nodiscard]] inline ScratchConfig EngineConfig(Engine engine, ScratchConfig base = {}) {
  base.checked = engine == Engine::kChecked;
  base.jit = engine == Engine::kJit;
  return base;
}

class Scratch {
 public:
  explicit Scratch(ScratchConfig config = {});
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  [[nodiscard]] const ScratchConfig& config() const { return config_; }
  void set_checked(bool checked) {
    config_.checked = checked;
    runs_jit_ = config_.jit && !checked;
  }
  // Whether a run takes a program's machine code when it has some (fast mode, JIT on).
  [[nodiscard]] bool runs_jit() const { return runs_jit_; }

  // Regions a checked run may access besides the stack, packet and maps; cleared by ClearRegions.
  void AddRegion(const void* p, size_t size, bool writable);
  void ClearRegions() { num_regions_ = 0; }

  // Checked-mode access tests (always true in fast mode is the caller's business: helpers call
  // these only when config().checked).
  [[nodiscard]] bool CanRead(uint64_t addr, uint64_t size) const {
    return Allowed(addr, size, false);
  }
  [[nodiscard]] bool CanWrite(uint64_t addr, uint64_t size) const {
    return Allowed(addr, size, true);
  }
  // Whether `p` is a map of the running program.
  [[nodiscard]] bool IsMap(uint64_t p) const;

  // Ends the run with `message` (helpers in checked mode).
  void Fail(std::string message);

  [[nodiscard]] const std::string& trace_log() const { return trace_log_; }
  void ClearTraceLog() { trace_log_.clear(); }
  void AppendTrace(std::string_view text);

  uint64_t NextRandom();
  // Starts the pseudo-random sequence again from ScratchConfig::prandom_seed (a differential test
  // runs one input twice).
  void RestartRandom() { rng_ = config_.prandom_seed | 1; }

  // --- State of the current run, for helpers and the interpreter. ---
  XdpContext* xdp = nullptr;         // set by RunXdp
  uint32_t redirect_ifindex = 0;     // set by bpf_redirect / bpf_redirect_map (interfaces)
  RedirectTarget redirect;           // set by bpf_redirect / bpf_redirect_map
  const Program* program = nullptr;  // the running program (changes on tail calls)
  const Program* tail_target = nullptr;
  uint32_t tail_calls = 0;
  uint32_t depth = 0;           // current call frame, 0 = the entry function
  bool pending = false;         // a helper asked for a tail call or a stop, or failed
  bool stop_requested = false;  // a helper asked to end the run with its result as r0
  std::string error;            // why the run failed, when it did
  uint64_t steps = 0;           // checked mode: instructions the last run executed
  uint64_t jit_entry_sp = 0;    // JIT: the native stack pointer at entry, to unwind a run that ends
                                // inside a helper call or a bpf-to-bpf call

  // Resets the per-run state above for a run of `entry` (every engine calls it first).
  void BeginRun(const Program& entry) {
    program = &entry;
    tail_target = nullptr;
    tail_calls = 0;
    depth = 0;
    pending = false;
    stop_requested = false;
    // Only a redirect or a failure left these set: tested rather than rewritten every run.
    if (redirect.kind != RedirectKind::kNone || redirect_ifindex != 0) [[unlikely]] {
      redirect_ifindex = 0;
      redirect = {};
    }
    if (!error.empty()) [[unlikely]]
      error.clear();
  }

  // Frame k's stack is [stack_top() - (k + 1) * kStackSize, stack_top() - k * kStackSize).
  [[nodiscard]] uint8_t* stack_top() { return stack_ + sizeof(stack_); }

 private:
  struct Region {
    uint64_t lo;
    uint64_t size;
    bool writable;
  };
  [[nodiscard]] bool Allowed(uint64_t addr, uint64_t size, bool write) const;

  ScratchConfig config_;
  bool runs_jit_ = config_.jit && !config_.checked;
  Region regions_[4];
  uint32_t num_regions_ = 0;
  uint64_t rng_;
  std::string trace_log_;
  alignas(64) uint8_t stack_[kStackSize * kMaxCallDepth];
};

}  // namespace vigil::ebpf

// `vigil bpf`: runs eBPF programs from clang-compiled object files over captured traffic, the way
// they would run at the XDP (eXpress Data Path) hook, to test an offload before deploying it.
//
//   vigil bpf verify filter.o [--section xdp]
//   vigil bpf run filter.o --section xdp --pcap trace.pcap [--engine jit|interp|checked]
//                 [--blind-constants] [--map-dump] [--quiet]
//   vigil bpf bench filter.o -r trace.pcap [--section xdp] [--seconds 0.2] [--rounds 5]
//
// `verify` runs the verifier (ebpf/verifier/verifier.h) and prints `accepted: N instructions, S
// states, T ms` (exit 0) or `refused: OBJECT: section 'S' (function): instruction I (file.c:L:
// `source`): why` (exit 1). `run` verifies first and runs nothing that is refused; then it
// prints one line per packet (its number, verdict and redirect target), then the verdict
// histogram, the instructions executed (counted by the checked engine only; --checked is short
// for --engine checked), and with --map-dump every map entry whose value is not all zeros. `bench`
// runs the capture's frames through each engine (the JIT, the fast and the checked interpreter)
// and prints the median ns per packet and the ratio to the JIT, then the kernel's figure through
// BPF_PROG_TEST_RUN when the kernel loads the object (or why not). Exit status: 0 on success, 1 on
// any error (bad arguments, an object that does not load, an unreadable capture, a run that fails).
#pragma once

#include <cstdio>

namespace vigil::cli {

// `argv[0]` is the word "bpf" (or the program name); `argv[1]` the subcommand ("run").
int RunBpfCommand(int argc, char** argv);
// The same, writing the report to `out` and errors to `err` (for tests).
int RunBpfCommand(int argc, char** argv, std::FILE* out, std::FILE* err);

}  // namespace vigil::cli

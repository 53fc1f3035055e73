// The eBPF verifier: proves, before a tenant's XDP program runs, that no execution of it can touch
// memory it does not own, loop forever, or hand vigil a value it cannot act on. It is an abstract
// interpreter in the manner of the Linux kernel's verifier: it walks every path of the program
// from the entry, one instruction at a time, keeping for each register and stack slot what it may
// hold —
//
//   - its type: a number (scalar), the context, a packet pointer, data_end, a stack pointer, a
//     pointer into a map value, a map lookup result that may be NULL, a map;
//   - for numbers and the variable part of pointers: signed and unsigned bounds and known bits;
//   - for packet pointers: how many bytes past them a comparison against data_end has proven;
//   - for the stack: which bytes were written, and which 8-byte slots hold a spilled register;
//   - the ring buffer records the path has reserved (bpf_ringbuf_reserve) and not yet submitted
//     or discarded: the kernel's acquired references, which every path must release before the
//     program exits (a NULL check releases a failed reservation) and may not hold across a tail
//     call; a released record's pointers become numbers;
//
// and it refuses the program at the first instruction where some path could fault or leak a record:
// a read past the proven end of the packet, a map value used before its NULL check, a helper called
// with the wrong kind of argument, a read of the stack before a write, a write to the context, a
// pointer stored where a tenant could read it back. A path ends at `exit` (where r0 must be an XDP
// action), or when the state it reaches is included in one already proven safe at the same
// instruction (state pruning); loops are unrolled until that happens, so a loop that always
// terminates is accepted while its unrolling stays within the complexity budget (1,000,000
// instructions, as the kernel's).
//
//   verifier::Options options = object.VerifierOptions(*object.FindProgram("xdp"));
//   auto stats = verifier::Verify(insns, options);
//   if (!stats) fmt::print("{}\n", stats.error().message);
//   // "instruction 6 (parse.c:13: `return ip->protocol == IPPROTO_TCP ? ...`): r1 = packet reads
//   //  1 byte at offset 23, but only 14 bytes are proven before data_end (compare data + 24 with
//   //  data_end first)"
//
// The structural check (check.h) runs first, and instructions no path reaches are refused. The
// verifier reads the instructions as clang emits them (either instruction set: clang's default
// and -mcpu=v3), before Program::Load rewrites context loads; Program::Load verifies every XDP
// program and turns code behind branches whose outcome is known (dead code) into no-ops.
//
// Verdicts follow the kernel's as root loads a program (tests: VerifierCorpus.*, which compare
// with the running kernel), where the kernel proves less than it could — it explores both
// branches of a packet pointer compared with 0, tracks no division — so does this verifier, or
// it would accept programs whose error lies on a path the kernel explores. Tenants are not
// trusted, so with Options::untrusted (the default) it also refuses what root's kernel allows:
// pointers stored into maps, the packet or the trace, passed to helpers as numbers, returned, or
// turned into numbers (numbers made from packet addresses may only be subtracted from each other,
// which gives a length); stack bytes read before they are written; a return value that is not an
// XDP action. Not done: the kernel's precision tracking, so a program
// whose paths differ only in numbers that never reach memory accesses is pruned less, and may
// exhaust the budget where the kernel would not.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "ebpf/helpers.h"
#include "ebpf/isa.h"
#include "ebpf/maps.h"

namespace vigil::ebpf::verifier {

// One source line of BTF line information (.BTF.ext): instructions from `insn` on come from it.
struct SourceLine {
  uint32_t insn = 0;
  std::string file;  // base name of the source file
  uint32_t line = 0;
  std::string text;  // the line of C, trimmed
};

// The host's configured processor count (sysconf(_SC_NPROCESSORS_CONF)), at least 1.
[[nodiscard]] uint32_t DefaultNumCpus();

struct Options {
  const HelperTable* helpers = nullptr;  // null: HelperTable::Kernel()
  std::vector<MapSpec> maps;             // what lddw src=1/2 imm N names
  // Tenants are not trusted: refuse what root's kernel allows only to privileged users — pointers
  // stored into maps or the packet or passed to helpers as numbers, pointers turned into numbers,
  // reads of stack bytes never written, and a return value that is not an XDP action. false gives
  // the kernel's verdict for a program loaded by root.
  bool untrusted = true;
  // Whether the program's license is GPL-compatible (helpers such as bpf_trace_printk need it).
  bool gpl = true;
  uint64_t complexity_limit = 1'000'000;  // instructions explored over all paths
  // bpf_get_smp_processor_id returns less than this (the kernel's nr_cpu_ids), and programs may
  // rely on it: whoever runs verified programs must keep ScratchConfig::cpu below it. The
  // default is the host's configured processor count.
  uint32_t num_cpus = DefaultNumCpus();
  const std::vector<SourceLine>* lines = nullptr;
};

struct Stats {
  uint64_t instructions = 0;  // in the program
  uint64_t explored = 0;      // instructions interpreted over all paths
  uint64_t states = 0;        // states kept for pruning
  uint64_t pruned = 0;        // paths ended by a state already proven safe
  double milliseconds = 0;
  // Per instruction: whether some path reaches it. The others are dead code (behind branches
  // whose outcome is known), never run and never checked; loaders replace them (program.cc).
  std::vector<uint8_t> reached;
};

// Verifies an XDP program. The error's message names the instruction (and its C source line when
// `lines` has one), the register or stack slot at fault with what is known of it, and why the
// access or call is unsafe; Error::offset is the instruction's byte offset.
[[nodiscard]] base::Result<Stats> Verify(std::span<const Insn> insns, const Options& options);

// The C source line of instruction `pc` ("parse.c:42: `proto = ip->protocol;`"), or "".
[[nodiscard]] std::string SourceLocation(const std::vector<SourceLine>* lines, size_t pc);

}  // namespace vigil::ebpf::verifier

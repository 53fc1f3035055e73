// Random XDP programs shaped like real ones — bounds checks against data_end, packet loads and
// stores at small offsets, variable offsets from packet bytes, map lookups with and without NULL
// checks, stack spills, helper calls that move the packet, short loops, forward branches — for
// testing the verifier's soundness: whatever it accepts must run in the checked interpreter on any
// packet without a fault. About half of them are unsafe, in the ways real programs are.
//
//   std::mt19937_64 rng(seed);
//   std::vector<Insn> insns = verifier::RandomXdpProgram(rng);
//   auto maps = verifier::RandomProgramMaps();   // what its `lddw map:N` name
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "ebpf/isa.h"
#include "ebpf/maps.h"

namespace vigil::ebpf::verifier {

// The maps the random programs use: 0 an array (key 4, value 64, 4 entries), 1 a hash (key 4,
// value 16, 64 entries), 2 a single-element array (for direct value loads), 3 a 4 KiB ring
// buffer, 4 a perf event array of 4 entries.
[[nodiscard]] std::vector<MapSpec> RandomProgramMaps();

[[nodiscard]] std::vector<Insn> RandomXdpProgram(std::mt19937_64& rng, size_t max_blocks = 12);

// A 4,096-instruction program of 170 protocol checks, each a bounds check, a load, a compare and
// a counter update through a map lookup — the shape of a long hand-written filter — and its map
// (an array, key 4, value 8): the verifier's speed benchmark (bench/verifier_bench.cc).
[[nodiscard]] std::vector<Insn> LargeXdpProgram();
[[nodiscard]] std::vector<MapSpec> LargeXdpProgramMaps();

// Applies `edits` to `insns`, three bytes an edit: which instruction (modulo the count), which
// field (opcode, dst, src, off, imm) and a value (a new opcode or register; a small change of the
// offset or immediate). The fuzz targets explore around generated programs this way.
void ApplyEdits(std::vector<Insn>& insns, std::span<const uint8_t> edits);

// Changes one or two instructions of `insns` (never a 64-bit immediate load's halves): an
// offset, an immediate or a register nudged, or the operation (kinds 5); kinds 6 may also change
// a load or store's size bits. Mutants of real programs probe the verifier near what it accepts.
void Mutate(std::vector<Insn>& insns, std::mt19937_64& rng, int kinds);

struct SoundnessResult {
  bool accepted = false;
  std::string fault;  // non-empty: an accepted program faulted (a verifier bug)
};

// Verifies `insns` (untrusted, RandomProgramMaps(), `complexity_limit`) and, when accepted, loads
// it and runs it in the checked interpreter on `packets` random frames of 0-159 bytes: a fault, an
// error or a return value that is no XDP action is reported in `fault`.
[[nodiscard]] SoundnessResult CheckSoundness(std::span<const Insn> insns, std::mt19937_64& rng,
                                             int packets, uint64_t complexity_limit = 100'000);
// The same with the caller's maps: `lddw map:N` names maps[N] (a corpus object's, ElfObject::Load).
// Half the frames carry an IPv4 or IPv6 EtherType, to get past programs' first checks.
[[nodiscard]] SoundnessResult CheckSoundness(std::span<const Insn> insns,
                                             std::span<const std::shared_ptr<Map>> maps,
                                             std::mt19937_64& rng, int packets,
                                             uint64_t complexity_limit = 100'000);

}  // namespace vigil::ebpf::verifier

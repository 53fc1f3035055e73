// Loading eBPF object files as clang emits them (`clang -O2 -g -target bpf -c prog.c`): the
// programs by ELF section (`xdp`, `xdp/reflect`, ...), the BTF-defined maps of `.maps` and legacy
// `maps` definitions, global variables (.data, .rodata, .bss) as single-element array maps
// initialised from the section bytes, bpf-to-bpf calls into `.text` subprograms, and the license.
//
//   auto object = ebpf::ElfObject::Open("offloads/filter.o");
//   if (!object) return object.error();   // "filter.o: section 'xdp' offset 0x48: ..."
//   auto loaded = object->Load("xdp", {.type = ebpf::ProgramType::kXdp});
//   if (!loaded) return loaded.error();
//   auto verdict = ebpf::RunXdp(*loaded->program, scratch, buffer);
//
// The ELF structure is read with libelf; map definitions from the BTF (BPF Type Format) of `.maps`
// by a small, bounds-checked BTF reader of our own (libbpf's parser crashes on some damaged
// objects; on good ones both give the same answers, as kernel_diff_test checks). The
// relocations are applied the way the kernel expects them after libbpf: a map reference becomes
// `lddw rX, map` (src=1, imm = the map's index in Loaded::maps, i.e. the assembler's `map:N`), a
// global variable becomes `lddw rX, map_value` (src=2, imm = the index, the next word's imm = the
// byte offset), and a call into another function gets that function's code appended after the
// program (as libbpf does) with the call's offset pointing at it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "ebpf/isa.h"
#include "ebpf/maps.h"
#include "ebpf/program.h"
#include "ebpf/verifier/verifier.h"

namespace vigil::ebpf {

// A map the object defines, before creation.
struct ElfMapDefinition {
  std::string name;  // symbol name, or the section name for global data (".bss", ".rodata")
  MapSpec spec;
  // Global data: the section's bytes, the initial value of element 0 (zeros for .bss).
  std::vector<uint8_t> initial_value;
  bool global_data = false;
};

// One program: an entry function of an executable section, linked with its subprograms and with
// its relocations applied.
struct ElfProgram {
  std::string section;   // "xdp", "xdp/reflect", ...
  std::string function;  // the entry function's symbol name
  std::vector<Insn> insns;
  // BTF line information (.BTF.ext), by linked instruction index, sorted; empty without -g.
  std::vector<verifier::SourceLine> lines;
};

class ElfObject {
 public:
  // What Load returns: the created maps (in definition order, as `map:N` numbers them) and the
  // loaded program.
  struct Loaded {
    std::vector<std::shared_ptr<Map>> maps;
    std::shared_ptr<const Program> program;
    const ElfProgram* source = nullptr;
    // The index of the map called `name` in `maps`, or -1.
    [[nodiscard]] int MapIndex(std::string_view name) const;
  };

  // Parses `bytes` (an ELF64 little-endian BPF relocatable object). `name` appears in errors.
  [[nodiscard]] static base::Result<ElfObject> Parse(std::span<const uint8_t> bytes,
                                                     std::string name = "object");
  [[nodiscard]] static base::Result<ElfObject> Open(const std::string& path);

  [[nodiscard]] const std::vector<ElfMapDefinition>& maps() const { return maps_; }
  [[nodiscard]] const std::vector<ElfProgram>& programs() const { return programs_; }
  [[nodiscard]] const std::string& license() const { return license_; }
  // The program whose section is `section` (or whose function is `section`), or null.
  [[nodiscard]] const ElfProgram* FindProgram(std::string_view section) const;

  // What the verifier needs to check `program` (one of programs()): the map definitions, whether
  // the license is GPL-compatible, and the program's line information (which must outlive it).
  [[nodiscard]] verifier::Options VerifierOptions(const ElfProgram& program) const;

  // Creates fresh maps from the definitions (global data initialised) and loads the program of
  // `section` with them. `options.maps` is replaced; `options.name` defaults to the function.
  [[nodiscard]] base::Result<Loaded> Load(std::string_view section, LoadOptions options = {}) const;

 private:
  std::vector<ElfMapDefinition> maps_;
  std::vector<ElfProgram> programs_;
  std::string license_;
};

}  // namespace vigil::ebpf

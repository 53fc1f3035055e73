#include "ebpf/isa.h"

#include "fmt/format.h"

namespace vigil::ebpf {

std::string Describe(const Insn& insn) {
  return fmt::format("op {:#04x} dst r{} src r{} off {} imm {}", insn.opcode, int(insn.dst),
                     int(insn.src), insn.off, insn.imm);
}

}  // namespace vigil::ebpf

#include "detect/support.h"

#include "detect/option_program.h"

namespace vigil::detect {

base::Result<std::unique_ptr<RuleProgram>> CompileSupported(const rules::Rule& rule, bool jit,
                                                            PcreCache* pcres) {
  if (!rule.protocol_variant.empty()) {
    return base::MakeError("unsupported protocol " + rule.protocol_variant);
  }
  if (!rule.service.empty() && rule.service != "http") {
    // Such a rule applies only to flows identified as that protocol; until vigil identifies
    // application protocols, evaluating it on every flow of the transport would be wrong.
    return base::MakeError("unsupported protocol " + rule.service +
                           " (application-layer detection)");
  }
  // The matcher's own compiler decides, so what is accepted here is exactly what it evaluates.
  return CompileProgram(rule, jit, pcres);
}

std::optional<std::string> UnsupportedReason(const rules::Rule& rule) {
  auto program = CompileSupported(rule, /*jit=*/false);
  if (!program) return std::move(program.error().message);
  return std::nullopt;
}

}  // namespace vigil::detect

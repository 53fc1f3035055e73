#include "detect/support.h"

#include <algorithm>

#include "detect/option_program.h"

namespace vigil::detect {

base::Result<std::unique_ptr<RuleProgram>> CompileSupported(const rules::Rule& rule, bool jit,
                                                            PcreCache* pcres) {
  if (!rule.protocol_variant.empty() && !StreamOfProtocol(rule)) {
    return base::MakeError("unsupported protocol " + rule.protocol_variant);
  }
  if (rule.service == "smtp") {
    // SMTP flows are recognized (app/smtp.h), not parsed: only the payload can be inspected.
    for (const rules::Option& o : rule.options) {
      const std::string* b = rules::OptionBuffer(o);
      if (b != nullptr && !b->empty() && *b != "raw_data") {
        return base::MakeError("unsupported buffer " + *b + " of protocol smtp");
      }
    }
  } else if (!rule.service.empty() && rule.service != "http" && rule.service != "dns" &&
             rule.service != "tls") {
    // Such a rule applies only to flows identified as that protocol; until vigil identifies
    // application protocols, evaluating it on every flow of the transport would be wrong.
    return base::MakeError("unsupported protocol " + rule.service +
                           " (application-layer detection)");
  }
  // Snort 3's file_data of a rule whose `service:` list leaves out http is a file of another
  // service (an SMTP attachment, an FTP transfer) that vigil does not extract.
  if (!rule.services.empty() &&
      std::find(rule.services.begin(), rule.services.end(), "http") == rule.services.end()) {
    for (const rules::Option& o : rule.options) {
      const std::string* b = rules::OptionBuffer(o);
      if (b != nullptr && *b == "file.data") {
        return base::MakeError("unsupported buffer file.data of service " + rule.services[0]);
      }
    }
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

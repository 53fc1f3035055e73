#include "detect/support.h"

#include <variant>

namespace vigil::detect {

namespace {

std::optional<std::string> ContentReason(const rules::ContentOption& c) {
  if (!c.buffer.empty()) return "unsupported buffer " + c.buffer;
  if (c.startswith) return std::string("unsupported keyword startswith");
  if (c.endswith) return std::string("unsupported keyword endswith");
  if (c.HasVariable())
    return std::string("unsupported byte_extract variable in a content modifier");
  return std::nullopt;
}

}  // namespace

std::optional<std::string> UnsupportedReason(const rules::Rule& rule) {
  if (!rule.protocol_variant.empty()) return "unsupported protocol " + rule.protocol_variant;
  if (!rule.service.empty()) {
    // Such a rule applies only to flows identified as that protocol; until vigil identifies
    // application protocols, evaluating it on every flow of the transport would be wrong.
    return "unsupported protocol " + rule.service + " (application-layer detection)";
  }
  for (const rules::Option& option : rule.options) {
    if (const auto* c = std::get_if<rules::ContentOption>(&option)) {
      if (auto reason = ContentReason(*c)) return reason;
      continue;
    }
    return "unsupported keyword " + rules::OptionKeyword(option);
  }
  return std::nullopt;
}

}  // namespace vigil::detect

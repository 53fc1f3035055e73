#include "base/result.h"

#include <fmt/format.h>

namespace vigil::base {

std::string Error::ToString() const {
  if (file.empty()) return message;
  if (line > 0 && column > 0) return fmt::format("{}:{}:{}: {}", file, line, column, message);
  if (line > 0) return fmt::format("{}:{}: {}", file, line, message);
  if (offset >= 0) return fmt::format("{}: offset {}: {}", file, offset, message);
  return fmt::format("{}: {}", file, message);
}

}  // namespace vigil::base

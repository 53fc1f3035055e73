#include "control/json_stream.h"

#include <fmt/format.h>

namespace vigil::control {

base::Status JsonStream::Feed(std::string_view bytes,
                              const std::function<void(std::string_view)>& on_object) {
  if (!error_.empty()) return base::MakeError(error_);
  for (char c : bytes) {
    const uint64_t at = offset_++;
    if (depth_ == 0) {
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
      if (c != '{') {
        error_ = fmt::format(
            "byte {}: expected a JSON object, found '{}'", at,
            (c >= 0x20 && c < 0x7f) ? std::string(1, c) : fmt::format("\\x{:02x}", uint8_t(c)));
        return base::MakeError(error_);
      }
    }
    if (object_.size() >= max_) {
      error_ = fmt::format("byte {}: an object longer than {} bytes", at, max_);
      object_.clear();
      return base::MakeError(error_);
    }
    object_.push_back(c);
    if (in_string_) {
      if (escape_) {
        escape_ = false;
      } else if (c == '\\') {
        escape_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string_ = true;
        break;
      case '{':
      case '[':
        ++depth_;
        break;
      case '}':
      case ']':
        if (--depth_ == 0) {
          on_object(object_);
          object_.clear();
        }
        break;
      default:
        break;
    }
  }
  return {};
}

}  // namespace vigil::control

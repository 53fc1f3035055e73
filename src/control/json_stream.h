// JsonStream: cuts a byte stream into whole JSON objects, as a control-socket client sends them
// (Suricata's unix-command protocol: one object after another, a newline after each or not).
//
//   JsonStream stream(64 << 10);
//   auto status = stream.Feed(bytes, [&](std::string_view object) { Answer(object); });
//   if (!status) { SendError(status.error()); Close(); }
//
// It tracks only nesting and strings (with their escapes): whether each object is valid JSON is
// the parser's business (nlohmann::json). Memory is bounded by `max_object_bytes`: an object
// that grows past it fails the stream, as does anything but whitespace between objects.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace vigil::control {

class JsonStream {
 public:
  explicit JsonStream(size_t max_object_bytes) : max_(max_object_bytes) {}

  // Calls `on_object` with each object that `bytes` completes, in order. Fails (and stays
  // failed) on bytes outside an object that are not whitespace, or an object over the limit;
  // the message says which and at which offset of the stream.
  [[nodiscard]] base::Status Feed(std::string_view bytes,
                                  const std::function<void(std::string_view)>& on_object);

  // Bytes of an object begun and not finished.
  [[nodiscard]] size_t pending() const { return object_.size(); }

 private:
  size_t max_;
  std::string object_;
  size_t depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
  uint64_t offset_ = 0;  // bytes fed so far
  std::string error_;
};

}  // namespace vigil::control

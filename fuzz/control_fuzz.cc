// The control plane's parsers on arbitrary bytes: the control socket's stream splitter (fed in
// chunks whose sizes the input chooses), each object it cuts through the command handler (no
// run attached: commands parse and are refused), and the HTTP request line.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/http.h"
#include "control/json_stream.h"
#include "control/ops.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vigil::control::Ops ops({.log = [](const std::string&) {}});
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)vigil::control::ParseHttpRequest(in);
  vigil::control::JsonStream stream(4096);
  size_t chunk = size > 0 ? (data[0] % 17) + 1 : 1;
  for (size_t at = 0; at < size; at += chunk) {
    auto st = stream.Feed(in.substr(at, chunk),
                          [&](std::string_view object) { (void)ops.Handle(object); });
    if (!st) break;
  }
  return 0;
}

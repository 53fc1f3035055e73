#include "rules/config_text.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vigil::rules {

base::Result<std::string> ReadConfigFile(const std::string& path, std::string_view what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return base::Error{"cannot read " + std::string(what) + ": " + std::strerror(errno), path};
  }
  std::string text;
  char buf[16384];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  return text;
}

}  // namespace vigil::rules

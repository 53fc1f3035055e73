#include "app/smtp.h"

#include <cctype>
#include <string_view>

namespace vigil::app {

bool IsSmtpClientStart(const uint8_t* data, size_t len) {
  if (len < 4) return false;
  char word[4];
  for (size_t i = 0; i < 4; ++i) word[i] = char(std::toupper(data[i]));
  const std::string_view w(word, 4);
  return w == "EHLO" || w == "HELO" || w == "QUIT";
}

}  // namespace vigil::app

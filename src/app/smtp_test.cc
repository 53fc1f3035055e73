#include "app/smtp.h"

#include <gtest/gtest.h>

#include <string_view>

namespace vigil::app {
namespace {

bool Starts(std::string_view s) {
  return IsSmtpClientStart(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(SmtpDetection, ClientOpeningCommands) {
  EXPECT_TRUE(Starts("EHLO mail.example.com\r\n"));
  EXPECT_TRUE(Starts("helo x\r\n"));
  EXPECT_TRUE(Starts("QUIT\r\n"));
  EXPECT_TRUE(Starts("EHLO"));
  EXPECT_FALSE(Starts("EHL"));  // too short to tell
  EXPECT_FALSE(Starts("MAIL FROM:<a@b>\r\n"));
  EXPECT_FALSE(Starts("GET / HTTP/1.1\r\n"));
  EXPECT_FALSE(Starts("220 mail.example.com ESMTP\r\n"));  // the server's banner is not the client
}

}  // namespace
}  // namespace vigil::app

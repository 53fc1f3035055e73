#include "base/ip_address.h"

#include <gtest/gtest.h>

namespace vigil::base {
namespace {

TEST(IpAddressTest, ParsesAndPrintsBothFamilies) {
  auto v4 = IpAddress::Parse("192.168.1.20");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->ToString(), "192.168.1.20");
  auto v6 = IpAddress::Parse("2001:db8::1");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->is_v6());
  EXPECT_EQ(v6->ToString(), "2001:db8::1");
  EXPECT_FALSE(IpAddress::Parse("300.1.1.1"));
  EXPECT_FALSE(IpAddress::Parse(""));
  EXPECT_FALSE(IpAddress::Parse("any"));
}

TEST(IpAddressTest, PrefixMatchRespectsFamilyAndPartialBytes) {
  auto a = *IpAddress::Parse("10.1.2.3");
  EXPECT_TRUE(a.InPrefix(*IpAddress::Parse("10.0.0.0"), 8));
  EXPECT_TRUE(a.InPrefix(*IpAddress::Parse("10.1.0.0"), 14));
  EXPECT_FALSE(a.InPrefix(*IpAddress::Parse("10.4.0.0"), 14));
  EXPECT_TRUE(a.InPrefix(*IpAddress::Parse("0.0.0.0"), 0));
  EXPECT_FALSE(a.InPrefix(*IpAddress::Parse("::"), 0));
}

}  // namespace
}  // namespace vigil::base

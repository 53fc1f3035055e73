#include "app/sha1.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil::app {
namespace {

std::string Hex(std::string_view data) {
  std::string f = Sha1Fingerprint(data);
  std::erase(f, ':');
  return f;
}

TEST(Sha1, Fips180Vectors) {
  EXPECT_EQ(Hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(Hex(std::string(1000000, 'a')), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  // Tails that need one and two padding blocks.
  EXPECT_EQ(Hex(std::string(55, 'x')), "cef734ba81a024479e09eb5a75b6ddae62e6abf1");
  EXPECT_EQ(Hex(std::string(56, 'x')), "901305367c259952f4e7af8323f480d59f81335b");
}

TEST(Sha1, FingerprintForm) {
  const std::string f = Sha1Fingerprint("abc");
  EXPECT_EQ(f, "a9:99:3e:36:47:06:81:6a:ba:3e:25:71:78:50:c2:6c:9c:d0:d8:9d");
  EXPECT_EQ(f.size(), 59u);
}

}  // namespace
}  // namespace vigil::app

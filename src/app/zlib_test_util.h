// Test helper: compresses bytes with zlib, as an HTTP server encodes a body (gzip, deflate).
//
//   std::string body = app::testing::Compress(page, app::testing::kGzip);
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <string_view>

namespace vigil::app::testing {

// zlib window bits: a gzip member, a zlib-wrapped deflate stream, a raw deflate stream.
inline constexpr int kGzip = 15 + 16;
inline constexpr int kZlib = 15;
inline constexpr int kRawDeflate = -15;

// `data` compressed in the format `window_bits` names.
inline std::string Compress(std::string_view data, int window_bits) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, uLong(data.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = uInt(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace vigil::app::testing

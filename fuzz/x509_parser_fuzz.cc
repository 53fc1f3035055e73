// x509_parser_fuzz: libFuzzer target for the X.509 certificate parser (app/x509.h).
//
// The input is a DER certificate. Invariants (abort on violation): the rendered names are at most
// four characters per input byte (an OID arc's digits, or three hex characters per OID byte, are
// the widest rendering) and the serial three; bytes appended after a certificate do not change
// what it parses to.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "app/x509.h"

namespace {

using namespace vigil;

void Require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view der(reinterpret_cast<const char*>(data), size);
  app::X509Fields f;
  if (!app::ParseX509(der, f)) return 0;
  Require(f.subject.size() <= 4 * size + 32 && f.issuer.size() <= 4 * size + 32);
  Require(f.serial.size() <= 3 * size);
  app::X509Fields again;
  Require(app::ParseX509(std::string(der) + "\x30\x00", again));
  Require(again.subject == f.subject && again.issuer == f.issuer && again.serial == f.serial);
  return 0;
}

// SHA-1 (FIPS 180-4), for the certificate fingerprints Suricata's tls.cert_fingerprint holds,
// which are SHA-1 digests by definition; not for anything that needs a secure hash.
//
//   std::string f = app::Sha1Fingerprint(der);   // "be:73:46:...", 59 characters
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::app {

[[nodiscard]] std::array<uint8_t, 20> Sha1(std::string_view data);
// The digest as 20 lowercase hexadecimal pairs joined by ':', as Suricata writes fingerprints.
[[nodiscard]] std::string Sha1Fingerprint(std::string_view data);

}  // namespace vigil::app

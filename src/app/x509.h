// X.509 certificates (RFC 5280, DER = Distinguished Encoding Rules) for the detector's
// tls.cert_subject, tls.cert_issuer and tls.cert_serial buffers: the fields Suricata reads from the
// first certificate of the server's chain, rendered as Suricata renders them (its x509-parser
// crate's Display of a Name):
//
//   app::X509Fields f;
//   if (app::ParseX509(der, f)) {
//     f.subject;  // "C=US, O=Google Trust Services, CN=GTS CA 1O1"
//     f.serial;   // "01:E3:B4:9A:A1:8D:8A:A9:81:25:69:50:B8" (the INTEGER's bytes, uppercase)
//   }
//
// A Name is its relative distinguished names in certificate order, joined by ", "; the attributes
// of one RDN (relative distinguished name) joined by " + "; each attribute "ABBREV=value" with
// ABBREV CN, C, L, ST, O, OU, DC or Email, else the OID registry's short name (serialNumber,
// streetAddress, businessCategory, ...), else "OID(2.5.4.99)". A value of a string type is its
// bytes (which must be UTF-8, else the whole name renders as "<X509Error: Invalid X.509 name>",
// as Suricata's does); a value of another type is its content in uppercase hexadecimal.
//
// What is checked is what decides whether Suricata has a certificate at all: the Certificate
// SEQUENCE with its TBSCertificate (version 1-3, serial INTEGER, algorithm, issuer and subject
// Names, validity, key info, then well-formed TLVs, the extensions each an OID and an OCTET
// STRING), the signature algorithm and the signature BIT STRING; bytes after the certificate are
// ignored. Extension values and times are not decoded (x509-parser also rejects some malformed
// ones: those certificates differ).
// Bounds: no recursion beyond the Name's three levels; the output is at most a few times the
// input. Cost: one pass over the certificate.
#pragma once

#include <string>
#include <string_view>

namespace vigil::app {

struct X509Fields {
  std::string subject;
  std::string issuer;
  std::string serial;
};

// The subject, issuer and serial of DER certificate `der` into `out`. False when it is not a
// certificate (out is then unspecified).
[[nodiscard]] bool ParseX509(std::string_view der, X509Fields& out);

}  // namespace vigil::app

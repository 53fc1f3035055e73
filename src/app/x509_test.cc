#include "app/x509.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "app/x509_test_cert.h"

namespace vigil::app {
namespace {

// A DER TLV (short or long length form).
std::string Tlv(uint8_t tag, std::string_view content) {
  std::string out(1, char(tag));
  const size_t n = content.size();
  if (n < 0x80) {
    out.push_back(char(n));
  } else if (n < 0x100) {
    out += std::string{char(0x81), char(n)};
  } else {
    out += std::string{char(0x82), char(n >> 8), char(n & 0xff)};
  }
  return out + std::string(content);
}

std::string Seq(std::string_view content) { return Tlv(0x30, content); }

// 2.5.4.N
std::string X520(uint8_t n) { return Tlv(0x06, std::string{0x55, 0x04, char(n)}); }

std::string Attribute(const std::string& oid, uint8_t tag, std::string_view value) {
  return Seq(oid + Tlv(tag, value));
}

std::string Rdn(const std::vector<std::string>& attributes) {
  std::string set;
  for (const std::string& a : attributes) set += a;
  return Tlv(0x31, set);
}

std::string Name(const std::vector<std::string>& rdns) {
  std::string seq;
  for (const std::string& r : rdns) seq += r;
  return Seq(seq);
}

const std::string kSha256Rsa = Seq(Tlv(0x06, FromHex("2a864886f70d01010b")) + Tlv(0x05, ""));

struct CertParts {
  std::string version = Tlv(0xa0, Tlv(0x02, "\x02"));
  std::string serial = Tlv(0x02, "\x01\x02");
  std::string issuer = Name({Rdn({Attribute(X520(3), 0x13, "Issuer CA")})});
  std::string validity = Seq(Tlv(0x17, "200101000000Z") + Tlv(0x18, "20300101000000Z"));
  std::string subject = Name({Rdn({Attribute(X520(3), 0x0c, "example.com")})});
  std::string key = Seq(Seq(Tlv(0x06, FromHex("2a864886f70d010101")) + Tlv(0x05, "")) +
                        Tlv(0x03, std::string("\0\x30\x00", 3)));
  std::string extensions =
      Tlv(0xa3, Seq(Seq(Tlv(0x06, "\x55\x1d\x13") + Tlv(0x04, std::string("\x30\x00", 2)))));
  std::string signature = Tlv(0x03, std::string("\0\x01\x02", 3));

  std::string Der() const {
    return Seq(Seq(version + serial + kSha256Rsa + issuer + validity + subject + key + extensions) +
               kSha256Rsa + signature);
  }
};

TEST(X509, RealCertificateAsSuricataRendersIt) {
  X509Fields f;
  ASSERT_TRUE(ParseX509(FromHex(kDnsGoogleHex), f));
  EXPECT_EQ(f.subject, "C=US, ST=California, L=Mountain View, O=Google LLC, CN=dns.google");
  EXPECT_EQ(f.issuer, "C=US, O=Google Trust Services, CN=GTS CA 1O1");
  // The INTEGER's content bytes, its leading zero included (the serial's top bit is set).
  EXPECT_EQ(f.serial, "00:9B:DD:D5:38:0C:EF:68:46:02:00:00:00:00:47:D8:B0");
}

TEST(X509, EveryPrefixOfARealCertificateIsRejected) {
  const std::string der = FromHex(kDnsGoogleHex);
  X509Fields f;
  for (size_t n = 0; n < der.size(); ++n) {
    EXPECT_FALSE(ParseX509(std::string_view(der).substr(0, n), f)) << n;
  }
  // Bytes after the certificate are not its business.
  EXPECT_TRUE(ParseX509(der + "trailing", f));
}

TEST(X509, NameRendering) {
  CertParts c;
  c.subject = Name({
      Rdn({Attribute(X520(6), 0x13, "US")}),
      Rdn({Attribute(X520(3), 0x13, "Test1"), Attribute(X520(3), 0x0c, "Test2")}),
      Rdn({Attribute(X520(5), 0x13, "1234")}),  // serialNumber: the registry's short name
      Rdn({Attribute(Tlv(0x06, FromHex("2a864886f70d010901")), 0x16, "a@b.c")}),  // Email
      Rdn({Attribute(Tlv(0x06, FromHex("0992268993f22c640119")), 0x16, "org")}),  // DC
      Rdn({Attribute(X520(99), 0x13, "x")}),                         // unknown: OID(...)
      Rdn({Attribute(X520(45), 0x03, std::string("\x00\xab", 2))}),  // not a string: uppercase hex
  });
  X509Fields f;
  ASSERT_TRUE(ParseX509(c.Der(), f));
  EXPECT_EQ(f.subject,
            "C=US, CN=Test1 + CN=Test2, serialNumber=1234, Email=a@b.c, DC=org, OID(2.5.4.99)=x, "
            "uniqueIdentifier=00AB");
  EXPECT_EQ(f.issuer, "CN=Issuer CA");
  EXPECT_EQ(f.serial, "01:02");
}

TEST(X509, EmptyNameAndUnprintableValue) {
  CertParts c;
  c.subject = Name({});
  c.issuer =
      Name({Rdn({Attribute(X520(3), 0x0c, "ok")}), Rdn({Attribute(X520(10), 0x0c, "\xff")})});
  X509Fields f;
  ASSERT_TRUE(ParseX509(c.Der(), f));
  EXPECT_EQ(f.subject, "");
  // A string value that is not UTF-8 spoils the whole name, as x509-parser's Display does.
  EXPECT_EQ(f.issuer, "<X509Error: Invalid X.509 name>");
  // Overlong forms and surrogates are not UTF-8 either; a BMPString's bytes are taken as they are.
  c.issuer = Name({Rdn({Attribute(X520(3), 0x0c, "\xc0\xaf")})});
  ASSERT_TRUE(ParseX509(c.Der(), f));
  EXPECT_EQ(f.issuer, "<X509Error: Invalid X.509 name>");
  c.issuer = Name({Rdn({Attribute(X520(3), 0x0c, "\xed\xa0\x80")})});
  ASSERT_TRUE(ParseX509(c.Der(), f));
  EXPECT_EQ(f.issuer, "<X509Error: Invalid X.509 name>");
  c.issuer = Name({Rdn({Attribute(X520(3), 0x1e, std::string("\0h\0i", 4))})});
  ASSERT_TRUE(ParseX509(c.Der(), f));
  EXPECT_EQ(f.issuer, std::string("CN=\0h\0i", 7));
  c.issuer = Name({Rdn({Attribute(X520(3), 0x0c, "caf\xc3\xa9")})});
  ASSERT_TRUE(ParseX509(c.Der(), f));
  EXPECT_EQ(f.issuer, "CN=caf\xc3\xa9");
}

TEST(X509, LongOidArcsAsHex) {
  CertParts c;
  // An arc of 10 base-128 bytes does not fit 64 bits: the OID's bytes in hex.
  const std::string oid = std::string("\x2a") + std::string(9, char(0x81)) + "\x01";
  c.subject = Name({Rdn({Attribute(Tlv(0x06, oid), 0x13, "v")})});
  X509Fields f;
  ASSERT_TRUE(ParseX509(c.Der(), f));
  EXPECT_EQ(f.subject, "OID(2a 81 81 81 81 81 81 81 81 81 01)=v");
  // Nine bytes fit.
  c.subject = Name({Rdn({Attribute(Tlv(0x06, std::string("\x2a\x81\x00", 3)), 0x13, "v")})});
  ASSERT_TRUE(ParseX509(c.Der(), f));
  EXPECT_EQ(f.subject, "OID(1.2.128)=v");
}

TEST(X509, StructureChecks) {
  X509Fields f;
  {
    CertParts c;
    c.version = "";  // v1: no version field
    c.extensions = "";
    EXPECT_TRUE(ParseX509(c.Der(), f));
  }
  {
    CertParts c;
    c.version = Tlv(0xa0, Tlv(0x02, "\xff"));  // negative
    EXPECT_FALSE(ParseX509(c.Der(), f));
  }
  {
    CertParts c;
    c.serial = Tlv(0x04, "\x01");  // not an INTEGER
    EXPECT_FALSE(ParseX509(c.Der(), f));
  }
  {
    CertParts c;
    c.subject = Name({Tlv(0x31, "")});  // an empty RDN
    EXPECT_FALSE(ParseX509(c.Der(), f));
  }
  {
    CertParts c;
    c.subject = Name({Rdn({Seq(Tlv(0x13, "no oid"))})});
    EXPECT_FALSE(ParseX509(c.Der(), f));
  }
  {
    CertParts c;
    c.validity = Seq(Tlv(0x17, "200101000000Z") + Tlv(0x04, "x"));
    EXPECT_FALSE(ParseX509(c.Der(), f));
  }
  {
    CertParts c;
    c.signature = Tlv(0x04, "sig");
    EXPECT_FALSE(ParseX509(c.Der(), f));
  }
  {
    CertParts c;
    c.extensions = Tlv(0xa3, "\x30\x05");  // a TLV longer than its container
    EXPECT_FALSE(ParseX509(c.Der(), f));
  }
  // Indefinite lengths are BER, not DER.
  EXPECT_FALSE(ParseX509(std::string("\x30\x80", 2) + CertParts().Der() + std::string(2, '\0'), f));
  EXPECT_FALSE(ParseX509("", f));
}

}  // namespace
}  // namespace vigil::app

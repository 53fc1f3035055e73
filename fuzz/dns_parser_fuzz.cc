// dns_parser_fuzz: libFuzzer target for the DNS parser (app/dns.h).
//
// Byte 0 picks the mode: even, the rest is one message for ParseDns; odd, it is one direction of
// a TCP stream, fed to a DnsTcpStream in pieces of (byte 0 >> 1) + 1 bytes.
// Invariants (abort on violation): a parsed message keeps at most kMaxQuestions questions and
// kMaxAnswers answers, every name at most 255 bytes; the TCP stream yields at most one message
// per two bytes it was fed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "app/dns.h"

namespace {

using namespace vigil;

void Require(bool ok) {
  if (!ok) std::abort();
}

void Check(const app::DnsMessage& m) {
  Require(m.queries.size() <= app::kMaxQuestions);
  Require(m.answers.size() <= app::kMaxAnswers);
  for (const auto& q : m.queries) Require(q.name.size() <= 255);
  for (const auto& a : m.answers) Require(a.name.size() <= 255);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  app::DnsStats stats;
  if ((data[0] & 1) == 0) {
    app::DnsMessage msg;
    if (app::ParseDns(data + 1, size - 1, msg, stats)) Check(msg);
    return 0;
  }
  const size_t piece = size_t(data[0] >> 1) + 1;
  app::DnsTcpStream tcp;
  std::vector<app::DnsMessage> out;
  for (size_t i = 1; i < size; i += piece) {
    tcp.Feed(true, data + i, std::min(piece, size - i), stats, out);
  }
  Require(out.size() <= size / 2);
  for (const auto& m : out) Check(m);
  return 0;
}

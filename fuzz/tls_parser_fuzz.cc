// tls_parser_fuzz: libFuzzer target for the TLS handshake parser (app/tls.h).
//
// The input is a little program, as http_parser_fuzz's: each instruction is a control byte (bit
// 7: direction, bit 6: a gap before the piece, bits 0-5: piece length) followed by that many bytes,
// fed as one in-order piece of that direction.
// Invariants (abort on violation): each stage is reported at most once; at most kMaxCertificates
// certificates are kept; an event's handshake holds what the stage says.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "app/tls.h"

namespace {

using namespace vigil;

void Require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  app::TlsFlow flow;
  app::TlsStats stats;
  std::vector<app::TlsStage> events;
  size_t i = 0;
  int seen[app::kTlsStageCount] = {};
  while (i < size) {
    const uint8_t control = data[i++];
    const size_t n = std::min<size_t>(control & 0x3f, size - i);
    const bool to_server = (control & 0x80) == 0;
    events.clear();
    if (control & 0x40) flow.Gap(to_server, stats);
    flow.Feed(to_server, data + i, n, stats, events);
    i += n;
    for (app::TlsStage e : events) {
      Require(++seen[size_t(e)] == 1);
      const app::TlsHandshake& hs = flow.handshake();
      Require(e == app::TlsStage::kClientHello   ? hs.client_hello && hs.ja3_hash.size() == 32
              : e == app::TlsStage::kServerHello ? hs.server_hello && hs.ja3s_hash.size() == 32
                                                 : hs.server_certificate);
    }
    Require(flow.handshake().certs.size() <= app::kMaxCertificates);
  }
  return 0;
}

// http_parser_fuzz: libFuzzer target for the HTTP/1.x parser (app/http.h).
//
// The input is a little program: byte 0 picks small bounds (header, URI and body caps, pending
// transactions) so that the truncation paths run; then each instruction is a control byte (bit 7:
// direction, bit 6: a gap before the piece, bits 0-5: piece length) followed by that many bytes,
// fed as one in-order piece of that direction (a short read feeds what is left); a gap bit with
// length 0 is the direction's close (Close) instead. Bodies may be gzip / deflate encoded (the
// seeds carry some): decoding runs on what the fuzzer makes of them.
// Invariants (abort on violation): every event's transaction is alive and its stage flags are set;
// every buffer stays within its cap; each stage is reported at most once per transaction; the
// flow keeps at most max_pending transactions after BeginPacket beyond those created since.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <utility>
#include <vector>

#include "app/http.h"

namespace {

using namespace vigil;

void Require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  app::HttpConfig config;
  config.max_header_bytes = 64u << (data[0] & 3);
  config.max_uri_bytes = 32u << ((data[0] >> 2) & 3);
  config.max_body_bytes = 16u << ((data[0] >> 4) & 3);
  config.max_pending = 1u + ((data[0] >> 6) & 3);
  config.max_response_body_bytes = 2 * config.max_body_bytes;
  app::HttpFlow flow;
  app::HttpStats stats;
  std::vector<app::HttpEvent> events;
  std::map<std::pair<uint64_t, int>, int> reported;
  size_t i = 1;
  while (i < size) {
    uint8_t control = data[i++];
    size_t n = std::min<size_t>(control & 0x3f, size - i);
    bool to_server = (control & 0x80) == 0;
    flow.BeginPacket(config, stats);
    events.clear();
    if ((control & 0x40) && n == 0) flow.Close(to_server, events);
    if ((control & 0x40) && n > 0) flow.Gap(to_server, stats);
    size_t before = flow.transactions().size();
    flow.Feed(to_server, data + i, n, config, stats, events);
    i += n;
    for (const app::HttpEvent& e : events) {
      bool alive = false;
      for (const app::HttpTransaction& tx : flow.transactions()) alive |= &tx == e.tx;
      Require(alive);
      switch (e.stage) {
        case app::HttpStage::kRequestHeaders:
          Require(e.tx->request_headers_done);
          break;
        case app::HttpStage::kRequestComplete:
          Require(e.tx->request_done);
          break;
        case app::HttpStage::kResponseHeaders:
          Require(e.tx->response_headers_done);
          break;
        case app::HttpStage::kResponseComplete:
          Require(e.tx->response_body_done);
          Require(!e.tx->Buffer(app::HttpBuffer::kResponseBody).empty());
          break;
      }
      Require(++reported[{e.tx->id, int(e.stage)}] == 1);
    }
    for (const app::HttpTransaction& tx : flow.transactions()) {
      Require(tx.Buffer(app::HttpBuffer::kRequestBody).size() <= config.max_body_bytes);
      Require(tx.Buffer(app::HttpBuffer::kResponseBody).size() <= config.max_response_body_bytes);
      Require(tx.Buffer(app::HttpBuffer::kRequestHeaderNames).size() <= config.max_header_bytes);
      Require(tx.Buffer(app::HttpBuffer::kResponseHeaderNames).size() <= config.max_header_bytes);
      Require(tx.Buffer(app::HttpBuffer::kRawUri).size() <= config.max_uri_bytes);
      Require(tx.Buffer(app::HttpBuffer::kRequestHeader).size() <= config.max_header_bytes);
      Require(tx.Buffer(app::HttpBuffer::kResponseHeader).size() <= config.max_header_bytes);
    }
    Require(flow.transactions().size() <= std::max<size_t>(before, config.max_pending) + n);
  }
  return 0;
}

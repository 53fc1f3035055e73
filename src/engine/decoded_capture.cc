#include "engine/decoded_capture.h"

#include "decode/decoder.h"
#include "io/capture_source.h"
#include "packet/batch.h"

namespace vigil::engine {

base::Result<DecodedCapture> DecodedCapture::Load(const std::string& path) {
  auto source = io::CaptureSource::Open(path);
  if (!source) return source.error();
  DecodedCapture c;
  packet::Batch batch;
  decode::Decoder decoder;
  while (true) {
    batch.Clear();
    auto n = (*source)->ReadBatch(batch);
    if (!n) return n.error();
    if (*n == 0) break;
    for (const packet::Packet& p : batch) {
      c.frames.emplace_back(p.data, p.data + p.caplen);
      packet::Packet copy = p;
      copy.data = c.frames.back().data();
      decoder.Decode(copy);
      c.packets.push_back(copy);
      c.bytes += p.caplen;
    }
  }
  return c;
}

}  // namespace vigil::engine

#include "engine/decoded_capture.h"

#include "decode/decoder.h"
#include "io/capture_source.h"
#include "packet/batch.h"

namespace vigil::engine {

base::Result<DecodedCapture> DecodedCapture::Load(const std::string& path) {
  DecodedCapture c;
  decode::Decoder decoder;
  auto status = io::ForEachPacket(path, [&](const packet::Packet& p) {
    c.frames.emplace_back(p.data, p.data + p.caplen);
    packet::Packet copy = p;
    copy.data = c.frames.back().data();
    decoder.Decode(copy);
    c.packets.push_back(copy);
    c.bytes += p.caplen;
  });
  if (!status) return status.error();
  return c;
}

}  // namespace vigil::engine

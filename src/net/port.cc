#include "net/port.h"

#include "net/af_packet.h"
#include "net/af_xdp.h"

namespace vigil::net {

void FinishChecksum(std::span<uint8_t> frame, const Offload& o) {
  const size_t field = size_t(o.csum_start) + o.csum_offset;
  if (field + 2 > frame.size() || o.csum_start >= frame.size()) return;
  uint64_t sum = 0;
  const uint8_t* p = frame.data() + o.csum_start;
  size_t n = frame.size() - o.csum_start;
  for (; n >= 2; p += 2, n -= 2) sum += uint16_t(p[0] << 8 | p[1]);
  if (n != 0) sum += uint16_t(p[0] << 8);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t c = uint16_t(~sum);
  // UDP (its checksum at offset 6) sends a computed 0 as all ones: 0 means "none".
  if (c == 0 && o.csum_offset == 6) c = 0xffff;
  frame[field] = uint8_t(c >> 8);
  frame[field + 1] = uint8_t(c);
}

base::Result<std::unique_ptr<Port>> OpenPort(const PortOptions& options) {
  switch (options.backend) {
    case Backend::kAfPacket:
      return OpenAfPacket(options);
    case Backend::kAfXdp:
      return OpenAfXdp(options);
  }
  return base::MakeError(options.interface + ": capture backend not available");
}

base::Result<Backend> ParseBackend(std::string_view name) {
  if (name == "afpacket") return Backend::kAfPacket;
  if (name == "afxdp") return Backend::kAfXdp;
  return base::MakeError("unknown capture backend '" + std::string(name) + "' (afpacket, afxdp)");
}

}  // namespace vigil::net

#include "net/port.h"

#include "net/af_packet.h"

namespace vigil::net {

base::Result<std::unique_ptr<Port>> OpenPort(const PortOptions& options) {
  switch (options.backend) {
    case Backend::kAfPacket:
      return OpenAfPacket(options);
    case Backend::kAfXdp:
      break;
  }
  return base::MakeError(options.interface + ": capture backend not available");
}

base::Result<Backend> ParseBackend(std::string_view name) {
  if (name == "afpacket") return Backend::kAfPacket;
  return base::MakeError("unknown capture backend '" + std::string(name) + "' (afpacket)");
}

}  // namespace vigil::net

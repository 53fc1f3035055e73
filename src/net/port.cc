#include "net/port.h"

#include "net/af_packet.h"
#include "net/af_xdp.h"

namespace vigil::net {

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

// ProgramChain: a tenant's ingress programs — ordinary XDP objects (`clang -target bpf`), the
// offloads vigil ships (offloads/*.bpf.c) or the tenant's own — run in order on each of its
// packets before the IPS sees it, as the kernel runs an XDP program before its stack:
//
//   tenants:
//     - name: web
//       match: { prefixes: [10.77.0.2/32] }
//       programs:
//         - synproxy                                   # an offload, by name
//         - program: /etc/vigil/filters/udp_guard.o   # a path (relative: to the config file)
//           section: xdp                               # optional: the object's first program
//           maps:                                      # elements written before the first packet
//             blocked: [[0, 7777]]                     # [key, value] pairs (MapEntrySpec)
//
//   auto chain = tenant::ProgramChain::Load(spec.programs);   // verifies every program
//   ebpf::XdpBuffer buffer;  buffer.Assign(frame);
//   auto verdict = (*chain)->Run(scratch, buffer, {.ingress_ifindex = 3});
//   // kXdpPass: on to the IPS, as rewritten in `buffer`; kXdpTx: back out of the interface it
//   // came in on; kXdpRedirect: to verdict.redirect_ifindex; anything else: dropped.
//
// The first program that does not return XDP_PASS ends the chain with its verdict. Redirects:
// to an interface (bpf_redirect, a device map) the link's other interface is forwarded, the one
// it came in on sent back, any other counted and dropped (capture.redirect_errors); to a CPU (a
// CPU map) the packet goes on to the IPS on the worker that has its flow, as XDP_PASS; to an
// AF_XDP socket (an XSK map) is not served: counted and dropped. Every program
// is proven safe by vigil's verifier when it loads (ebpf::Program::Load); a chain that does not
// load names the tenant's program, the file and the reason.
//
// Sharing: one chain (and its maps) serves every worker, so that a rate limit or a connection
// table is one for the tenant, as in the kernel. vigil's maps are not synchronized (ebpf/maps.h),
// so runs of one chain take turns under a lock; different tenants' chains run in parallel.
// Reloads keep a tenant's chain, maps and all, when its programs and their object files are
// unchanged (Reusable), so a reload does not forget the SYN proxy's connections.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "ebpf/elf_loader.h"
#include "ebpf/scratch.h"
#include "ebpf/xdp.h"
#include "tenant/tenant_table.h"

namespace vigil::tenant {

// The object file of `object` (ProgramSpec::object): a path (anything with a '/' or ending in
// ".o") as it is; a name is an offload, `NAME.bpf.o`, looked for in $VIGIL_OFFLOAD_PATH (a
// colon-separated list), next to the vigil binary (../share/vigil/offloads), in the build tree and
// in the install prefix. Fails naming every place it looked.
[[nodiscard]] base::Result<std::string> ResolveProgramObject(std::string_view object);

class ProgramChain {
 public:
  struct Verdict {
    ebpf::XdpAction action = ebpf::kXdpPass;
    uint32_t redirect_ifindex = 0;  // kXdpRedirect
  };

  // Loads and verifies every program of `specs` with fresh maps, and writes their map entries.
  // `tenant` names the chain in errors.
  [[nodiscard]] static base::Result<std::shared_ptr<ProgramChain>> Load(
      const std::vector<ProgramSpec>& specs, std::string_view tenant);

  // Whether this chain was loaded from `specs` and none of its object files has changed since.
  [[nodiscard]] bool Reusable(const std::vector<ProgramSpec>& specs) const;

  // Runs the chain on `buffer` (rewritten in place, as the programs leave it).
  [[nodiscard]] Verdict Run(ebpf::Scratch& scratch, ebpf::XdpBuffer& buffer,
                            const ebpf::XdpRxInfo& rx) const;

  [[nodiscard]] size_t size() const { return stages_.size(); }
  // The maps of program `i` (for the control plane and tests).
  [[nodiscard]] const ebpf::ElfObject::Loaded& loaded(size_t i) const { return stages_[i].loaded; }

 private:
  struct FileStamp {
    std::string path;
    uint64_t size = 0;
    timespec mtime{};
    bool operator==(const FileStamp& o) const {
      return path == o.path && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
             mtime.tv_nsec == o.mtime.tv_nsec;
    }
  };
  struct Stage {
    ProgramSpec spec;
    FileStamp file;
    ebpf::ElfObject::Loaded loaded;
  };
  static base::Result<FileStamp> Stamp(const std::string& path);

  std::vector<Stage> stages_;
  mutable std::mutex mu_;
};

}  // namespace vigil::tenant

// pcap_fuzz: libFuzzer target for capture input (io::CaptureSource over libpcap, pcap and
// pcapng). The input is written to a file, as a user's capture would be, read to the end or to
// its first error, and every delivered packet is decoded and its bytes touched so that a wrong
// length shows up under AddressSanitizer. An error must name the file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "decode/decoder.h"
#include "io/capture_source.h"
#include "packet/batch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/vigil_pcap_fuzz_" + std::to_string(getpid()) + ".pcap";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);

  auto source = vigil::io::CaptureSource::Open(path);
  if (!source) {
    if (source.error().file != path) std::abort();
    return 0;
  }
  vigil::decode::Decoder decoder;
  vigil::packet::Batch batch;
  volatile uint8_t sink = 0;
  for (int rounds = 0; rounds < 10000; ++rounds) {
    batch.Clear();
    auto n = (*source)->ReadBatch(batch);
    if (!n) {
      if (n.error().file != path) std::abort();
      break;
    }
    if (*n == 0) break;
    decoder.DecodeBatch(batch);
    for (const vigil::packet::Packet& p : batch) {
      for (uint32_t i = 0; i < p.caplen; ++i) sink = sink + p.data[i];
    }
  }
  return 0;
}

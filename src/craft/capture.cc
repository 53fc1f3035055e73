#include "craft/capture.h"

#include "io/pcap_writer.h"

namespace vigil::craft {

packet::Timestamp AddNanoseconds(packet::Timestamp ts, uint64_t ns) {
  constexpr uint64_t kBillion = 1'000'000'000;
  uint64_t nsec = ts.nsec + ns % kBillion;
  ts.sec += static_cast<int64_t>(ns / kBillion + nsec / kBillion);
  ts.nsec = static_cast<uint32_t>(nsec % kBillion);
  return ts;
}

Capture::Capture(CaptureOptions options) : options_(options), next_(options.start) {}

Capture& Capture::Add(Bytes frame) { return AddAt(next_, std::move(frame)); }

Capture& Capture::Add(const std::vector<Bytes>& frames) {
  for (const Bytes& f : frames) Add(f);
  return *this;
}

Capture& Capture::AddAt(packet::Timestamp ts, Bytes frame) {
  records_.push_back({ts, std::move(frame)});
  next_ = AddNanoseconds(ts, options_.step_ns);
  return *this;
}

Capture& Capture::Wait(uint64_t ns) {
  next_ = AddNanoseconds(next_, ns);
  return *this;
}

base::Status Capture::WriteTo(const std::string& path) const {
  auto writer = io::PcapWriter::Open(path, options_.linktype, io::PcapWriter::kDefaultSnaplen,
                                     options_.nanosecond);
  if (!writer) return writer.error();
  for (const Record& r : records_) {
    const auto len = static_cast<uint32_t>(r.data.size());
    if (auto s = (*writer)->Write(r.data.data(), len, len, r.ts); !s) return s;
  }
  return (*writer)->Close();
}

}  // namespace vigil::craft

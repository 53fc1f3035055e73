#include "output/alert_writers.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace vigil::output {
namespace {

constexpr size_t kFlushAt = 64 * 1024;
constexpr uint8_t kProtoGre = 47;  // generic routing encapsulation

std::string Endpoint(const base::IpAddress& ip, uint16_t port, bool with_port) {
  std::string a = ip.ToString();
  if (!with_port) return a;
  if (ip.is_v6()) return fmt::format("[{}]:{}", a, port);
  return fmt::format("{}:{}", a, port);
}

// 64-bit mix (splitmix64's finalizer).
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t HashEndpoint(const base::IpAddress& ip, uint16_t port) {
  uint64_t h = port;
  for (size_t i = 0; i < 16; i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, ip.bytes.data() + i, 8);
    h = Mix(h ^ w);
  }
  return h;
}

void AppendBase64(std::string& out, const uint8_t* data, size_t len) {
  static constexpr char kDigits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = uint32_t(data[i]) << 16 | uint32_t(data[i + 1]) << 8 | data[i + 2];
    out += kDigits[v >> 18];
    out += kDigits[(v >> 12) & 63];
    out += kDigits[(v >> 6) & 63];
    out += kDigits[v & 63];
  }
  if (i < len) {
    uint32_t v = uint32_t(data[i]) << 16 | (i + 1 < len ? uint32_t(data[i + 1]) << 8 : 0);
    out += kDigits[v >> 18];
    out += kDigits[(v >> 12) & 63];
    out += i + 1 < len ? kDigits[(v >> 6) & 63] : '=';
    out += '=';
  }
}

bool IsReject(rules::Action a) {
  return a == rules::Action::kReject || a == rules::Action::kRejectSrc ||
         a == rules::Action::kRejectDst || a == rules::Action::kRejectBoth;
}

}  // namespace

std::string Base64(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  AppendBase64(out, bytes.data(), bytes.size());
  return out;
}

DataLink DataLinkOf(packet::LinkType t) {
  using packet::LinkType;
  switch (t) {
    case LinkType::kNull:
      return {0, "NULL"};
    case LinkType::kEthernet:
      return {1, "EN10MB"};
    case LinkType::kPpp:
      return {9, "PPP"};
    case LinkType::kRaw:
      return {12, "RAW"};  // libpcap's DLT_RAW for LINKTYPE_RAW (101)
    case LinkType::kLoop:
      return {108, "n/a"};
    case LinkType::kLinuxSll:
      return {113, "LINUX_SLL"};
    case LinkType::kIpv4:
      return {228, "IPv4"};
    case LinkType::kIpv6:
      return {229, "IPv6"};
    case LinkType::kLinuxSll2:
      return {276, "LINUX_SLL2"};
  }
  return {uint32_t(t), "n/a"};
}

PacketVerdict VerdictOf(const packet::Packet& p, std::span<const detect::Alert> alerts,
                        bool inline_mode) {
  PacketVerdict v;
  bool drop = false, pass = false;
  for (const detect::Alert& a : alerts) {
    if (IsReject(a.action) && v.reject_target == nullptr) {
      v.reject_target = a.action == rules::Action::kRejectDst    ? "to_server"
                        : a.action == rules::Action::kRejectBoth ? "both"
                                                                 : "to_client";
    }
    drop |= a.wants_drop;
    pass |= a.action == rules::Action::kPass;
  }
  if (v.reject_target != nullptr) {
    v.action = inline_mode ? "drop" : "alert";
  } else if (drop && inline_mode) {
    v.action = "drop";
  } else if (pass) {
    v.action = "pass";
  }
  (void)p;
  return v;
}

uint64_t FlowId(const packet::Packet& p) {
  // Summing the two endpoint hashes makes the id the same for both directions.
  uint64_t h = HashEndpoint(p.src_ip, p.src_port) + HashEndpoint(p.dst_ip, p.dst_port);
  h = Mix(h ^ (uint64_t(p.ip_proto) << 32) ^ (uint64_t(p.vlan_ids[0]) << 40));
  return (h & ((uint64_t(1) << 51) - 1)) | 1;
}

std::string EveAddress(const base::IpAddress& a) {
  if (!a.is_v6()) return a.ToString();
  std::string out;
  for (int i = 0; i < 16; i += 2) {
    if (i > 0) out += ':';
    out += fmt::format("{:02x}{:02x}", a.bytes[size_t(i)], a.bytes[size_t(i) + 1]);
  }
  return out;
}

std::string ProtoName(const packet::Packet& p) {
  switch (p.ip_proto) {
    case packet::kProtoTcp:
      return "TCP";
    case packet::kProtoUdp:
      return "UDP";
    case packet::kProtoIcmp:
      return "ICMP";
    case packet::kProtoIcmpv6:
      return "IPV6-ICMP";
    case packet::kProtoIpip:
      return "IP-in-IP";
    case packet::kProtoIpv6:
      return "IPv6";
    case kProtoGre:
      return "GRE";
    case 50:
      return "ESP";
    case 51:
      return "AH";
    case 132:
      return "SCTP";
    default:
      return fmt::format("{}", p.ip_proto);
  }
}

void AppendJsonEscaped(std::string& out, std::string_view s) {
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += char(c);
        }
    }
  }
}

base::Result<std::unique_ptr<BufferedFile>> BufferedFile::Open(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return base::Error{std::strerror(errno), path};
  return std::unique_ptr<BufferedFile>(new BufferedFile(f, path));
}

BufferedFile::~BufferedFile() {
  (void)Flush();
  std::fclose(file_);
}

void BufferedFile::Append(std::string_view s) {
  buffer_ += s;
  if (buffer_.size() >= kFlushAt) (void)Flush();
}

base::Status BufferedFile::Flush() {
  if (!buffer_.empty()) {
    size_t n = std::fwrite(buffer_.data(), 1, buffer_.size(), file_);
    buffer_.clear();
    if (n == 0) return base::Error{"write failed", path_};
  }
  if (std::fflush(file_) != 0) return base::Error{std::strerror(errno), path_};
  return {};
}

base::Result<std::unique_ptr<AlertFastWriter>> AlertFastWriter::Open(const std::string& path) {
  auto f = BufferedFile::Open(path);
  if (!f) return f.error();
  return std::unique_ptr<AlertFastWriter>(new AlertFastWriter(std::move(*f)));
}

void AlertFastWriter::Write(const packet::Packet& p, const detect::Alert& a, bool alert_only) {
  const detect::CompiledRule& cr = *a.rule;
  std::time_t t = std::time_t(p.ts.sec);
  std::tm tm{};
  localtime_r(&t, &tm);
  bool ports = p.has_tcp || p.has_udp;
  line_.clear();
  fmt::format_to(std::back_inserter(line_), "{:02}/{:02}-{:02}:{:02}:{:02}.{:06} ", tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, p.ts.nsec / 1000);
  if (a.wants_drop) line_ += alert_only ? "[wDrop] " : "[Drop] ";
  fmt::format_to(std::back_inserter(line_), "[**] [{}:{}:{}] \"{}\" [**] ", cr.rule.gid,
                 cr.rule.sid, cr.rule.rev, cr.rule.msg);
  if (!cr.class_description.empty()) {
    fmt::format_to(std::back_inserter(line_), "[Classification: {}] ", cr.class_description);
  }
  fmt::format_to(std::back_inserter(line_), "[Priority: {}] {{{}}} {} -> {}\n", cr.priority,
                 ProtoName(p), Endpoint(p.src_ip, p.src_port, ports),
                 Endpoint(p.dst_ip, p.dst_port, ports));
  file_->Append(line_);
}

base::Result<std::unique_ptr<EveWriter>> EveWriter::Open(const std::string& path,
                                                         bool inline_mode) {
  auto f = BufferedFile::Open(path);
  if (!f) return f.error();
  return std::unique_ptr<EveWriter>(new EveWriter(std::move(*f), inline_mode));
}

void EveWriter::Write(const packet::Packet& p, const detect::Alert& a, const AlertMeta& meta) {
  FormatEveAlert(line_, p, a, meta, inline_mode_);
  file_->Append(line_);
}

void FormatEveAlert(std::string& line, const packet::Packet& p, const detect::Alert& a,
                    const AlertMeta& meta, bool inline_mode) {
  inline_mode = inline_mode && !meta.alert_only;
  const detect::CompiledRule& cr = *a.rule;
  std::time_t t = std::time_t(p.ts.sec);
  std::tm tm{};
  localtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  char zone[8];
  std::strftime(zone, sizeof zone, "%z", &tm);
  line.clear();
  auto out = std::back_inserter(line);
  fmt::format_to(out, R"({{"timestamp":"{}.{:06}{}","flow_id":{},"pcap_cnt":{},)", when,
                 p.ts.nsec / 1000, zone, meta.flow_id != 0 ? meta.flow_id : FlowId(p), p.number);
  fmt::format_to(out, R"("event_type":"alert","src_ip":"{}",)", EveAddress(p.src_ip));
  if (p.has_tcp || p.has_udp) fmt::format_to(out, R"("src_port":{},)", p.src_port);
  fmt::format_to(out, R"("dest_ip":"{}",)", EveAddress(p.dst_ip));
  if (p.has_tcp || p.has_udp) fmt::format_to(out, R"("dest_port":{},)", p.dst_port);
  // As Suricata names the stage that made the packet: the defragmenter, else the decoder of the
  // tunnel (GRE, or the IPv4 or IPv6 header carrying IP) that held it, else the capture.
  const char* source = "wire/pcap";
  if (meta.rebuilt) {
    source = "defrag";
  } else if (p.outer != nullptr) {
    source = p.outer->ip_proto == kProtoGre ? "gre tunnel"
             : p.outer->ip_version == 6     ? "ipv6 tunnel"
                                            : "ipv4 tunnel";
  }
  fmt::format_to(out, R"("proto":"{}","ip_v":{},"pkt_src":"{}",)", ProtoName(p), p.ip_version,
                 source);
  if (p.outer != nullptr) {
    fmt::format_to(out, R"("tunnel":{{"src_ip":"{}","dest_ip":"{}","proto":"{}","depth":{}}},)",
                   EveAddress(p.outer->src_ip), EveAddress(p.outer->dst_ip), ProtoName(*p.outer),
                   [&] {
                     int d = 0;
                     for (const packet::Packet* o = p.outer; o != nullptr; o = o->outer) ++d;
                     return d;
                   }());
  }
  if (p.has_icmp) {
    fmt::format_to(out, R"("icmp_type":{},"icmp_code":{},)", p.icmp_type, p.icmp_code);
  }
  // Whether the match was on reassembled stream data or on the packet's own bytes.
  fmt::format_to(out, R"("stream":{},)", a.in_stream ? 1 : 0);
  const char* action = a.wants_drop && inline_mode ? "blocked" : "allowed";
  fmt::format_to(out, R"("alert":{{"action":"{}","gid":{},"signature_id":{},"rev":{},)", action,
                 cr.rule.gid, cr.rule.sid, cr.rule.rev);
  line += R"("signature":")";
  AppendJsonEscaped(line, cr.rule.msg);
  line += R"(","category":")";
  AppendJsonEscaped(line, cr.class_description);
  fmt::format_to(out, R"(","severity":{}}},)", cr.priority);
  // The packet as captured (for a rebuilt datagram: the first fragment's link-layer header, then
  // the whole datagram), as Suricata's `packet: yes`.
  line += R"("packet":")";
  AppendBase64(line, p.data, p.caplen);
  DataLink link = DataLinkOf(p.linktype);
  fmt::format_to(out, R"(","packet_info":{{"linktype":{},"linktype_name":"{}"}},)", link.value,
                 link.name);
  PacketVerdict verdict = VerdictOf(
      p, meta.packet_alerts.empty() ? std::span<const detect::Alert>(&a, 1) : meta.packet_alerts,
      inline_mode);
  fmt::format_to(out, R"("verdict":{{"action":"{}")", verdict.action);
  if (verdict.reject_target != nullptr) {
    const char* reply = p.ip_proto == packet::kProtoTcp                 ? R"(["tcp-reset"])"
                        : p.ip_proto == packet::kProtoUdp || p.has_icmp ? R"(["icmp-prohib"])"
                                                                        : "[]";
    fmt::format_to(out, R"(,"reject-target":"{}","reject":{})", verdict.reject_target, reply);
  }
  line += "}}\n";
}

}  // namespace vigil::output

// Alert outputs: alert_fast (Snort 3's one-line format) and EVE JSON (Suricata's alert events),
// each a buffered file writer that the engine calls once per alert.
//
//   auto fast = AlertFastWriter::Open(dir + "/alert_fast.txt");
//   fast->Write(packet, alert);
//
// alert_fast line:
//   MM/DD-HH:MM:SS.uuuuuu [**] [gid:sid:rev] "msg" [**] [Classification: …] [Priority: N]
//   {PROTO} src:port -> dst:port
// (one line; the classification part only when the rule has a classtype, ports only for TCP and
// UDP, IPv6 addresses in brackets so the port stays unambiguous). Times are local, as in Snort
// and Suricata.
#pragma once

#include <cstdio>
#include <memory>
#include <span>
#include <string>

#include "base/result.h"
#include "detect/detector.h"
#include "packet/packet.h"

namespace vigil::output {

// A stable, direction-independent identifier of the packet's flow (5-tuple and VLAN), for EVE's
// flow_id: positive and below 2^51 like Suricata's.
[[nodiscard]] uint64_t FlowId(const packet::Packet& p);

// An address as EVE writes it (Suricata's form): dotted IPv4, or IPv6 as eight groups of four
// hex digits, uncompressed ("2001:0db8:0000:...").
[[nodiscard]] std::string EveAddress(const base::IpAddress& a);

// The protocol name as Snort and Suricata print it: TCP, UDP, ICMP, IPV6-ICMP, IP-in-IP, IPv6,
// GRE, ESP, AH, SCTP, or the number.
[[nodiscard]] std::string ProtoName(const packet::Packet& p);

// `bytes` in base64 (RFC 4648, with padding).
[[nodiscard]] std::string Base64(std::span<const uint8_t> bytes);

// A link-layer type as Suricata's EVE packet_info names it: libpcap's DLT value (raw IP is
// DLT_RAW, 12) and Suricata's name for it ("EN10MB", "LINUX_SLL", "RAW", "IPv6", ...; "n/a" for
// one Suricata does not name).
struct DataLink {
  uint32_t value;
  const char* name;
};
[[nodiscard]] DataLink DataLinkOf(packet::LinkType t);

// Appends `s` to `out` as the body of a JSON string (quotes not included).
void AppendJsonEscaped(std::string& out, std::string_view s);

class BufferedFile {
 public:
  static base::Result<std::unique_ptr<BufferedFile>> Open(const std::string& path);
  ~BufferedFile();
  void Append(std::string_view s);
  base::Status Flush();

 private:
  BufferedFile(FILE* f, std::string path) : file_(f), path_(std::move(path)) {}
  FILE* file_;
  std::string path_;
  std::string buffer_;
};

// What the engine knows about an alert beyond the packet and the rule.
struct AlertMeta {
  uint64_t flow_id = 0;  // the flow table's id; 0 = none (EVE then uses FlowId(packet))
  bool rebuilt = false;  // the packet is a datagram rebuilt from fragments (EVE pkt_src "defrag")
  // Every alert of the packet (this one included), for the packet's verdict; empty: this alert
  // is the packet's only one.
  std::span<const detect::Alert> packet_alerts;
  // The packet's pipeline never drops (a tenant's `policy: ids` in an inline run): its drop
  // rules' alerts read as in IDS mode ("allowed", verdict "alert"; alert_fast "[wDrop]").
  bool alert_only = false;
};

// The packet's final verdict as Suricata 8's EVE `verdict` object states it, from all of the
// packet's alerts: a reject rule gives action "drop" inline ("alert" otherwise) with its
// reject-target and the reply sent (tcp-reset, or icmp-prohib for UDP and ICMP); a drop rule
// gives "drop" inline; a pass rule "pass"; otherwise "alert".
struct PacketVerdict {
  const char* action = "alert";
  const char* reject_target = nullptr;  // "to_client", "to_server", "both"; null: no reject
};
[[nodiscard]] PacketVerdict VerdictOf(const packet::Packet& p,
                                      std::span<const detect::Alert> alerts, bool inline_mode);

class AlertFastWriter {
 public:
  static base::Result<std::unique_ptr<AlertFastWriter>> Open(const std::string& path);
  // A drop rule's alert starts "[Drop] ", or "[wDrop] " (would drop, as Suricata marks it) when
  // `alert_only` (AlertMeta::alert_only).
  void Write(const packet::Packet& p, const detect::Alert& a, bool alert_only = false);
  base::Status Flush() { return file_->Flush(); }

 private:
  explicit AlertFastWriter(std::unique_ptr<BufferedFile> f) : file_(std::move(f)) {}
  std::unique_ptr<BufferedFile> file_;
  std::string line_;
};

// One EVE alert event (EveWriter's line below, newline included) into `line`, replacing what it
// held: for other outputs of the same records (control/eve_shipper.h: Redis, Kafka).
void FormatEveAlert(std::string& line, const packet::Packet& p, const detect::Alert& a,
                    const AlertMeta& meta, bool inline_mode);

// EVE alert events carry, beyond the 5-tuple and the `alert` object, the fields Suricata writes
// when its alert output sets `packet: yes` and `verdict: yes`: `packet` (the packet's bytes from
// its link-layer header, base64), `packet_info` ({linktype, linktype_name}) and `verdict`.
class EveWriter {
 public:
  // `inline_mode` decides alert.action for drop rules: "blocked" inline, "allowed" otherwise.
  static base::Result<std::unique_ptr<EveWriter>> Open(const std::string& path,
                                                       bool inline_mode = false);
  void Write(const packet::Packet& p, const detect::Alert& a, const AlertMeta& meta = {});
  base::Status Flush() { return file_->Flush(); }

 private:
  EveWriter(std::unique_ptr<BufferedFile> f, bool inline_mode)
      : file_(std::move(f)), inline_mode_(inline_mode) {}
  std::unique_ptr<BufferedFile> file_;
  bool inline_mode_;
  std::string line_;
};

}  // namespace vigil::output

// DNS messages (RFC 1035) for the detector's dns.* buffers: ParseDns reads one message — over UDP
// a datagram's payload, over TCP one length-prefixed message that DnsTcpStream cut out of the
// reassembled stream — into a DnsMessage.
//
//   app::DnsMessage msg;
//   if (app::ParseDns(payload, len, msg, stats)) Inspect(msg);   // msg.queries[0].name
//
//   app::DnsTcpStream tcp;                                       // one per TCP flow
//   std::vector<app::DnsMessage> msgs;
//   tcp.Feed(to_server, bytes, len, stats, msgs);                 // whole messages only
//
// What a message holds: the header (id, QR, opcode, rcode) and the names and types of its
// questions and answers, each name in dotted form as Suricata's dns.query holds it — labels as
// sent (case kept, no escaping), joined by '.', no trailing dot, "" for the root. Compression
// pointers are followed backwards only (a pointer must point before the name that holds it), so
// decoding ends; a name is at most 255 bytes, a label at most 63.
//
// Detection by content: ParseDns accepts a message only when its header and every question
// parse within the message, it has 1 to kMaxQuestions questions (a query; a response may have
// none), and its opcode is one of 0-6; the engine takes a flow on port 53 as DNS only when its
// first message parses (Worker).
//
// Bounds: at most kMaxQuestions questions and kMaxAnswers answers are kept (the rest counted in
// dns.answers_skipped); a TCP direction buffers at most one message (65,535 bytes, the most its
// length prefix can say). Malformed input is never an error: it is counted (dns.malformed) and
// the message is not inspected. Cost: one pass over the message, one string per name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::app {

inline constexpr size_t kMaxQuestions = 8;
inline constexpr size_t kMaxAnswers = 32;

struct DnsRecord {
  std::string name;  // dotted
  uint16_t type = 0;
  uint16_t rclass = 0;
};

struct DnsMessage {
  uint16_t id = 0;
  bool response = false;  // QR
  uint8_t opcode = 0;
  uint8_t rcode = 0;
  std::vector<DnsRecord> queries;
  std::vector<DnsRecord> answers;
};

#define VIGIL_DNS_COUNTERS(X)               \
  X(messages, "dns.messages")               \
  X(malformed, "dns.malformed")             \
  X(answers_skipped, "dns.answers_skipped") \
  X(tcp_messages, "dns.tcp_messages")       \
  X(not_dns, "dns.not_dns")

struct DnsStats {
#define VIGIL_DNS_FIELD(field, name) uint64_t field = 0;
  VIGIL_DNS_COUNTERS(VIGIL_DNS_FIELD)
#undef VIGIL_DNS_FIELD
  void ForEach(const std::function<void(std::string_view, uint64_t)>& f) const;
};

// Parses the DNS message data[0, len) into `out` (cleared first). False, counting dns.malformed,
// when it is not one (see the file comment); `out` is then unspecified.
[[nodiscard]] bool ParseDns(const uint8_t* data, size_t len, DnsMessage& out, DnsStats& stats);

// DNS over TCP (RFC 1035 section 4.2.2): each message follows its two-byte length. Fed the in-order
// bytes of each direction, appends the messages they complete. A message that does not parse is
// skipped; a gap stops the direction (its framing is lost).
class DnsTcpStream {
 public:
  void Feed(bool to_server, const uint8_t* data, size_t len, DnsStats& stats,
            std::vector<DnsMessage>& out);
  void Gap(bool to_server) { side_[to_server ? 0 : 1].stopped = true; }

 private:
  struct Side {
    std::string pending;  // the length prefix and the message so far
    bool stopped = false;
  };
  Side side_[2];
};

}  // namespace vigil::app

#include "tests/e2e/captures.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/bytes.h"
#include "craft/capture.h"
#include "craft/frame.h"
#include "craft/tcp_session.h"

namespace vigil::tests {
namespace {

namespace fs = std::filesystem;
using craft::Bytes;
using craft::Capture;
using craft::Endpoint;
using craft::TcpSession;

Endpoint Ep(const char* ip, uint16_t port) { return {craft::Addr(ip), port}; }

// A DNS query for `name` (A record), as a client would send it.
Bytes DnsQuery(uint16_t id, const std::string& name) {
  Bytes q = {uint8_t(id >> 8), uint8_t(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q.push_back(uint8_t(dot - start));
    q.insert(q.end(), name.begin() + long(start), name.begin() + long(dot));
    start = dot + 1;
  }
  q.insert(q.end(), {0, 0, 1, 0, 1});
  return q;
}

// Packets 1-3 handshake, 4 request, 5 ACK, 6 response, 7 ACK, 8-10 close.
Capture HttpContent() {
  Capture c;
  TcpSession s(Ep("10.0.0.5", 51000), Ep("192.168.1.10", 80));
  c.Add(s.Handshake());
  c.Add(s.ClientSends(
      "GET /cgi-bin/../../etc/passwd HTTP/1.1\r\nHost: intranet\r\nUser-Agent: CURL/8.0\r\n\r\n"));
  c.Add(s.ServerSends(
      "HTTP/1.1 200 OK\r\nContent-Length: 32\r\n\r\nroot:x:0:0:root:/root:/bin/bash"));
  c.Add(s.Close());
  return c;
}

// 1: VLAN 100 + IPv6 DNS query for evil.example; 2: double-tagged (802.1ad 200 / 802.1Q 300)
// IPv6 query for good.example; 3: IPv4 query for EVIL.example (case differs).
Capture VlanIpv6Udp() {
  Capture c;
  craft::EthernetHeader one_tag;
  one_tag.vlans = {{100}};
  craft::EthernetHeader two_tags;
  two_tags.vlans = {{200, 0, craft::kEtherTypeQinQ}, {300}};
  c.Add(craft::UdpFrame(Ep("2001:db8::10", 40001), Ep("2001:db8::53", 53),
                        DnsQuery(1, "evil.example"), one_tag));
  c.Add(craft::UdpFrame(Ep("2001:db8::10", 40002), Ep("2001:db8::53", 53),
                        DnsQuery(2, "good.example"), two_tags));
  c.Add(craft::UdpFrame(Ep("10.0.0.7", 40003), Ep("10.0.0.53", 53), DnsQuery(3, "EVIL.example")));
  return c;
}

// 1: echo request with a marker payload; 2: its reply; 3: IPv6 echo request with the marker.
Capture IcmpEcho() {
  Capture c;
  craft::Bytes marker = craft::ToBytes("vigil-ping-marker-0123456789");
  c.Add(
      craft::IcmpEchoFrame(craft::Addr("10.0.0.1"), craft::Addr("10.0.0.2"), false, 7, 1, marker));
  c.Add(craft::IcmpEchoFrame(craft::Addr("10.0.0.2"), craft::Addr("10.0.0.1"), true, 7, 1, marker));
  c.Add(craft::IcmpEchoFrame(craft::Addr("2001:db8::1"), craft::Addr("2001:db8::2"), false, 8, 1,
                             marker));
  return c;
}

// UDP datagrams carrying "probe", from and to various addresses and ports (see test.rules).
Capture AddressPortLists() {
  Capture c;
  Bytes probe = craft::ToBytes("probe");
  c.Add(craft::UdpFrame(Ep("10.2.0.1", 5000), Ep("172.16.0.1", 53), probe));     // 1
  c.Add(craft::UdpFrame(Ep("10.1.0.1", 5000), Ep("172.16.0.1", 53), probe));     // 2
  c.Add(craft::UdpFrame(Ep("10.2.0.1", 80), Ep("172.16.0.1", 999), probe));      // 3
  c.Add(craft::UdpFrame(Ep("172.16.0.1", 53), Ep("10.2.0.1", 5000), probe));     // 4
  c.Add(craft::UdpFrame(Ep("192.0.2.1", 1024), Ep("172.16.0.9", 6000), probe));  // 5
  return c;
}

// Packets 4 and 6 carry "attack-payload": 4 from 10.0.0.5 (a trusted host, see the pass rule),
// 6 from 10.0.0.6. Handshakes 1-3; 5 is the ACK of 4; second session 7... see expected.json.
Capture PassAndDrop() {
  Capture c;
  TcpSession trusted(Ep("10.0.0.5", 40000), Ep("192.168.1.10", 8080));
  c.Add(trusted.Handshake());                    // 1-3
  c.Add(trusted.ClientSends("attack-payload"));  // 4, 5
  TcpSession other(Ep("10.0.0.6", 40001), Ep("192.168.1.10", 8080));
  c.Add(other.Handshake());                    // 6-8
  c.Add(other.ClientSends("attack-payload"));  // 9, 10
  return c;
}

// Raw IPv4 link type (no Ethernet): 1 UDP with "raw-marker", 2 TCP SYN without payload.
Capture LinktypeRaw() {
  Capture c({.linktype = packet::LinkType::kRaw});
  c.Add(craft::UdpFrame(Ep("10.9.0.1", 1111), Ep("10.9.0.2", 2222), craft::ToBytes("raw-marker"),
                        std::nullopt));
  craft::TcpSessionOptions opts;
  opts.ethernet = std::nullopt;
  TcpSession s(Ep("10.9.0.1", 3333), Ep("10.9.0.2", 4444), opts);
  c.Add(s.Handshake().front());
  return c;
}

// Linux cooked capture v1 (SLL): a 16-byte pseudo-header before each IPv4 packet.
Capture LinktypeSll() {
  Capture c({.linktype = packet::LinkType::kLinuxSll});
  Bytes ip = craft::UdpFrame(Ep("10.8.0.1", 1111), Ep("10.8.0.2", 2222),
                             craft::ToBytes("sll-marker"), std::nullopt);
  Bytes frame = {0, 0, 0, 1, 0, 6, 0x02, 0x42, 0xac, 0x11, 0, 2, 0, 0, 0x08, 0x00};
  frame.insert(frame.end(), ip.begin(), ip.end());
  c.Add(frame);
  return c;
}

// The same HTTP request as HttpContent, for rule files that mix good and bad rules.
Capture MixedRules() {
  Capture c;
  TcpSession s(Ep("10.0.0.5", 51001), Ep("192.168.1.10", 80));
  c.Add(s.Handshake());                                                // 1-3
  c.Add(s.ClientSends("GET /index.php?cmd=whoami HTTP/1.1\r\n\r\n"));  // 4, 5
  return c;
}

// Two sessions' worth of packets; the file is cut in the middle of packet 9's record, so packets
// 1-8 are read and then the error is reported.
Capture Truncated() {
  Capture c;
  TcpSession a(Ep("10.0.0.5", 52000), Ep("192.168.1.10", 80));
  c.Add(a.Handshake());                                      // 1-3
  c.Add(a.ClientSends("GET /etc/passwd HTTP/1.1\r\n\r\n"));  // 4, 5
  TcpSession b(Ep("10.0.0.5", 52001), Ep("192.168.1.10", 80));
  c.Add(b.Handshake());                                      // 6-8
  c.Add(b.ClientSends("GET /etc/passwd HTTP/1.1\r\n\r\n"));  // 9, 10 (cut)
  return c;
}

// The `make run` sample: ordinary web and DNS traffic with a few attacks mixed in.
Capture Sample() {
  Capture c;
  const char* agents[] = {"Mozilla/5.0 (X11; Linux x86_64)", "curl/8.4.0", "python-requests/2.31"};
  for (int i = 0; i < 12; ++i) {
    TcpSession s(Ep("10.0.0.20", uint16_t(50000 + i)), Ep("192.168.1.80", 80));
    c.Add(s.Handshake());
    std::string uri = "/page/" + std::to_string(i) + ".html";
    if (i == 3) uri = "/cgi-bin/../../../../etc/passwd";
    if (i == 7) uri = "/search?q=1'+UNION+SELECT+password+FROM+users--";
    if (i == 9) uri = "/shell.php?cmd=cat%20/etc/shadow";
    c.Add(s.ClientSends("GET " + uri + " HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: " +
                        agents[i % 3] + "\r\nAccept: */*\r\n\r\n"));
    std::string body = i == 3 ? "root:x:0:0:root:/root:/bin/bash\n" : "<html>ok</html>\n";
    c.Add(s.ServerSends("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body));
    c.Add(s.Close());
  }
  const char* names[] = {"www.example.com", "mail.example.com", "update.badsite-c2.net",
                         "cdn.example.net"};
  for (int i = 0; i < 4; ++i) {
    c.Add(craft::UdpFrame(Ep("10.0.0.20", uint16_t(41000 + i)), Ep("10.0.0.53", 53),
                          DnsQuery(uint16_t(100 + i), names[i])));
  }
  c.Add(craft::IcmpEchoFrame(craft::Addr("10.0.0.20"), craft::Addr("192.168.1.80"), false, 1, 1,
                             craft::ToBytes("abcdefghijklmnopqrstuvwabcdefghi")));
  return c;
}

// ---- Evasion cases (issue #4): the rule looks for "EVILPAYLOAD", which no single packet
// carries whole; whether it is there depends on how the target assembles the pieces.

constexpr uint8_t kAck = packet::kTcpAck;
constexpr uint8_t kPshAck = packet::kTcpPsh | packet::kTcpAck;

Bytes B(std::string_view text) { return craft::ToBytes(text); }

// `frame` with its IPv4 TTL replaced and the header checksum recomputed (Ethernet, no VLAN).
Bytes WithTtl(Bytes frame, uint8_t ttl) {
  constexpr size_t kIp = 14;
  frame[kIp + 8] = ttl;
  frame[kIp + 10] = frame[kIp + 11] = 0;
  size_t header = size_t(frame[kIp] & 0x0f) * 4;
  uint32_t sum = 0;
  for (size_t i = 0; i < header; i += 2) sum += uint32_t(frame[kIp + i] << 8 | frame[kIp + i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t checksum = uint16_t(~sum);
  frame[kIp + 10] = uint8_t(checksum >> 8);
  frame[kIp + 11] = uint8_t(checksum);
  return frame;
}

// Handshake (1-3); "GET /E" "VILPA" "YLOAD" " HTTP/1.0..." sent last piece first (4-7), so the
// stream is whole only with packet 7; the server's ACK (8).
Capture EvasionOutOfOrder() {
  Capture c;
  TcpSession s(Ep("10.0.0.5", 51001), Ep("192.168.1.10", 80));
  c.Add(s.Handshake());
  uint32_t seq = s.next_seq(craft::Side::kClient);
  c.Add(s.SegmentAt(craft::Side::kClient, seq + 16, kPshAck, B(" HTTP/1.0\r\n\r\n")));
  c.Add(s.SegmentAt(craft::Side::kClient, seq + 11, kAck, B("YLOAD")));
  c.Add(s.SegmentAt(craft::Side::kClient, seq + 6, kAck, B("VILPA")));
  c.Add(s.SegmentAt(craft::Side::kClient, seq, kAck, B("GET /E")));
  (void)s.Segment(craft::Side::kClient, 0, B("GET /EVILPAYLOAD HTTP/1.0\r\n\r\n"));
  c.Add(s.Segment(craft::Side::kServer, kAck));
  return c;
}

// Handshake (1-3); the request one byte per segment (4-32): the pattern's last byte, the 'D' at
// stream offset 15, is packet 19; the server's ACK (33).
Capture EvasionOneByteSegments() {
  Capture c;
  TcpSession s(Ep("10.0.0.5", 51002), Ep("192.168.1.10", 80));
  c.Add(s.Handshake());
  c.Add(s.ClientSends("GET /EVILPAYLOAD HTTP/1.0\r\n\r\n", 1));
  return c;
}

// The seven TCP overlap policies, one server each (vigil.yaml maps 192.168.10.N/32 to the N-th
// policy: first, last, linux, bsd, windows, solaris, macos), two flows per server:
//   shape A (right overlap, same start, new longer): old "XXXX" at stream offset 9, then new
//     "PAYLOAD" at 9, then "GET /EVIL" at 0 completes the stream;
//   shape B (left overlap): old "PAYLXX" at 9, new "YLOAD" at 11, then "GET /EVIL" at 0.
// Each flow is 3 handshake packets, old, new, the completing packet, the server's ACK: 7 packets;
// server N's shape A flow starts at packet 14(N-1)+1 and its shape B flow at 14(N-1)+8.
Capture EvasionTcpOverlap() {
  Capture c;
  for (int n = 1; n <= 7; ++n) {
    std::string server = "192.168.10." + std::to_string(n);
    for (int shape = 0; shape < 2; ++shape) {
      TcpSession s(Ep("10.0.0.5", uint16_t(52000 + 10 * n + shape)), Ep(server.c_str(), 80));
      c.Add(s.Handshake());
      uint32_t seq = s.next_seq(craft::Side::kClient);
      if (shape == 0) {
        c.Add(s.SegmentAt(craft::Side::kClient, seq + 9, kAck, B("XXXX")));
        c.Add(s.SegmentAt(craft::Side::kClient, seq + 9, kAck, B("PAYLOAD")));
      } else {
        c.Add(s.SegmentAt(craft::Side::kClient, seq + 9, kAck, B("PAYLXX")));
        c.Add(s.SegmentAt(craft::Side::kClient, seq + 11, kAck, B("YLOAD")));
      }
      c.Add(s.SegmentAt(craft::Side::kClient, seq, kPshAck, B("GET /EVIL")));
      (void)s.Segment(craft::Side::kClient, 0, B("GET /EVILPAYLOAD"));
      c.Add(s.Segment(craft::Side::kServer, kAck));
    }
  }
  return c;
}

// Handshake (1-3); "GET /EVIL" (4) and "GOODSTUFF" (5) in order and acknowledged (6); then a
// retransmission of offset 9 with other bytes, "PAYLOAD__" (7): the target keeps what it
// already accepted, so the stream never holds the pattern.
Capture EvasionRetransmitChanged() {
  Capture c;
  TcpSession s(Ep("10.0.0.5", 51003), Ep("192.168.1.10", 80));
  c.Add(s.Handshake());
  uint32_t seq = s.next_seq(craft::Side::kClient);
  c.Add(s.Segment(craft::Side::kClient, kAck, B("GET /EVIL")));
  c.Add(s.Segment(craft::Side::kClient, kPshAck, B("GOODSTUFF")));
  c.Add(s.Segment(craft::Side::kServer, kAck));
  c.Add(s.SegmentAt(craft::Side::kClient, seq + 9, kPshAck, B("PAYLOAD__")));
  return c;
}

// Handshake (1-3, TTL 64); "GET /EVIL" (4); "XXXXXXX" at offset 9 with TTL 3, which expires
// before the target (5); "PAYLOAD HTTP/1.0" at offset 9 with TTL 64 (6): the target's stream
// holds the pattern, completed by packet 6; the server's ACK (7).
Capture EvasionTtlInsertion() {
  Capture c;
  TcpSession s(Ep("10.0.0.5", 51004), Ep("192.168.1.10", 80));
  c.Add(s.Handshake());
  uint32_t seq = s.next_seq(craft::Side::kClient);
  c.Add(s.Segment(craft::Side::kClient, kAck, B("GET /EVIL")));
  c.Add(WithTtl(s.SegmentAt(craft::Side::kClient, seq + 9, kAck, B("XXXXXXX")), 3));
  c.Add(s.Segment(craft::Side::kClient, kPshAck, B("PAYLOAD HTTP/1.0")));
  c.Add(s.Segment(craft::Side::kServer, kAck));
  return c;
}

// A UDP datagram whose 32 data bytes "aaaaaaaaEVILPAYLOADbbbbbbbbbbbbb" straddle 8-byte
// fragments: IP payload [0,8) UDP header, [8,16) "aaaaaaaa", [16,24) "EVILPAYL",
// [24,32) "OADbbbbb", [32,40) "bbbbbbbb". `data` replaces the 32 data bytes.
Bytes FragmentedDatagram(const char* dst, uint16_t id, std::string_view data) {
  Bytes frame =
      craft::BuildFrame({.ip = {.src = craft::Addr("10.0.0.9"), .dst = craft::Addr(dst), .id = id},
                         .transport = craft::UdpHeader{.src_port = 40000, .dst_port = 5000},
                         .payload = B(data)});
  return frame;
}

std::vector<Bytes> Pieces(const Bytes& frame) {
  auto pieces = craft::Fragment(frame, 8);
  if (!pieces) std::abort();
  return *pieces;
}

constexpr std::string_view kDatagram = "aaaaaaaaEVILPAYLOADbbbbbbbbbbbbb";

// Five 8-byte fragments (1-5) of one datagram; the pattern spans fragments 3 and 4 and the
// rebuilt datagram is complete with fragment 5.
Capture EvasionIpFragments() {
  Capture c;
  for (Bytes& f : Pieces(FragmentedDatagram("192.168.3.1", 0x1234, kDatagram))) c.Add(f);
  return c;
}

// The seven fragment overlap policies, one destination each (vigil.yaml maps 192.168.4.N/32 to
// the N-th policy: first, last, linux, bsd, windows, solaris, bsd-right). Per destination, six
// fragments: [0,8), [8,16), [16,24), then [24,32) twice — first "XXXbbbbb", then the real
// "OADbbbbb" (same start, same length) — and the last [32,40). Destination N's datagram is
// complete with packet 6N.
Capture EvasionFragmentOverlap() {
  Capture c;
  for (int n = 1; n <= 7; ++n) {
    std::string dst = "192.168.4." + std::to_string(n);
    uint16_t id = uint16_t(0x2000 + n);
    std::vector<Bytes> real = Pieces(FragmentedDatagram(dst.c_str(), id, kDatagram));
    std::vector<Bytes> bogus =
        Pieces(FragmentedDatagram(dst.c_str(), id, "aaaaaaaaEVILPAYLXXXbbbbbbbbbbbbb"));
    c.Add(real[0]);
    c.Add(real[1]);
    c.Add(real[2]);
    c.Add(bogus[3]);
    c.Add(real[3]);
    c.Add(real[4]);
  }
  return c;
}

// `inner` (a bare IP packet) in GRE from 10.20.0.1 to 10.20.0.2, behind Ethernet: version 0
// naming `protocol` (0x0800 IPv4, 0x880b PPP), or with `pptp` PPTP's version 1 (key: payload
// length and call id 7, then a sequence number) with the PPP address and control bytes.
Bytes InGre(const Bytes& inner, uint16_t protocol, bool pptp, uint32_t seq = 0) {
  Bytes gre;
  if (pptp) {
    Bytes ppp = {0xff, 0x03, 0x00, 0x21};
    ppp.insert(ppp.end(), inner.begin(), inner.end());
    gre = {0x30, 0x01, 0x88, 0x0b, uint8_t(ppp.size() >> 8), uint8_t(ppp.size()), 0x00, 0x07};
    gre.insert(gre.end(),
               {uint8_t(seq >> 24), uint8_t(seq >> 16), uint8_t(seq >> 8), uint8_t(seq)});
    gre.insert(gre.end(), ppp.begin(), ppp.end());
  } else {
    gre = {0x00, 0x00, uint8_t(protocol >> 8), uint8_t(protocol)};
    if (protocol == 0x880b) gre.push_back(0x21);  // PPP, protocol field compressed: IPv4
    gre.insert(gre.end(), inner.begin(), inner.end());
  }
  return craft::BuildFrame({.ip = {.src = craft::Addr("10.20.0.1"),
                                   .dst = craft::Addr("10.20.0.2"),
                                   .protocol = uint8_t{47}},
                            .transport = craft::NoTransport{},
                            .payload = gre});
}

// 1: GRE version 0 carrying IPv4 UDP with EVILPAYLOAD; 2: GRE version 0 carrying PPP carrying
// the same; 3-7: PPTP (GRE version 1, PPP) carrying the five 8-byte fragments of a UDP datagram
// whose EVILPAYLOAD spans fragments 3 and 4, rebuilt with packet 7; 8-17 see below.
Capture GreTunnels() {
  Capture c;
  Bytes udp = craft::UdpFrame(Ep("172.16.0.1", 40000), Ep("172.16.0.2", 5000), B("xxEVILPAYLOADxx"),
                              std::nullopt);
  c.Add(InGre(udp, 0x0800, false));
  c.Add(InGre(udp, 0x880b, false));
  auto fragments = [](uint16_t id) {
    Bytes datagram = craft::BuildFrame(
        {.ethernet = std::nullopt,
         .ip = {.src = craft::Addr("172.16.0.1"), .dst = craft::Addr("172.16.0.2"), .id = id},
         .transport = craft::UdpHeader{.src_port = 40000, .dst_port = 5000},
         .payload = B(kDatagram)});
    auto pieces = craft::Fragment(datagram, 8, packet::LinkType::kRaw);
    if (!pieces) std::abort();
    return *pieces;
  };
  uint32_t seq = 1;
  for (const Bytes& f : fragments(0x4242)) c.Add(InGre(f, 0x880b, true, seq++));
  // 8-17: five more fragments (another datagram), each PPTP packet itself split in two IPv4
  // fragments: the outer packet is rebuilt on each of 9, 11, ..., 17 and the inner datagram on 17.
  for (const Bytes& f : fragments(0x4343)) {
    auto outer = craft::Fragment(InGre(f, 0x880b, true, seq++), 24);
    if (!outer || outer->size() != 2) std::abort();
    for (const Bytes& o : *outer) c.Add(o);
  }
  return c;
}

// One packet that five rules match; vigil.yaml sets packet-alert-max: 3.
Capture AlertMax() {
  Capture c;
  c.Add(craft::UdpFrame(Ep("10.30.0.1", 40000), Ep("10.30.0.2", 5000), B("PAYLOAD_TRIGGER")));
  return c;
}

base::Status Write(const Capture& c, const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return base::Error{ec.message(), path.parent_path().string()};
  return c.WriteTo(path.string());
}

base::Status WriteText(const fs::path& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) return base::Error{"cannot write", path.string()};
  return {};
}

}  // namespace

base::Status WriteTestCaptures(const std::string& tests_dir) {
  fs::path e2e = fs::path(tests_dir) / "e2e";
  struct Case {
    const char* name;
    Capture (*build)();
  };
  const Case cases[] = {
      {"http_content", HttpContent},
      {"vlan_ipv6_udp", VlanIpv6Udp},
      {"icmp_echo", IcmpEcho},
      {"address_port_lists", AddressPortLists},
      {"pass_and_drop", PassAndDrop},
      {"linktype_raw", LinktypeRaw},
      {"linktype_sll", LinktypeSll},
      {"mixed_rules", MixedRules},
      {"evasion_out_of_order", EvasionOutOfOrder},
      {"evasion_one_byte_segments", EvasionOneByteSegments},
      {"evasion_tcp_overlap", EvasionTcpOverlap},
      {"evasion_retransmit_changed", EvasionRetransmitChanged},
      {"evasion_ttl_insertion", EvasionTtlInsertion},
      {"evasion_ip_fragments", EvasionIpFragments},
      {"evasion_fragment_overlap", EvasionFragmentOverlap},
      {"gre_tunnels", GreTunnels},
      {"packet_alert_max", AlertMax},
  };
  for (const Case& c : cases) {
    if (auto s = Write(c.build(), e2e / c.name / "input.pcap"); !s) return s;
  }

  // Truncated: cut 20 bytes into packet 9's record (its 16-byte record header plus 4 bytes).
  Capture t = Truncated();
  fs::path tpath = e2e / "truncated_pcap" / "input.pcap";
  if (auto s = Write(t, tpath); !s) return s;
  uint64_t cut = 24;  // pcap file header
  for (size_t i = 0; i < 8; ++i) cut += 16 + t.records()[i].data.size();
  fs::resize_file(tpath, cut + 20);

  if (auto s = WriteText(e2e / "not_a_pcap" / "input.pcap", "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      !s) {
    return s;
  }
  if (auto s = WriteText(e2e / "empty_pcap" / "input.pcap", ""); !s) return s;
  return Write(Sample(), fs::path(tests_dir) / "sample" / "sample.pcap");
}

}  // namespace vigil::tests

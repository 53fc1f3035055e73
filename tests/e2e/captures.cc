#include "tests/e2e/captures.h"

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
      {"http_content", HttpContent},  {"vlan_ipv6_udp", VlanIpv6Udp},
      {"icmp_echo", IcmpEcho},        {"address_port_lists", AddressPortLists},
      {"pass_and_drop", PassAndDrop}, {"linktype_raw", LinktypeRaw},
      {"linktype_sll", LinktypeSll},  {"mixed_rules", MixedRules},
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

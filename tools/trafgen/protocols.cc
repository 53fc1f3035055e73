#include "trafgen/protocols.h"

#include <fmt/format.h>

#include <array>
#include <string>

namespace vigil::trafgen {
namespace {

constexpr const char* kSyllables[] = {"al", "be",  "cor", "da",  "el",  "fi",  "go",  "ha",
                                      "in", "jo",  "ka",  "lu",  "mo",  "na",  "or",  "pi",
                                      "qu", "ra",  "so",  "ta",  "un",  "ve",  "wi",  "xa",
                                      "yo", "zen", "tek", "net", "web", "max", "pro", "hub"};
constexpr const char* kHostPrefixes[] = {"www",   "api", "cdn", "static", "img",    "mail",
                                         "login", "app", "m",   "edge",   "assets", "shop"};
constexpr const char* kTlds[] = {"com", "net", "org", "io", "de", "co.uk", "fr", "info"};

constexpr const char* kUserAgents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "curl/8.4.0",
    "python-requests/2.31.0",
    "Wget/1.21.4",
    "okhttp/4.12.0",
};
constexpr const char* kAccepts[] = {
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "*/*",
    "application/json, text/plain, */*",
    "image/avif,image/webp,image/apng,image/*,*/*;q=0.8",
    "text/css,*/*;q=0.1",
};
constexpr const char* kLanguages[] = {"en-US,en;q=0.9", "de-DE,de;q=0.8,en;q=0.5", "fr-FR,fr;q=0.9",
                                      "en-GB,en;q=0.7"};
constexpr const char* kWords[] = {"alpha",  "report", "weather", "price", "camera", "laptop",
                                  "garden", "travel", "news",    "music", "recipe", "shoes",
                                  "office", "blue",   "red",     "best",  "cheap",  "review"};
constexpr const char* kCollections[] = {"users",    "orders",   "items", "products",
                                        "sessions", "accounts", "carts", "reviews"};
constexpr const char* kServers[] = {
    "nginx/1.24.0", "Apache/2.4.57 (Debian)", "cloudflare", "Microsoft-IIS/10.0", "gws", "envoy"};
constexpr const char* kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::string Word(Rng& rng) { return rng.Pick(kWords); }

std::string Slug(Rng& rng) {
  std::string s = Word(rng);
  for (uint64_t i = rng.Range(1, 3); i > 0; --i) s += "-" + Word(rng);
  return s;
}

// A request path with a realistic shape, and a query string for some.
std::string RandomUri(Rng& rng, std::string_view method) {
  if (method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE") {
    switch (rng.Below(4)) {
      case 0:
        return fmt::format("/api/v{}/{}/{}", rng.Range(1, 3), rng.Pick(kCollections),
                           rng.Range(1, 99999));
      case 1:
        return fmt::format("/api/v{}/{}", rng.Range(1, 3), rng.Pick(kCollections));
      case 2:
        return rng.Chance(0.5) ? "/login" : "/account/settings";
      default:
        return fmt::format("/cart/{}?session={}", rng.Chance(0.5) ? "add" : "update",
                           rng.Text(16, kHexDigits));
    }
  }
  switch (rng.Below(8)) {
    case 0:
      return "/";
    case 1: {
      constexpr const char* kKinds[][2] = {{"js", "js"}, {"css", "css"}, {"img", "png"}};
      const auto& k = kKinds[rng.Below(3)];
      return fmt::format("/static/{}/{}.{}?v={}", k[0], Slug(rng), k[1], rng.Text(8, kHexDigits));
    }
    case 2:
      return fmt::format("/api/v{}/{}/{}", rng.Range(1, 3), rng.Pick(kCollections),
                         rng.Range(1, 99999));
    case 3:
      return fmt::format("/search?q={}+{}&page={}&lang=en", Word(rng), Word(rng), rng.Range(1, 20));
    case 4:
      return fmt::format("/{}/{}/{:02}/{}.html", rng.Chance(0.5) ? "blog" : "news",
                         rng.Range(2015, 2024), rng.Range(1, 12), Slug(rng));
    case 5:
      return fmt::format("/index.php?id={}&action={}", rng.Range(1, 5000),
                         rng.Chance(0.5) ? "view" : "list");
    case 6:
      return fmt::format("/images/{}.{}", Slug(rng), rng.Chance(0.5) ? "jpg" : "png");
    default:
      return fmt::format("/products/{}?ref={}&utm_source={}", Slug(rng), rng.Text(6, kAlnum),
                         Word(rng));
  }
}

std::string HttpDate(Rng& rng) {
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} GMT", rng.Pick(kDays), rng.Range(1, 28),
                     rng.Pick(kMonths), rng.Range(2022, 2024), rng.Below(24), rng.Below(60),
                     rng.Below(60));
}

// The CRC-32 of PNG chunks (and zlib, Ethernet), byte-wise through a table.
uint32_t Crc32(std::string_view a, std::string_view b) {
  static const std::array<uint32_t, 256> kTable = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320 & (0 - (c & 1)));
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xffffffff;
  for (std::string_view part : {a, b}) {
    for (unsigned char c : part) crc = kTable[(crc ^ c) & 0xff] ^ (crc >> 8);
  }
  return ~crc;
}

void PngChunk(std::string& out, std::string_view type, std::string_view data) {
  auto be32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(char(v >> s));
  };
  be32(uint32_t(data.size()));
  out += type;
  out += data;
  be32(Crc32(type, data));
}

// A PNG file of about `size` bytes whose chunk structure is valid (header, one data chunk of
// random bytes, end), so that dissectors walk it without complaint.
std::string Png(Rng& rng, size_t size) {
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  for (uint32_t v : {uint32_t(rng.Range(16, 1024)), uint32_t(rng.Range(16, 1024))}) {
    for (int s = 24; s >= 0; s -= 8) ihdr.push_back(char(v >> s));
  }
  ihdr += std::string("\x08\x06\x00\x00\x00", 5);  // 8-bit RGBA, deflate, no interlace
  PngChunk(png, "IHDR", ihdr);
  Bytes raw;
  rng.Fill(raw, size > 64 ? size - 57 : 8);
  PngChunk(png, "IDAT", std::string(raw.begin(), raw.end()));
  PngChunk(png, "IEND", "");
  return png;
}

// A body of `size` bytes of the given type: HTML and JSON text, or a binary image.
std::string Body(Rng& rng, std::string_view type, size_t size) {
  std::string b;
  if (type == "text/html; charset=utf-8") {
    b = "<!DOCTYPE html>\n<html><head><title>" + Slug(rng) + "</title></head>\n<body>\n";
    while (b.size() < size) {
      b += "<p>" + Word(rng) + " " + Word(rng) + " " + Word(rng) + ".</p>\n";
    }
  } else if (type == "application/json") {
    b = "{\"items\":[";
    while (b.size() < size) {
      b += fmt::format("{{\"id\":{},\"name\":\"{}\"}},", rng.Range(1, 99999), Word(rng));
    }
    b += "{}]}";
  } else if (type == "image/png") {
    b = Png(rng, size);
  } else {
    while (b.size() < size) b += "var " + Word(rng) + "=" + std::to_string(rng.Below(1000)) + ";\n";
  }
  if (b.size() > size && size > 0 && type != "application/json" && type != "image/png") {
    b.resize(size);
  }
  return b;
}

std::string Chunked(Rng& rng, std::string_view body) {
  std::string out;
  size_t at = 0;
  while (at < body.size()) {
    size_t n = std::min<size_t>(body.size() - at, rng.Range(200, 4000));
    out += fmt::format("{:x}\r\n", n);
    out.append(body.substr(at, n));
    out += "\r\n";
    at += n;
  }
  out += "0\r\n\r\n";
  return out;
}

void Put16(Bytes& out, uint16_t v) {
  out.push_back(uint8_t(v >> 8));
  out.push_back(uint8_t(v));
}
void Put24(Bytes& out, uint32_t v) {
  out.push_back(uint8_t(v >> 16));
  out.push_back(uint8_t(v >> 8));
  out.push_back(uint8_t(v));
}
void Put32(Bytes& out, uint32_t v) {
  Put16(out, uint16_t(v >> 16));
  Put16(out, uint16_t(v));
}
// Writes a 16-bit big-endian length at `at` covering everything after the length field.
void PatchLength16(Bytes& out, size_t at) {
  size_t n = out.size() - at - 2;
  out[at] = uint8_t(n >> 8);
  out[at + 1] = uint8_t(n);
}
void PatchLength24(Bytes& out, size_t at) {
  size_t n = out.size() - at - 3;
  out[at] = uint8_t(n >> 16);
  out[at + 1] = uint8_t(n >> 8);
  out[at + 2] = uint8_t(n);
}

// A TLS record of `type` around `body`.
void AppendRecord(Bytes& out, uint8_t type, uint16_t version, const Bytes& body) {
  out.push_back(type);
  Put16(out, version);
  Put16(out, uint16_t(body.size()));
  out.insert(out.end(), body.begin(), body.end());
}

constexpr uint8_t kTlsHandshake = 22;
constexpr uint8_t kTlsChangeCipherSpec = 20;
constexpr uint8_t kTlsApplicationData = 23;

}  // namespace

std::string RandomHostName(Rng& rng) {
  std::string domain;
  for (uint64_t i = rng.Range(2, 4); i > 0; --i) domain += rng.Pick(kSyllables);
  if (rng.Chance(0.2)) domain += "-" + std::string(rng.Pick(kSyllables));
  std::string prefix = rng.Pick(kHostPrefixes);
  if (rng.Chance(0.3)) prefix += std::to_string(rng.Range(1, 9));
  return prefix + "." + domain + "." + rng.Pick(kTlds);
}

HttpExchange MakeHttpExchange(Rng& rng, std::string_view host, bool last) {
  constexpr const char* kMethods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"};
  constexpr uint32_t kMethodWeights[] = {70, 15, 4, 4, 3, 2, 2};
  HttpExchange x;
  x.method = kMethods[rng.Weighted(kMethodWeights)];
  x.uri = x.method == "OPTIONS" && rng.Chance(0.5) ? "*" : RandomUri(rng, x.method);

  std::string& q = x.request;
  q = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\nAccept: {}\r\n", x.method, x.uri,
                  host, rng.Pick(kUserAgents), rng.Pick(kAccepts));
  if (rng.Chance(0.7)) q += fmt::format("Accept-Language: {}\r\n", rng.Pick(kLanguages));
  if (rng.Chance(0.8)) q += "Accept-Encoding: gzip, deflate, br\r\n";
  if (rng.Chance(0.4)) q += fmt::format("Referer: https://{}/{}\r\n", host, Slug(rng));
  if (rng.Chance(0.5)) {
    q += fmt::format("Cookie: session={}; theme={}; _ga=GA1.2.{}.{}\r\n", rng.Text(32, kHexDigits),
                     rng.Chance(0.5) ? "dark" : "light", rng.Range(100000000, 999999999),
                     rng.Range(1600000000, 1700000000));
  }
  bool has_body = x.method == "POST" || x.method == "PUT" || x.method == "PATCH";
  if (has_body) {
    std::string body;
    std::string type;
    if (rng.Chance(0.5)) {
      type = "application/x-www-form-urlencoded";
      body = fmt::format("user={}&password={}&remember={}", Word(rng), rng.Text(12, kAlnum),
                         rng.Chance(0.5) ? "on" : "off");
    } else {
      type = "application/json";
      body = fmt::format("{{\"id\":{},\"name\":\"{}\",\"tags\":[\"{}\",\"{}\"],\"qty\":{}}}",
                         rng.Range(1, 99999), Slug(rng), Word(rng), Word(rng), rng.Range(1, 9));
    }
    if (rng.Chance(0.2)) body += std::string(rng.Range(100, 3000), 'x');
    q += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n", type, body.size());
    q += last ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n";
    q += body;
  } else {
    q += last ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n";
  }

  // The response.
  int status = 200;
  if (x.method == "GET") {
    constexpr int kStatuses[] = {200, 404, 301, 304, 500};
    constexpr uint32_t kWeights[] = {80, 7, 5, 5, 3};
    status = kStatuses[rng.Weighted(kWeights)];
  } else if (x.method == "POST") {
    status = rng.Chance(0.8) ? 200 : (rng.Chance(0.5) ? 201 : 302);
  } else if (x.method == "DELETE") {
    status = 204;
  }
  std::string_view reason = status == 200   ? "OK"
                            : status == 201 ? "Created"
                            : status == 204 ? "No Content"
                            : status == 301 ? "Moved Permanently"
                            : status == 302 ? "Found"
                            : status == 304 ? "Not Modified"
                            : status == 404 ? "Not Found"
                                            : "Internal Server Error";
  std::string& r = x.response;
  r = fmt::format("HTTP/1.1 {} {}\r\nDate: {}\r\nServer: {}\r\n", status, reason, HttpDate(rng),
                  rng.Pick(kServers));
  if (status == 301 || status == 302) r += fmt::format("Location: https://{}/\r\n", host);
  if (x.method == "OPTIONS") r += "Allow: GET, POST, HEAD, OPTIONS\r\n";
  if (rng.Chance(0.3)) {
    r += fmt::format("Set-Cookie: id={}; Path=/; HttpOnly\r\n", rng.Text(24, kHexDigits));
  }
  r += last ? "Connection: close\r\n" : "Connection: keep-alive\r\n";

  bool no_body = status == 204 || status == 304;
  if (no_body) return r += "\r\n", x;
  std::string type;
  size_t size = 0;
  if (x.method == "OPTIONS") {
    size = 0;
    type = "text/plain";
  } else if (status != 200 && status != 201) {
    type = "text/html; charset=utf-8";
    size = rng.Range(100, 600);
  } else {
    constexpr const char* kTypes[] = {"text/html; charset=utf-8", "application/json", "image/png",
                                      "application/javascript"};
    constexpr uint32_t kTypeWeights[] = {45, 30, 15, 10};
    type = kTypes[rng.Weighted(kTypeWeights)];
    // Mostly small objects, some large: a rough web object size mix.
    size = rng.Chance(0.8) ? rng.Range(200, 6000) : rng.Range(6000, 60000);
  }
  std::string body = size == 0 ? std::string() : Body(rng, type, size);
  r += fmt::format("Content-Type: {}\r\n", type);
  bool chunked = !body.empty() && x.method != "HEAD" && rng.Chance(0.3);
  if (chunked) {
    r += "Transfer-Encoding: chunked\r\n\r\n";
    r += Chunked(rng, body);
  } else {
    r += fmt::format("Content-Length: {}\r\n\r\n", body.size());
    if (x.method != "HEAD") r += body;
  }
  return x;
}

void AppendDnsName(Bytes& out, std::string_view name) {
  while (!name.empty()) {
    size_t dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    if (label.size() > 63) label = label.substr(0, 63);
    out.push_back(uint8_t(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  out.push_back(0);
}

DnsExchange MakeDnsExchange(Rng& rng, std::string_view name) {
  constexpr uint16_t kTypes[] = {kDnsTypeA, kDnsTypeAaaa, kDnsTypeCname, kDnsTypeTxt};
  constexpr uint32_t kWeights[] = {60, 25, 5, 10};
  DnsExchange d;
  d.qtype = kTypes[rng.Weighted(kWeights)];
  uint16_t id = uint16_t(rng.Below(65536));

  Bytes question;
  AppendDnsName(question, name);
  Put16(question, d.qtype);
  Put16(question, 1);  // class IN

  Put16(d.query, id);
  Put16(d.query, 0x0100);  // standard query, recursion desired
  Put16(d.query, 1);       // one question
  Put16(d.query, 0);
  Put16(d.query, 0);
  Put16(d.query, 0);
  d.query.insert(d.query.end(), question.begin(), question.end());

  Bytes& r = d.response;
  bool nxdomain = rng.Chance(0.08);
  Put16(r, id);
  Put16(r, nxdomain ? 0x8183 : 0x8180);  // response, recursion desired and available
  Put16(r, 1);
  size_t ancount_at = r.size();
  Put16(r, 0);
  Put16(r, 0);
  Put16(r, 0);
  r.insert(r.end(), question.begin(), question.end());
  if (nxdomain) return d;

  constexpr uint16_t kQuestionName = 0xc00c;  // pointer to offset 12, the question name
  uint16_t answers = 0;
  auto record_header = [&](uint16_t name_pointer, uint16_t type) {
    Put16(r, name_pointer);
    Put16(r, type);
    Put16(r, 1);
    Put32(r, uint32_t(rng.Range(30, 86400)));
    ++answers;
  };
  // A CNAME whose target is a new first label followed by a pointer to the question name's parent
  // domain (compression inside record data, as servers do). Returns the target's offset.
  auto add_cname = [&]() -> uint16_t {
    record_header(kQuestionName, kDnsTypeCname);
    size_t rdlength_at = r.size();
    Put16(r, 0);
    uint16_t target = uint16_t(r.size());
    std::string label = fmt::format("edge{}-{}", rng.Range(1, 99), rng.Text(4, kLowerAlnum));
    r.push_back(uint8_t(label.size()));
    r.insert(r.end(), label.begin(), label.end());
    size_t first_dot = name.find('.');
    if (first_dot == std::string_view::npos) {
      r.push_back(0);
    } else {
      Put16(r, uint16_t(0xc000 | (12 + first_dot + 1)));
    }
    PatchLength16(r, rdlength_at);
    return target;
  };

  switch (d.qtype) {
    case kDnsTypeA:
    case kDnsTypeAaaa: {
      uint16_t owner = kQuestionName;
      if (rng.Chance(0.25)) owner = uint16_t(0xc000 | add_cname());
      for (uint64_t i = rng.Range(1, d.qtype == kDnsTypeA ? 4 : 2); i > 0; --i) {
        record_header(owner, d.qtype);
        size_t len = d.qtype == kDnsTypeA ? 4 : 16;
        Put16(r, uint16_t(len));
        if (d.qtype == kDnsTypeAaaa) {
          Put16(r, 0x2001);
          Put16(r, 0x0db8);
          rng.Fill(r, 12);
        } else {
          rng.Fill(r, 4);
        }
      }
      break;
    }
    case kDnsTypeCname:
      add_cname();
      break;
    default: {  // TXT
      for (uint64_t i = rng.Range(1, 2); i > 0; --i) {
        record_header(kQuestionName, kDnsTypeTxt);
        size_t rdlength_at = r.size();
        Put16(r, 0);
        std::string text = rng.Chance(0.5) ? fmt::format("v=spf1 include:_spf.{} ~all", name)
                                           : "site-verification=" + rng.Text(43, kAlnum);
        r.push_back(uint8_t(text.size()));
        r.insert(r.end(), text.begin(), text.end());
        PatchLength16(r, rdlength_at);
      }
      break;
    }
  }
  r[ancount_at] = uint8_t(answers >> 8);
  r[ancount_at + 1] = uint8_t(answers);
  return d;
}

Bytes TlsClientHello(Rng& rng, std::string_view server_name, bool tls13) {
  Bytes hs;
  hs.push_back(1);  // ClientHello
  Put24(hs, 0);
  Put16(hs, 0x0303);
  rng.Fill(hs, 32);  // random
  hs.push_back(32);  // session id (TLS 1.3 middlebox compatibility mode sends one too)
  rng.Fill(hs, 32);
  std::vector<uint16_t> suites;
  if (tls13) suites = {0x1301, 0x1302, 0x1303};
  for (uint16_t s : {0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d,
                     0x002f, 0x0035}) {
    suites.push_back(uint16_t(s));
  }
  Put16(hs, uint16_t(suites.size() * 2));
  for (uint16_t s : suites) Put16(hs, s);
  hs.push_back(1);  // compression methods: null only
  hs.push_back(0);

  size_t ext_at = hs.size();
  Put16(hs, 0);
  auto ext = [&](uint16_t type, const Bytes& body) {
    Put16(hs, type);
    Put16(hs, uint16_t(body.size()));
    hs.insert(hs.end(), body.begin(), body.end());
  };
  {
    Bytes sni;  // server_name: a list with one host_name entry
    Put16(sni, uint16_t(server_name.size() + 3));
    sni.push_back(0);
    Put16(sni, uint16_t(server_name.size()));
    sni.insert(sni.end(), server_name.begin(), server_name.end());
    ext(0x0000, sni);
  }
  ext(0x0017, {});                                          // extended_master_secret
  ext(0xff01, {0});                                         // renegotiation_info
  ext(0x000a, {0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18});  // supported_groups
  ext(0x000b, {1, 0});                                      // ec_point_formats: uncompressed
  ext(0x0023, {});                                          // session_ticket
  ext(0x0010, {0, 12, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'});  // ALPN
  ext(0x0005, {1, 0, 0, 0, 0});  // status_request (OCSP)
  ext(0x000d, {0, 16, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03, 0x08, 0x05, 0x05, 0x01, 0x08,
               0x06, 0x06, 0x01});  // signature_algorithms
  if (tls13) {
    ext(0x002b, {4, 0x03, 0x04, 0x03, 0x03});  // supported_versions: 1.3, 1.2
    ext(0x002d, {1, 1});                       // psk_key_exchange_modes: psk_dhe_ke
    Bytes share = {0, 36, 0x00, 0x1d, 0, 32};  // key_share: one x25519 key
    rng.Fill(share, 32);
    ext(0x0033, share);
  }
  PatchLength16(hs, ext_at);
  PatchLength24(hs, 1);

  Bytes out;
  AppendRecord(out, kTlsHandshake, 0x0301, hs);  // a ClientHello record says TLS 1.0
  return out;
}

Bytes TlsServerFlight(Rng& rng, bool tls13) {
  Bytes hs;
  hs.push_back(2);  // ServerHello
  Put24(hs, 0);
  Put16(hs, 0x0303);
  rng.Fill(hs, 32);
  hs.push_back(32);
  rng.Fill(hs, 32);
  Put16(hs, tls13 ? 0x1301 : 0xc02f);
  hs.push_back(0);
  size_t ext_at = hs.size();
  Put16(hs, 0);
  if (tls13) {
    for (uint8_t b : {0x00, 0x2b, 0x00, 0x02, 0x03, 0x04}) hs.push_back(b);  // supported_versions
    for (uint8_t b : {0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20}) hs.push_back(b);  // key
    rng.Fill(hs, 32);
  } else {
    for (uint8_t b : {0xff, 0x01, 0x00, 0x01, 0x00}) hs.push_back(b);        // renegotiation
    for (uint8_t b : {0x00, 0x0b, 0x00, 0x02, 0x01, 0x00}) hs.push_back(b);  // point formats
    for (uint8_t b : {0x00, 0x17, 0x00, 0x00}) hs.push_back(b);  // extended master secret
  }
  PatchLength16(hs, ext_at);
  PatchLength24(hs, 1);

  Bytes out;
  AppendRecord(out, kTlsHandshake, 0x0303, hs);
  if (tls13) {
    AppendRecord(out, kTlsChangeCipherSpec, 0x0303, {1});
    Bytes encrypted;  // EncryptedExtensions, Certificate, CertificateVerify, Finished
    rng.Fill(encrypted, rng.Range(1500, 4000));
    AppendRecord(out, kTlsApplicationData, 0x0303, encrypted);
  } else {
    AppendRecord(out, kTlsHandshake, 0x0303, {14, 0, 0, 0});  // ServerHelloDone
  }
  return out;
}

Bytes TlsClientFinish(Rng& rng, bool tls13) {
  Bytes out;
  if (!tls13) {
    Bytes kx = {16, 0, 0, 33, 32};  // ClientKeyExchange with a 32-byte x25519 public key
    rng.Fill(kx, 32);
    AppendRecord(out, kTlsHandshake, 0x0303, kx);
  }
  AppendRecord(out, kTlsChangeCipherSpec, 0x0303, {1});
  Bytes finished;
  rng.Fill(finished, tls13 ? 53 : 40);
  AppendRecord(out, tls13 ? kTlsApplicationData : kTlsHandshake, 0x0303, finished);
  return out;
}

Bytes TlsApplicationData(Rng& rng, size_t size) {
  Bytes out;
  while (size > 0) {
    size_t n = std::min<size_t>(size, 16384);
    Bytes body;
    rng.Fill(body, n);
    AppendRecord(out, kTlsApplicationData, 0x0303, body);
    size -= n;
  }
  return out;
}

}  // namespace vigil::trafgen

// SYN cookies as Linux computes them (net/ipv4/syncookies.c, net/ipv6/syncookies.c), behind the
// XDP helpers bpf_tcp_raw_gen_syncookie_ipv4/ipv6 and bpf_tcp_raw_check_syncookie_ipv4/ipv6
// (kernel helper ids 204-207), so a SYN-flood offload written for the kernel runs unchanged.
//
// A cookie is the server's initial sequence number: SipHash-2-4 of the connection's addresses and
// ports under a secret key, plus the client's sequence number, plus a minute counter in the top 8
// bits, plus (under a second key) a 24-bit field carrying the index of the client's MSS (maximum
// segment size) in a 4-entry table. A cookie checks for two minutes.
//
//   uint16_t mss = 1460;
//   uint32_t cookie = ebpf::CookieV4Init(ebpf::SyncookieKeys::Process(), iph, th, &mss, now);
//   // ... the client's ACK comes back with ack_seq = cookie + 1 and seq = its ISN + 1:
//   int mss_back = ebpf::CookieV4Check(keys, iph, ack_th, ack_seq - 1, now);   // 1460, or 0
//
// Cookies from vigil and from a kernel do not check against each other: each has its own random
// secret and clock (vigil counts minutes of CLOCK_MONOTONIC, the kernel minutes of jiffies).
#pragma once

#include <cstdint>
#include <span>

namespace vigil::ebpf {

class HelperTable;

// Two SipHash keys (the kernel's syncookie_secret[2]): 0 hashes the addresses for the base, 1 the
// addresses with the minute counter for the MSS field.
struct SyncookieKeys {
  uint64_t key[2][2];
  // The process-wide keys the helpers use, drawn from the system's random source once.
  [[nodiscard]] static const SyncookieKeys& Process();
};

// SipHash-2-4 with a 128-bit key (the kernel's siphash()).
[[nodiscard]] uint64_t SipHash24(std::span<const uint8_t> data, const uint64_t key[2]);

// The kernel's tcp_parse_mss_option with no user MSS: the MSS option of the TCP header at `th`
// (options up to doff * 4 bytes, which the caller has made readable), or 0.
[[nodiscard]] uint16_t ParseTcpMssOption(const uint8_t* th);

// The minute counter cookies embed (tcp_cookie_time()).
[[nodiscard]] uint32_t SyncookieTime();

// __cookie_v4_init_sequence: `iph` points to a 20-byte IPv4 header, `th` to a TCP header; *mss is
// rounded down to the table (536, 1300, 1440, 1460). Returns the cookie.
[[nodiscard]] uint32_t CookieV4Init(const SyncookieKeys& keys, const uint8_t* iph,
                                    const uint8_t* th, uint16_t* mss, uint32_t count);
// __cookie_v4_check: the MSS the cookie encodes, or 0 when it does not check (wrong hash, older
// than two minutes). `th` is the ACK; its seq - 1 is taken as the client's ISN.
[[nodiscard]] int CookieV4Check(const SyncookieKeys& keys, const uint8_t* iph, const uint8_t* th,
                                uint32_t cookie, uint32_t count);
// The IPv6 forms: `ip6h` points to a 40-byte IPv6 header; the table is 1220, 1420, 1440, 8940.
[[nodiscard]] uint32_t CookieV6Init(const SyncookieKeys& keys, const uint8_t* ip6h,
                                    const uint8_t* th, uint16_t* mss, uint32_t count);
[[nodiscard]] int CookieV6Check(const SyncookieKeys& keys, const uint8_t* ip6h, const uint8_t* th,
                                uint32_t cookie, uint32_t count);

// Registers the four helpers (ids 204-207) in `table` (HelperTable::Kernel() does).
void AddSyncookieHelpers(HelperTable& table);

}  // namespace vigil::ebpf

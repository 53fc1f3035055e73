// Packet options: the rule options that test the packet's headers or its flow rather than payload
// bytes — dsize, ttl, id, ip_proto, itype, icode, flags, flow and sameip. None depends on the
// payload cursor, so the full matcher (rule_match.h) checks them once per evaluation, before the
// payload walk.
//
//   if (!detect::MatchNumeric(dsize_option, packet)) return false;
//   if (!detect::MatchFlow(flow_option, input)) return false;
//
// Numeric comparisons (NumberTest): N, =N, !N, <N, <=N, >N, >=N as written; `lo<>hi` is exclusive
// (Snort 3, Suricata; Snort 2 read dsize's `<>` inclusively), `lo<=>hi` inclusive (Snort 3), and
// `lo-hi` exclusive as Suricata reads it (Snort 2's ttl read it inclusively).
#pragma once

#include <cstdint>

#include "detect/rule_match.h"
#include "packet/packet.h"
#include "rules/options.h"

namespace vigil::detect {

// True when `value` passes `test`.
[[nodiscard]] bool MatchNumber(const rules::NumberTest& test, int64_t value);

// True when the numeric fields evaluated here are supported: dsize, ttl, id, ip_proto, itype,
// icode, icmp_id, icmp_seq, seq, ack, window (bsize / bufferlen are payload steps,
// option_program.h; the others need a header field vigil does not test yet).
[[nodiscard]] bool IsSupportedNumericField(rules::NumericField field);

// A numeric option on the packet: dsize is the packet's own payload size (also when the rule is
// evaluated on a stream chunk); ttl the IPv4 TTL or IPv6 hop limit; id the IPv4 identification
// (never matches IPv6, as in Suricata); ip_proto the transport protocol after IPv6 extension
// headers; itype / icode the ICMP or ICMPv6 type / code (never match other packets); icmp_id /
// icmp_seq the identifier / sequence number of an ICMP query (echo and its reply; for ICMPv4 also
// timestamp, information and address mask: Suricata's list), never matching other messages;
// seq / ack / window the TCP sequence number, acknowledgment number and window (never match
// other packets).
// False for an unsupported field.
[[nodiscard]] bool MatchNumeric(const rules::NumericOption& option, const packet::Packet& p);

// The TCP header's flag byte for the rule's letters (rules::TcpFlagBits numbers C and E in print
// order; on the wire CWR is 0x80 and ECE 0x40).
[[nodiscard]] uint8_t WireTcpFlags(uint8_t rule_bits);

// flags: on TCP packets only; the mask's flags are ignored; no modifier: exactly these flags,
// '+': at least these, '*': any of these, '!': none of these (Snort); "0": no flag set.
[[nodiscard]] bool MatchFlags(const rules::FlagsOption& option, const packet::Packet& p);

// flow: established / not_established need a tracked flow in that state, stateless always holds;
// to_server / to_client need a tracked flow and the packet's direction; with no flow
// (in.flow == nullptr or !has_flow) a state or direction never holds. only_stream holds on a
// reassembled chunk (in.rebuilt), no_stream elsewhere; only_frag / no_frag test whether the packet
// is an IP fragment.
[[nodiscard]] bool MatchFlow(const rules::FlowOption& option, const MatchInput& in);

// sameip: the source and destination addresses are equal.
[[nodiscard]] bool MatchSameip(const packet::Packet& p);

// fragbits: the IPv4 header's reserved, don't-fragment and more-fragments bits (an IPv6 packet
// has more-fragments only, from its fragment header; other packets never match), compared as
// flags compares TCP flags: exactly, '+' at least, '*' any of, '!' none of these.
[[nodiscard]] bool MatchFragbits(const rules::FragbitsOption& option, const packet::Packet& p);

// Suricata's tls.version: the version of the TLS handshake's side the packet travels from (the
// client's to the server, the server's to the client; app::TlsHandshake::client_tls_version,
// server_tls_version) equals `version`. False before that side's hello, and once the flow's
// handshake parser is gone (its handshake over).
[[nodiscard]] bool MatchTlsVersion(uint16_t version, const MatchInput& in);

// Suricata's stream_size on a TCP packet of a flow with a TCP session: the client's, the server's,
// both or either of in.flow->stream_size compared with the value. False for other packets.
[[nodiscard]] bool MatchStreamSize(const rules::StreamSizeOption& o, const MatchInput& in);

// Snort's sip_method / sip_stat_code on the packet's own payload, a SIP message recognized by its
// first line: a request line "METHOD SP Request-URI SP SIP/2.0" (sip_method: the method is one of
// the listed ones, compared without case; negated: a request whose method is none of them) or a
// status line "SIP/2.0 SP 3DIGIT SP ..." (sip_stat_code: the code is one of the listed codes, a
// one-digit value standing for its whole class, as "4" for 4xx). False for anything else.
[[nodiscard]] bool MatchSip(const rules::SipOption& o, const packet::Packet& p);

}  // namespace vigil::detect

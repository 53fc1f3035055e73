#!/usr/bin/env python3
"""Writes the seed frames of decode_fuzz into fuzz/seeds/decode_fuzz/.

Each seed is one byte choosing the link type (an index into kLinks in fuzz/decode_fuzz.cc) and
then a valid frame of that link type, so that the fuzzer starts from inputs that reach deep into
the decoder (options, extension headers, fragments, VLAN stacks) instead of having to discover
checksums and length fields by itself. Re-run after changing the seeds; the output is stable.
"""

import pathlib
import struct

# Indexes into kLinks in fuzz/decode_fuzz.cc.
ETHERNET, NULL, LOOP, RAW, IPV4, IPV6, SLL, SLL2 = range(8)

TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
HOP_BY_HOP, ROUTING, FRAGMENT, DEST_OPTS = 0, 43, 44, 60


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(proto: int, payload: bytes, options: bytes = b"", frag: int = 0) -> bytes:
    ihl = 5 + len(options) // 4
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(payload), 0x1234, frag,
                         64, proto, 0, bytes([192, 0, 2, 1]), bytes([198, 51, 100, 2])) + options
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def ipv6(next_header: int, payload: bytes) -> bytes:
    src = bytes.fromhex("20010db8000000000000000000000001")
    dst = bytes.fromhex("20010db8000000000000000000000002")
    return struct.pack("!IHBB", 0x60000000, len(payload), next_header, 64) + src + dst + payload


def ext(next_header: int, length: int = 8) -> bytes:
    return bytes([next_header, length // 8 - 1, 1, length - 4]) + bytes(length - 4)


def fragment(next_header: int, offset: int, more: bool, ident: int) -> bytes:
    return struct.pack("!BBHI", next_header, 0, offset | int(more), ident)


def tcp(payload: bytes = b"", options: bytes = b"", flags: int = 0x18) -> bytes:
    offset = 5 + len(options) // 4
    return struct.pack("!HHIIBBHHH", 1234, 80, 1, 2, offset << 4, flags, 65535, 0, 0) + options + payload


def udp(payload: bytes) -> bytes:
    return struct.pack("!HHHH", 1000, 53, 8 + len(payload), 0) + payload


def icmp(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack("!BBHHH", kind, 0, 0, 1, 1) + payload


def eth(ethertype: int) -> bytes:
    return bytes.fromhex("001122334455" "66778899aabb") + struct.pack("!H", ethertype)


def vlan(vid: int, ethertype: int) -> bytes:
    return struct.pack("!HH", vid, ethertype)


SYN_OPTIONS = bytes([2, 4, 5, 0xB4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7])
SLL_HEADER = bytes([0, 0, 0, 1, 0, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0])

SEEDS = {
    "eth_ipv4_tcp_options": bytes([ETHERNET]) + eth(0x0800) + ipv4(
        TCP, tcp(b"GET / HTTP/1.0\r\n\r\n", SYN_OPTIONS, 0x02), options=bytes([1, 1, 1, 0])),
    "eth_ipv4_udp_padded": bytes([ETHERNET]) + eth(0x0800) + ipv4(UDP, udp(b"hi")) + bytes(16),
    "eth_qinq_ipv4_icmp": bytes([ETHERNET]) + eth(0x88A8) + vlan(10, 0x8100) + vlan(20, 0x0800)
    + ipv4(ICMP, icmp(8, b"ping")),
    "eth_vlan_ipv6_chain_fragment_udp": bytes([ETHERNET]) + eth(0x8100) + vlan(5, 0x86DD) + ipv6(
        HOP_BY_HOP, ext(DEST_OPTS) + ext(ROUTING, 16) + ext(FRAGMENT) + fragment(UDP, 0, True, 7)
        + udp(b"first fragment")),
    "eth_ipv6_later_fragment": bytes([ETHERNET]) + eth(0x86DD) + ipv6(
        FRAGMENT, fragment(TCP, 1448, False, 7) + bytes(24)),
    "eth_arp": bytes([ETHERNET]) + eth(0x0806) + bytes(28),
    "null_ipv4_udp": bytes([NULL]) + struct.pack("<I", 2) + ipv4(UDP, udp(b"dns?")),
    "null_ipv6_icmpv6": bytes([NULL]) + struct.pack("<I", 30) + ipv6(ICMPV6, icmp(128, b"v6")),
    "loop_ipv6_tcp": bytes([LOOP]) + struct.pack("!I", 24) + ipv6(TCP, tcp(b"data")),
    "raw_ipv4_fragment": bytes([RAW]) + ipv4(TCP, bytes(32), frag=0x2000 | 100),
    "raw_ipv6_udp": bytes([RAW]) + ipv6(UDP, udp(b"raw")),
    "ipv4_tcp": bytes([IPV4]) + ipv4(TCP, tcp(b"x")),
    "ipv6_ah_tcp": bytes([IPV6]) + ipv6(51, bytes([TCP, 4]) + bytes(22) + tcp(b"ah")),
    "sll_ipv4_tcp": bytes([SLL]) + SLL_HEADER + struct.pack("!H", 0x0800) + ipv4(TCP, tcp(b"sll")),
    "sll2_ipv6_udp": bytes([SLL2]) + struct.pack("!HHIHBB", 0x86DD, 0, 3, 1, 0, 6)
    + bytes(8) + ipv6(UDP, udp(b"sll2")),
}


def main() -> None:
    out = pathlib.Path(__file__).resolve().parent / "decode_fuzz"
    out.mkdir(exist_ok=True)
    for name, data in SEEDS.items():
        assert len(data) < 2048, name
        (out / f"{name}.bin").write_bytes(data)
    print(f"wrote {len(SEEDS)} seeds to {out}")


if __name__ == "__main__":
    main()

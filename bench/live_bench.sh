#!/usr/bin/env bash
# Forwarding through a live link, vigil beside the kernel's own bridge, in one run:
#
#   sender ns [c0] — veth — [va  forwarder ns  vb] — veth — [s0] sink ns
#
# The forwarder is a Linux bridge (br0 over va and vb, MAC learning off: the replayed traffic
# holds both directions of its connections and enters on one side, which a learning bridge would
# send back where it came from; the anchor), or `vigil -i va:vb` with no rules or the Snort 3
# community rules, with 1 and 2 workers, over AF_PACKET and AF_XDP. The sender is vigil's own
# `blast` (tools/blast: sendmmsg batches, several times tcpreplay's rate, which sends a frame per
# system call), replaying a capture in a loop; the rate is what arrives at s0 (its rx_packets)
# over the sending time. Both run on this machine's cores: the figures are of the forwarder
# sharing them with the sender, as the kernel's bridge does. Traffic: 64-byte UDP frames over 256 address pairs
# (generated here), and trafgen's mixed traffic (HTTP, DNS, TLS; mixed-traffic.pcap holds
# captured super-frames up to 64 KiB, which no veth sender can put on a 1500-byte link).
# Each figure is the median of REPS runs (default 3). Writes BUILD/bench-live.md.
#   bench/live_bench.sh build-bench
set -euo pipefail
build=${1:?usage: bench/live_bench.sh BUILD_DIR}
reps=${REPS:-3}
loops=${LOOPS:-100}
cd "$(dirname "$0")/.."
vigil="$(pwd)/$build/src/cli/vigil"
[ "$(id -u)" -eq 0 ] || { echo "live_bench: needs root (network namespaces)" >&2; exit 0; }
blast="$(pwd)/$build/tools/blast/blast"
[ -x "$blast" ] || { echo "live_bench: $blast missing (build the blast target)" >&2; exit 0; }

work=$(mktemp -d)
p="vbench-$$"
cleanup() {
  pkill -f "$p-" 2>/dev/null || true
  for n in c f s; do ip netns del "$p-$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# 64-byte frames: Ethernet + IPv4 + UDP + 18 bytes of payload (60 bytes + the 4-byte FCS).
python3 - "$work/udp64.pcap" <<'PY'
import struct, sys
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
for i in range(4096):
    pair = i % 256
    src = bytes([10, 1, pair, 1]); dst = bytes([10, 2, 0, pair])
    payload = bytes(18)
    udp = struct.pack("!HHHH", 1024 + i % 64, 9, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    frame = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + udp
    out.write(struct.pack("<IIII", i // 1000, (i % 1000) * 1000, len(frame), len(frame)) + frame)
PY
"$build/tools/trafgen/trafgen" -o "$work/mixed.pcap" --seed 7 --flows 4000 --concurrency 400 \
  --packets 40000 >/dev/null 2>&1

# A fresh topology for every case (no state left by the one before: XDP programs, bridges),
# with `queues` queues on every veth (AF_XDP needs one per worker).
topology() {
  local q=$1
  for n in c f s; do ip netns del "$p-$n" 2>/dev/null || true; done
  for n in c f s; do ip netns add "$p-$n"; ip -n "$p-$n" link set lo up; done
  ip link add c0 netns "$p-c" numtxqueues "$q" numrxqueues "$q" type veth peer name va \
    netns "$p-f" numtxqueues "$q" numrxqueues "$q"
  ip link add s0 netns "$p-s" numtxqueues "$q" numrxqueues "$q" type veth peer name vb \
    netns "$p-f" numtxqueues "$q" numrxqueues "$q"
  for i in va vb; do
    ip netns exec "$p-f" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"
    ip -n "$p-f" link set "$i" up
  done
  ip netns exec "$p-c" sysctl -qw net.ipv6.conf.c0.disable_ipv6=1
  ip netns exec "$p-s" sysctl -qw net.ipv6.conf.s0.disable_ipv6=1
  ip -n "$p-c" link set c0 up
  ip -n "$p-s" link set s0 up
}

rx_s0() { ip netns exec "$p-s" cat /sys/class/net/s0/statistics/rx_packets; }
rx_bytes_s0() { ip netns exec "$p-s" cat /sys/class/net/s0/statistics/rx_bytes; }

# One replay: prints "Mpps Gbit/s delivered%".
measure() {
  local pcap=$1
  local p0 b0 t0 t1 p1 b1 sent
  p0=$(rx_s0); b0=$(rx_bytes_s0); t0=$(date +%s.%N)
  sent=$(ip netns exec "$p-c" "$blast" -i c0 -r "$pcap" --loops "$loops" | awk '{print $2}')
  t1=$(date +%s.%N)
  sleep 0.3
  p1=$(rx_s0); b1=$(rx_bytes_s0)
  python3 -c "import sys; p,b,t,s=float(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4]); print(f'{p/t/1e6:.3f} {b*8/t/1e9:.3f} {100*p/max(s,1):.1f}')" \
    "$((p1 - p0))" "$((b1 - b0))" "$(python3 -c "print($t1-$t0)")" "${sent:-0}"
}

median3() { sort -n -k1,1 | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }

rows=()
run_case() {
  local name=$1 traffic=$2
  local results=()
  for _ in $(seq "$reps"); do results+=("$(measure "$work/$traffic.pcap")"); done
  local m
  m=$(printf '%s\n' "${results[@]}" | median3)
  rows+=("| $name | $traffic | $(echo "$m" | awk '{print $1" | "$2" | "$3"%"}') |")
  echo "live_bench: $name $traffic: $m" >&2
}

start_vigil() {
  local args=$1
  : >"$work/vigil.log"
  ip netns exec "$p-f" "$vigil" -i va:vb $args -l "$work/out" --no-cache >"$work/vigil.log" 2>&1 &
  vigil_pid=$!
  for _ in $(seq 300); do grep -q "capturing on" "$work/vigil.log" && return 0; sleep 0.1; done
  echo "live_bench: vigil did not start: $(cat "$work/vigil.log")" >&2
  return 1
}
stop_vigil() { kill -INT "$vigil_pid"; wait "$vigil_pid" || true; }

printf 'alert udp any any -> any 12345 (msg:"never"; content:"never-present"; sid:1;)\n' >"$work/none.rules"
community=../shared/rules/snort3-community/snort3-community.rules

for traffic in udp64 mixed; do
  # The anchor: the kernel's bridge.
  topology 1
  ip netns exec "$p-f" sh -c "ip link add br0 type bridge && ip link set va master br0 &&
    ip link set vb master br0 && ip link set va type bridge_slave learning off &&
    ip link set vb type bridge_slave learning off && ip link set br0 up"
  run_case "Linux bridge" "$traffic"
  for capture in afpacket afxdp; do
    for z in 1 2; do
      for rules in none community; do
        [ "$rules" = community ] && [ ! -f "$community" ] && continue
        if [ "$capture" = afxdp ]; then topology "$z"; else topology 1; fi
        file=$work/none.rules
        [ "$rules" = community ] && file=$community
        start_vigil "--capture $capture -z $z -R $file" || continue
        label="no rules"
        [ "$rules" = community ] && label="snort3-community"
        run_case "vigil $capture, $z worker(s), $label" "$traffic"
        stop_vigil
      done
    done
  done
done

{
  echo "## Live forwarding (veth, blast sender, $loops loops; median of $reps)"
  echo
  echo "| forwarder | traffic | Mpps delivered | Gbit/s | delivered of sent |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$build/bench-live.md"

#!/usr/bin/env bash
# The control plane's cost to the data plane (issue 24's acceptance figure): vigil inline
# between two veths (-i va:vb, one worker), tcpreplay at top speed through it, and in
# alternating 5-second windows either nothing or 10 clients each polling `stats` 100 times a
# second on the control socket. The figure is frames vigil inspected and forwarded per second
# (capture.forwarded, read at each window's edges), median of ROUNDS windows of each kind.
#   tools/ops/stats_poll_cost.sh BUILD_DIR [RULES_DIR]   (root; writes nothing in the tree)
set -euo pipefail
build=${1:?usage: tools/ops/stats_poll_cost.sh BUILD_DIR [RULES_DIR]}
rules=${2:-../shared/rules/snort3-community/snort3-community.rules}
rounds=${ROUNDS:-3}
cd "$(dirname "$0")/../.."
vigil="$(pwd)/$build/src/cli/vigil"
[ "$(id -u)" -eq 0 ] || { echo "stats_poll_cost: needs root (network namespaces)" >&2; exit 0; }
work=$(mktemp -d)
p="vpoll-$$"
cleanup() {
  [ -n "${replay:-}" ] && kill "$replay" 2>/dev/null
  [ -n "${vpid:-}" ] && kill -INT "$vpid" 2>/dev/null && sleep 1
  for n in c v s; do ip netns pids "$p-$n" 2>/dev/null | xargs -r kill -9 2>/dev/null; ip netns del "$p-$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# Traffic: 4096 UDP frames of 200 bytes over 256 address pairs (the mixed-traffic capture holds
# super-frames no veth sender can replay).
pcap="$work/udp.pcap"
python3 - "$pcap" <<'PY'
import struct, sys
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
for i in range(4096):
    pair = i % 256
    payload = (b"GET /index.html?q=%d HTTP/1.1\r\nHost: example\r\n\r\n" % i).ljust(158, b"x")
    udp = struct.pack("!HHHH", 1024 + i % 64, 53, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                     bytes([10, 1, pair, 1]), bytes([10, 2, 0, pair]))
    frame = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + udp
    out.write(struct.pack("<IIII", i // 1000, (i % 1000) * 1000, len(frame), len(frame)) + frame)
PY
for n in c v s; do ip netns add "$p-$n"; done
ip link add c0 netns "$p-c" type veth peer name va netns "$p-v"
ip link add s0 netns "$p-s" type veth peer name vb netns "$p-v"
for x in "c c0" "v va" "v vb" "s s0"; do set -- $x; ip -n "$p-$1" link set "$2" up; done
ip netns exec "$p-v" "$vigil" -i va:vb -R "$rules" -l "$work" --unix-socket "$work/v.sock" \
  -A none >"$work/vigil.log" 2>&1 &
vpid=$!
for _ in $(seq 300); do grep -q "control socket on" "$work/vigil.log" && break; sleep 0.1; done
ip netns exec "$p-c" tcpreplay -i c0 --topspeed --loop=100000 "$pcap" >"$work/replay.log" 2>&1 &
replay=$!
sleep 3
kill -0 "$replay" || { cat "$work/replay.log" "$work/vigil.log"; exit 1; }
frames() { "$vigil" ctl --socket "$work/v.sock" stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["capture.forwarded"])'; }
poll() {  # 10 clients x 100 stats/s for $1 seconds
  python3 - "$work/v.sock" "$1" <<'PY'
import socket, sys, threading, time
path, secs = sys.argv[1], float(sys.argv[2])
count = [0]
def client():
    s = socket.socket(socket.AF_UNIX); s.connect(path); f = s.makefile("rb")
    end = time.time() + secs; nxt = time.time()
    while time.time() < end:
        s.sendall(b'{"command":"stats"}\n'); f.readline(); count[0] += 1
        nxt += 0.01; time.sleep(max(0, nxt - time.time()))
ts = [threading.Thread(target=client) for _ in range(10)]
[t.start() for t in ts]; [t.join() for t in ts]
print(count[0] / secs, file=sys.stderr)
PY
}
window() {  # $1: off|on; prints frames per second
  local a b t0 t1
  a=$(frames); t0=$(date +%s.%N)
  if [ "$1" = on ]; then poll 5 2>>"$work/rate"; else sleep 5; fi
  b=$(frames); t1=$(date +%s.%N)
  python3 -c "print(($b - $a) / ($t1 - $t0))"
}
off=(); on=()
for _ in $(seq "$rounds"); do off+=("$(window off)"); on+=("$(window on)"); done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mo=$(median "${off[@]}"); mn=$(median "${on[@]}")
echo "frames/s without pollers: ${off[*]} (median $mo)"
echo "frames/s with 10 x 100 stats/s: ${on[*]} (median $mn); stats answered per second: $(tr '\n' ' ' < "$work/rate")"
python3 -c "print('cost: %.2f%% of throughput' % (100 * (1 - $mn / $mo)))"

#!/usr/bin/env bash
# The control plane's cost to the data plane (issue 24's acceptance figure): vigil inline
# between two veths (-i va:vb, one worker), tcpreplay at top speed through it, and in
# alternating short windows either nothing or 10 clients each polling `stats` 100 times a
# second on the control socket. Two figures, because on a loaded 2-vCPU machine the first is
# noisier than the effect:
#  1. throughput side by side: frames vigil inspected and forwarded per second
#     (capture.forwarded) in ROUNDS rounds of one window without and one with pollers, the
#     order alternating (off-on, on-off, ...) so that drift cancels; the median of the rounds'
#     paired ratios with/without.
#  2. the worker's own cost of answering: the TSC cycles the worker spends producing counter
#     snapshots, counted by the worker (stats.snapshot_cycles, stats.snapshots), as a fraction
#     of the worker thread's CPU time (vigil-w0's /proc schedstat) and of wall time, over the
#     windows with pollers.
#  3. frames forwarded per second of the worker's CPU time, paired as in 1: what the worker gets
#     done with the CPU it is given, whatever share of the machine the scheduler gave it.
# The load average is printed at the start and the end.
#   tools/ops/stats_poll_cost.sh BUILD_DIR [RULES_FILE]   (root; writes nothing in the tree)
#   ROUNDS=10 WINDOW=3 tools/ops/stats_poll_cost.sh build
set -euo pipefail
build=${1:?usage: tools/ops/stats_poll_cost.sh BUILD_DIR [RULES_FILE]}
rules=${2:-../shared/rules/snort3-community/snort3-community.rules}
rounds=${ROUNDS:-10}
window_s=${WINDOW:-3}
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
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
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
# The worker thread (named vigil-w0 by vigil); its schedstat's first field is its time on a CPU
# in nanoseconds.
# (`ip netns exec` execs vigil: $vpid is vigil's.)
wtask=$(grep -l '^vigil-w0$' /proc/"$vpid"/task/*/comm 2>/dev/null | head -1 | xargs -r dirname)
[ -n "$wtask" ] || { echo "stats_poll_cost: no vigil-w0 thread" >&2; exit 1; }
# One sample: forwarded frames, snapshot cycles, snapshots, the TSC rate, frames the kernel
# dropped at the ring, the worker's CPU seconds, wall seconds.
sample() {
  "$vigil" ctl --socket "$work/v.sock" stats | python3 -c '
import json, sys
m = json.load(sys.stdin)
c = m["counters"]
print(c["capture.forwarded"], c.get("stats.snapshot_cycles", 0), c.get("stats.snapshots", 0),
      m.get("cycles_per_second", 0), c.get("capture.kernel_drops", 0), end=" ")'
  awk '{printf "%s ", $1 / 1e9}' "$wtask/schedstat"
  date +%s.%N
}
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
window() {  # $1: off|on; appends "kind a-sample b-sample" to $work/windows
  local a b
  a=$(sample)
  if [ "$1" = on ]; then poll "$window_s" 2>>"$work/rate"; else sleep "$window_s"; fi
  b=$(sample)
  echo "$1 $a $b" >>"$work/windows"
}
for r in $(seq "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then window off; window on; else window on; window off; fi
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/windows" "$work/rate" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
rates = [float(x) for x in open(sys.argv[2]).read().split()]
def parse(r):
    kind, v = r[0], [float(x) for x in r[1:]]
    # a: forwarded, snapshot cycles, snapshots, hz, kernel drops, worker CPU s, wall s; b: same
    a, b = v[:7], v[7:]
    wall = b[6] - a[6]
    return dict(kind=kind, fps=(b[0] - a[0]) / wall, cyc=b[1] - a[1], snaps=b[2] - a[2],
                hz=a[3], drops=(b[4] - a[4]) / wall, cpu=b[5] - a[5], wall=wall,
                fpc=(b[0] - a[0]) / max(b[5] - a[5], 1e-9))
w = [parse(r) for r in rows]
pairs = [(w[i], w[i + 1]) for i in range(0, len(w) - 1, 2)]
ratios, cpu_ratios = [], []
for x, y in pairs:
    off, on = (x, y) if x["kind"] == "off" else (y, x)
    ratios.append(on["fps"] / off["fps"])
    cpu_ratios.append(on["fpc"] / off["fpc"])
offs = [x["fps"] for x in w if x["kind"] == "off"]
ons = [x["fps"] for x in w if x["kind"] == "on"]
print("frames/s without pollers: %s (median %.0f)" % (" ".join("%.0f" % f for f in offs),
                                                      statistics.median(offs)))
print("frames/s with 10 x 100 stats/s: %s (median %.0f); stats answered per second: %s" % (
    " ".join("%.0f" % f for f in ons), statistics.median(ons),
    " ".join("%.0f" % r for r in rates)))
print("paired ratios with/without: %s" % " ".join("%.4f" % r for r in ratios))
print("ring drops/s, median without %.0f, with %.0f; worker CPU share of wall, median without "
      "%.0f%%, with %.0f%%" % (
          statistics.median(x["drops"] for x in w if x["kind"] == "off"),
          statistics.median(x["drops"] for x in w if x["kind"] == "on"),
          100 * statistics.median(x["cpu"] / x["wall"] for x in w if x["kind"] == "off"),
          100 * statistics.median(x["cpu"] / x["wall"] for x in w if x["kind"] == "on")))
q = statistics.quantiles(ratios, n=4) if len(ratios) >= 4 else [min(ratios), 0, max(ratios)]
print("throughput cost: %.2f%% (median of %d paired ratios; quartiles %.2f%% .. %.2f%%)" % (
    100 * (1 - statistics.median(ratios)), len(ratios), 100 * (1 - q[2]), 100 * (1 - q[0])))
q = statistics.quantiles(cpu_ratios, n=4) if len(cpu_ratios) >= 4 else [min(cpu_ratios), 0,
                                                                        max(cpu_ratios)]
print("frames per worker CPU second, paired ratios with/without: %s" % " ".join(
    "%.4f" % r for r in cpu_ratios))
print("per-CPU-second cost: %.2f%% (median of %d paired ratios; quartiles %.2f%% .. %.2f%%)" % (
    100 * (1 - statistics.median(cpu_ratios)), len(cpu_ratios), 100 * (1 - q[2]),
    100 * (1 - q[0])))
on = [x for x in w if x["kind"] == "on"]
hz = on[0]["hz"]
cyc = sum(x["cyc"] for x in on); snaps = sum(x["snaps"] for x in on)
cpu = sum(x["cpu"] for x in on); wall = sum(x["wall"] for x in on)
if hz > 0 and snaps > 0 and cpu > 0:
    s = cyc / hz
    print("worker's own cost with pollers: %.0f snapshots/s, %.1f us each, %.4f%% of the worker's "
          "CPU time (%.4f%% of wall time; worker busy %.0f%% of wall)" % (
              snaps / wall, 1e6 * s / snaps, 100 * s / cpu, 100 * s / wall, 100 * cpu / wall))
PY

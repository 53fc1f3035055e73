#!/usr/bin/env bash
# The seed's "with and without offload" figure (issue 21) on this machine: the tenant's server
# throughput under flood, with vigil's offloads inline in front of it and without them (the server
# defending itself: Linux SYN cookies on, dnsmasq alone). Writes BUILD_DIR/offload-table.md.
#
#   sudo bench/offload_table.sh build      [SECONDS per measurement, default 8]
#
#   client ns [c0 10.79.0.1 (ab), 10.80.0.1 (dnsperf), 10.81.0.1 (DNS flood)]
#     — veth — [va  vigil -i va:vb  vb] — veth — [s0 10.79.0.2: nginx :80, dnsmasq :53] server ns
#
# HTTP: ab (keep-alive off, 20 concurrent, going on after errors, a 10 s poll timeout: with 2 s
# one stalled moment ended the run with no figure) while hping3 sends spoofed SYNs
# (--rand-source) to port 80, at fixed rates (-i u100, -i u20: both columns are offered the same
# flood) and at --flood (what one hping3 process sends, which depends on what else the cores run);
# DNS: dnsperf from 10.80.0.1 at up to 5,000 q/s while hping3 sends queries from 10.81.0.1 at
# the same rates (open loop: a closed-loop dnsperf flood slows down by itself when its queries go
# unanswered). Each measurement runs its own vigil, inline in both columns (the same forwarding
# path), with the tenant's programs (synproxy; dns_ratelimit at 10,000 q/s per /24) or without;
# the table gives, beside each rate, the frames a second vigil received from the client side and
# the frames its tenant stage refused. HTTP_FLOODS / DNS_FLOODS ('|'-separated) choose the rows.
# Needs root, nginx, hping3, ab, dnsperf, dnsmasq (scripts/install-deps.sh).
set -euo pipefail
build=$(realpath "${1:?usage: bench/offload_table.sh BUILD_DIR [SECONDS]}")
secs=${2:-8}
vigil=$build/src/cli/vigil
[ "$(id -u)" -eq 0 ] || { echo "offload_table: needs root (network namespaces)" >&2; exit 77; }
for t in nginx hping3 ab dnsperf dnsmasq; do
  command -v $t >/dev/null || { echo "offload_table: $t is missing (scripts/install-deps.sh)" >&2; exit 77; }
done
[ -x "$vigil" ] && [ -f "$build/offloads/synproxy.bpf.o" ] || { echo "offload_table: build vigil and offloads first" >&2; exit 1; }

tag=vot$$
work=$(mktemp -d)
C="ip netns exec ${tag}c" V="ip netns exec ${tag}v" S="ip netns exec ${tag}s"
cleanup() {
  for n in c v s; do
    ip netns pids ${tag}$n 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del ${tag}$n 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
for n in c v s; do ip netns add ${tag}$n; ip netns exec ${tag}$n ip link set lo up; done
ip link add c0 netns ${tag}c type veth peer name va netns ${tag}v
ip link add s0 netns ${tag}s type veth peer name vb netns ${tag}v
$V sh -c 'sysctl -qw net.ipv6.conf.va.disable_ipv6=1 net.ipv6.conf.vb.disable_ipv6=1; ip link set va up; ip link set vb up'
$C sh -c 'ip addr add 10.79.0.1/24 dev c0; ip addr add 10.80.0.1/24 dev c0; ip addr add 10.81.0.1/24 dev c0; ip link set c0 up'
$S sh -c 'ip addr add 10.79.0.2/24 dev s0; ip link set s0 up; ip route add 10.80.0.0/24 dev s0; ip route add 10.81.0.0/24 dev s0; sysctl -qw net.ipv4.tcp_syncookies=1'

mkdir -p "$work/www" "$work/nginx" "$work/out"
echo "hello from nginx" >"$work/www/index.html"
cat >"$work/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1; pid $work/nginx/pid;
error_log $work/nginx/error.log; events { worker_connections 4096; }
http { access_log off; client_body_temp_path $work/nginx; proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx; uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen 10.79.0.2:80 backlog=128; root $work/www; } }
EOF
$S nginx -c "$work/nginx.conf" -p "$work/nginx" 2>/dev/null &
$S dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --listen-address=10.79.0.2 \
  --bind-interfaces --pid-file= --user=root --address=/example.test/10.1.2.3 2>/dev/null &
for i in $(seq 50); do $S curl -s -o /dev/null -m 1 http://10.79.0.2/ && break; sleep 0.1; done
printf 'example.test A\n' >"$work/queries"
# The flood's query for hping3 (example.test A, 30 bytes).
printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x04test\x00\x00\x01\x00\x01' \
  >"$work/query.bin"
: >"$work/empty.rules"

# struct dns_config: 10,000 q/s per /24 (above the legitimate client's 5,000), burst 10,000, slip 2.
dns_config=$(python3 -c 'import struct; print(" ".join("%02x" % b for b in struct.pack("<IIIII", 10000, 10000, 0, 0, 2) + bytes(36)))')

# One measurement: vigil inline ($1: with|without the offloads), the server under a flood ($2:
# http|dns) at $3 (hping3's rate: -i uN or --flood; "none": no flood), the legitimate
# client's rate. Prints "rate flood_pps refused": what the client got, the frames a second vigil
# received from the client side (the flood and the client: what both columns must see alike), and
# the frames vigil's tenant stage refused (the tenant's fair share, before any program ran).
measure() {
  local yaml=$work/vigil-$1.yaml
  if [ "$1" = with ]; then
    cat >"$yaml" <<EOF
tenants:
  - name: web
    match: { prefixes: [10.79.0.2/32] }
    programs:
      - program: synproxy
        maps: { ports: [[80, 1]] }
      - program: dns_ratelimit
        maps: { config: [[0, "$dns_config"]] }
EOF
  else
    printf 'tenants:\n  - name: web\n    match: { prefixes: [10.79.0.2/32] }\n' >"$yaml"
  fi
  rm -rf "$work/out" "$work/vigil.log"
  $V "$vigil" -i va:vb -c "$yaml" -R "$work/empty.rules" -l "$work/out" >"$work/vigil.log" 2>&1 &
  local vpid=$!
  for i in $(seq 100); do grep -q "capturing on" "$work/vigil.log" 2>/dev/null && break; sleep 0.1; done
  # Neighbours resolved on both sides, and vigil's first frames, before anything is measured.
  $C curl -s -o /dev/null -m 2 http://10.79.0.2/ || true
  for a in 10.80.0.1 10.81.0.1; do
    $C dig +short +time=1 +tries=2 -b $a @10.79.0.2 example.test >/dev/null || true
  done
  local fpid="" rate t0 t1
  t0=$(date +%s.%N)
  if [ "$2" = http ]; then
    if [ "$3" != none ]; then
      $C timeout $((secs + 2)) hping3 -q -S -p 80 --rand-source $3 10.79.0.2 >/dev/null 2>&1 &
      fpid=$!
      sleep 1
    fi
    rate=$($C ab -q -r -t "$secs" -n 1000000 -c 20 -s 10 http://10.79.0.2/index.html 2>/dev/null |
      awk '/Requests per second/ {print $4}' || true)
  else
    if [ "$3" != none ]; then
      $C timeout $((secs + 2)) hping3 -q -2 -p 53 -a 10.81.0.1 -d 30 -E "$work/query.bin" \
        $3 10.79.0.2 >/dev/null 2>&1 &
      fpid=$!
      sleep 1
    fi
    rate=$($C dnsperf -s 10.79.0.2 -a 10.80.0.1 -d "$work/queries" -l "$secs" -Q 5000 -t 1 \
      2>/dev/null | awk '/Queries per second/ {print $4}' || true)
  fi
  if [ -n "$fpid" ]; then
    kill $fpid 2>/dev/null || true
    wait $fpid 2>/dev/null || true
  fi
  t1=$(date +%s.%N)
  kill -INT $vpid
  wait $vpid || true
  python3 - "$work/out/stats.json" "${rate:-0}" "$t0" "$t1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])).get("counters", {})
seconds = float(sys.argv[4]) - float(sys.argv[3])
print(sys.argv[2], round(c.get("capture.va.packets", 0) / seconds), c.get("tenant.web.refused", 0))
PY
}

# The floods, from none to what one hping3 process sends at most (--flood). At the fixed rates
# both columns are offered the same flood; at --flood how much leaves the client depends on what
# else the two cores run (the server's own SYN handling, without the offload), so the columns see
# different floods there: compare the pps columns before the ratio.
http_floods=${HTTP_FLOODS:-"none|-i u100|-i u20|--flood"}
dns_floods=${DNS_FLOODS:-"none|-i u100|-i u20|--flood"}
row() {  # legitimate client, flood, then without's and with's "rate pps refused"
  python3 - "$@" <<'PY'
import sys
client, flood, a, af, ar, b, bf, br = sys.argv[1:]
ratio = f"{float(b) / float(a):.2f}x" if float(a) > 0 else "-"
print(f"| {client} | {flood} | {float(a):.0f} | {af} | {ar} | {float(b):.0f} | {bf} | {br} | {ratio} |")
PY
}
out=$build/offload-table.md
{
  echo "Server throughput under flood, vigil inline in both columns (with: synproxy, and"
  echo "dns_ratelimit at 10,000 q/s per /24; without: the server's own SYN cookies, dnsmasq alone)."
  echo "$secs s each, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start."
  echo "pps: frames a second vigil received from the client side (flood and legitimate client);"
  echo "refused: frames vigil's tenant stage refused for the tenant's fair share, legitimate or not."
  echo
  echo "| legitimate client | flood | without: rate | pps | refused | with: rate | pps | refused | with / without |"
  echo "|---|---|---|---|---|---|---|---|---|"
  IFS='|' read -ra floods <<<"$http_floods"
  for f in "${floods[@]}"; do
    row "ab -c 20, requests/s" "hping3 -S --rand-source $f" $(measure without http "$f") \
      $(measure with http "$f")
  done
  IFS='|' read -ra floods <<<"$dns_floods"
  for f in "${floods[@]}"; do
    row "dnsperf at 5,000 q/s, answers/s" "hping3 -2 queries from another /24, $f" \
      $(measure without dns "$f") $(measure with dns "$f")
  done
  echo
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$out"

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
# HTTP: ab (keep-alive off, 20 concurrent, going on after errors) while hping3 sends spoofed SYNs (--rand-source) to
# port 80; DNS: dnsperf from 10.80.0.1 at up to 5,000 q/s while dnsperf floods from 10.81.0.1 at
# 50,000 q/s. vigil runs inline in both columns (the same forwarding path), with the tenant's
# programs (synproxy; dns_ratelimit at 10,000 q/s per /24) or without. Needs root, nginx, hping3, ab,
# dnsperf, dnsmasq (scripts/install-deps.sh).
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
: >"$work/empty.rules"

# struct dns_config: 10,000 q/s per /24 (above the legitimate client's 5,000), burst 10,000, slip 2.
dns_config=$(python3 -c 'import struct; print(" ".join("%02x" % b for b in struct.pack("<IIIII", 10000, 10000, 0, 0, 2) + bytes(36)))')

run_column() {  # $1: with|without; prints "http_rps dns_qps"
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
  $V "$vigil" -i va:vb -c "$yaml" -R "$work/empty.rules" -l "$work/out" >"$work/vigil-$1.log" 2>&1 &
  local vpid=$!
  for i in $(seq 100); do grep -q "capturing on" "$work/vigil-$1.log" && break; sleep 0.1; done
  $C curl -s -o /dev/null -m 2 http://10.79.0.2/ || true
  # HTTP under a spoofed SYN flood.
  $C timeout $((secs + 2)) hping3 -q -S -p 80 --rand-source --flood 10.79.0.2 >/dev/null 2>&1 &
  local fpid=$!
  sleep 1
  local rps
  rps=$($C ab -q -r -t "$secs" -n 1000000 -c 20 -s 2 http://10.79.0.2/index.html 2>/dev/null |
    awk '/Requests per second/ {print $4}' || true)
  kill $fpid 2>/dev/null || true
  wait $fpid 2>/dev/null || true
  # DNS under a query flood from another /24.
  $C timeout $((secs + 2)) dnsperf -s 10.79.0.2 -a 10.81.0.1 -d "$work/queries" -l $((secs + 1)) \
    -Q 50000 -c 20 -q 1000 >/dev/null 2>&1 &
  fpid=$!
  sleep 1
  local qps
  qps=$($C dnsperf -s 10.79.0.2 -a 10.80.0.1 -d "$work/queries" -l "$secs" -Q 5000 -t 1 2>/dev/null |
    awk '/Queries per second/ {print $4}' || true)
  kill $fpid 2>/dev/null || true
  wait $fpid 2>/dev/null || true
  kill -INT $vpid
  wait $vpid || true
  echo "${rps:-0} ${qps:-0}"
}

read -r without_rps without_qps < <(run_column without)
read -r with_rps with_qps < <(run_column with)
out=$build/offload-table.md
{
  echo "| under flood ($secs s each, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)) | without offload | with offload | ratio |"
  echo "|---|---|---|---|"
  python3 - "$without_rps" "$with_rps" "$without_qps" "$with_qps" <<'PY'
import sys
a, b, c, d = map(float, sys.argv[1:])
r = lambda x, y: f"{y / x:.1f}x" if x > 0 else "-"
print(f"| HTTP requests/s (ab -c 20) under a spoofed SYN flood (hping3 --flood --rand-source) | {a:.0f} | {b:.0f} | {r(a, b)} |")
print(f"| DNS answers/s (dnsperf, 5,000 q/s offered) under a 50,000 q/s query flood from another /24 | {c:.0f} | {d:.0f} | {r(c, d)} |")
PY
} | tee "$out"

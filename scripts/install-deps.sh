#!/usr/bin/env bash
# Installs every Debian package that vigil's build, tests, tools, fuzzers and benchmarks need.
# Idempotent: quiet and fast when everything is already present. Uses sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  clang llvm lld libclang-rt-14-dev
  libvectorscan-dev libpcre2-dev libpcap-dev libbpf-dev libelf-dev zlib1g-dev libasmjit-dev
  linux-libc-dev
  libyaml-cpp-dev libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
  tcpdump tshark iproute2 clang-format
  # tools/fairness draws its plots with gnuplot (PNG output, no X11).
  gnuplot-nox
  # Live data plane (AF_XDP) and its end-to-end tests: real servers and clients in namespaces.
  libxdp-dev python3 curl dnsmasq-base bind9-dnsutils tcpreplay ethtool
  # Operations (src/control): promtool checks /metrics, headless Chromium loads the dashboard,
  # EVE goes to a real redis-server (hiredis) and to librdkafka's mock cluster.
  prometheus chromium redis-server libhiredis-dev librdkafka-dev
  # The offloads' namespace tests and their with/without table (issue 21): a real HTTP server,
  # spoofed SYN floods, HTTP and DNS load generators.
  nginx-light hping3 apache2-utils dnsperf
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

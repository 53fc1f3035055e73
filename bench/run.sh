#!/usr/bin/env bash
# Runs the benchmarks of a Release build and writes BUILD_DIR/bench-results.{json,md}.
#   bench/run.sh build-bench
# Needs ../shared/pcaps and ../shared/rules; benchmarks whose inputs are absent report an error
# row instead of a figure. Each figure is the median of REPETITIONS runs (default 5).
set -euo pipefail
build=${1:?usage: bench/run.sh BUILD_DIR}
reps=${REPETITIONS:-5}
cd "$(dirname "$0")/.."

"$build/bench/micro_bench" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_out="$build/bench-results.json" --benchmark_out_format=json

# End to end: the vigil command on the real capture, as a user runs it (median wall time).
e2e=()
for rules in snort3-community et-open-suricata-2024; do
  dir=../shared/rules/$rules
  [ -d "$dir" ] && [ -f ../shared/pcaps/mixed-traffic.pcap ] || continue
  args=()
  for f in "$dir"/*.rules; do args+=(-R "$f"); done
  out=$(mktemp -d)
  times=()
  for _ in $(seq "$reps"); do
    "$build/src/cli/vigil" -r ../shared/pcaps/mixed-traffic.pcap "${args[@]}" -l "$out" -A none \
      2>/dev/null
    times+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$out/stats.json")")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  e2e+=("$rules $median $(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["bytes"], s["packets"], s["alerts"])' "$out/stats.json")")
  rm -rf "$out"
done

python3 - "$build/bench-results.json" "$build/bench-results.md" "${e2e[@]}" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))
lines = ["| benchmark | median time | throughput | items/s | extra |", "|---|---|---|---|---|"]
for b in res["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    gbps = b.get("bytes_per_second", 0) * 8 / 1e9
    ips = b.get("items_per_second", 0)
    extra = ", ".join(f"{k}={b[k]:.4g}" for k in ("rules_enabled", "full_match_fraction") if k in b)
    lines.append(f"| {b['run_name']} | {b['real_time']:.2f} {b['time_unit']} | {gbps:.2f} Gbit/s | {ips/1e6:.2f} M | {extra} |")
lines += ["", "| end to end (vigil -r mixed-traffic.pcap, -A none) | median s | Gbit/s | packets/s | alerts |", "|---|---|---|---|---|"]
for row in sys.argv[3:]:
    name, sec, nbytes, pkts, alerts = row.split()
    sec = float(sec)
    lines.append(f"| {name} | {sec:.3f} | {int(nbytes)*8/sec/1e9:.2f} | {int(pkts)/sec/1e3:.0f} K | {alerts} |")
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY

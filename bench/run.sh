#!/usr/bin/env bash
# Runs the benchmarks of a Release build and writes BUILD_DIR/bench-results.{json,md}.
#   bench/run.sh build-bench
# Needs ../shared/pcaps and ../shared/rules; benchmarks whose inputs are absent report an error
# row instead of a figure. Each figure is the median of REPETITIONS runs (default 5).
set -euo pipefail
build=${1:?usage: bench/run.sh BUILD_DIR}
reps=${REPETITIONS:-5}
cd "$(dirname "$0")/.."

# Google Benchmark binaries; their JSON files are merged into one table below.
results=()
for b in micro_bench rules_bench ebpf_bench flow_bench; do
  [ -x "$build/bench/$b" ] || continue
  reps_b=$reps
  [ "$b" = flow_bench ] && reps_b=3  # one million flows per run: three runs are enough
  "$build/bench/$b" --benchmark_repetitions="$reps_b" --benchmark_report_aggregates_only=true \
    --benchmark_out="$build/bench-$b.json" --benchmark_out_format=json
  results+=("$build/bench-$b.json")
done
python3 - "$build/bench-results.json" "${results[@]}" <<'PY'
import json, sys
merged = {"benchmarks": []}
for path in sys.argv[2:]:
    merged["benchmarks"] += json.load(open(path))["benchmarks"]
json.dump(merged, open(sys.argv[1], "w"), indent=1)
PY

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
    known = ("rules_enabled", "full_match_fraction", "pps", "table_MB", "stream_MB", "peak_rss_MB",
             "evicted", "ooo_fraction", "insns", "ns_per_insn")
    extra = ", ".join(f"{k}={b[k]:.4g}" for k in known if k in b)
    lines.append(f"| {b['run_name']} | {b['real_time']:.2f} {b['time_unit']} | {gbps:.2f} Gbit/s | {ips/1e6:.2f} M | {extra} |")
lines += ["", "| end to end (vigil -r mixed-traffic.pcap, -A none) | median s | Gbit/s | packets/s | alerts |", "|---|---|---|---|---|"]
for row in sys.argv[3:]:
    name, sec, nbytes, pkts, alerts = row.split()
    sec = float(sec)
    lines.append(f"| {name} | {sec:.3f} | {int(nbytes)*8/sec/1e9:.2f} | {int(pkts)/sec/1e3:.0f} K | {alerts} |")
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY

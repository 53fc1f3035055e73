#!/usr/bin/env bash
# Runs the benchmarks of a Release build and writes BUILD_DIR/bench-results.{json,md}.
#   bench/run.sh build-bench
# Needs ../shared/pcaps and ../shared/rules; benchmarks whose inputs are absent report an error
# row instead of a figure. Each figure is the median of REPETITIONS runs (default 5; flow_bench
# 3, the vigil command E2E_REPETITIONS, default 3).
set -euo pipefail
build=${1:?usage: bench/run.sh BUILD_DIR}
reps=${REPETITIONS:-5}
# The vigil command compiles the ruleset on every run (ET Open: about 45 s), so it runs fewer times.
e2e_reps=${E2E_REPETITIONS:-3}
cd "$(dirname "$0")/.."

# Google Benchmark binaries; their JSON files are merged into one table below.
results=()
for b in micro_bench rules_bench ebpf_bench offload_bench flow_bench; do
  [ -x "$build/bench/$b" ] || continue
  reps_b=$reps
  extra=()
  [ "$b" = flow_bench ] && reps_b=3  # one million flows per run: three runs are enough
  # ebpf_bench's figures are ratios between its benchmarks: their repetitions are interleaved so
  # that a change in the machine's load falls on every engine alike.
  [ "$b" = ebpf_bench ] && reps_b=$((reps * 3)) && extra=(--benchmark_enable_random_interleaving=true)
  "$build/bench/$b" --benchmark_repetitions="$reps_b" --benchmark_report_aggregates_only=true \
    --benchmark_out="$build/bench-$b.json" --benchmark_out_format=json "${extra[@]}"
  results+=("$build/bench-$b.json")
done
python3 - "$build/bench-results.json" "${results[@]}" <<'PY'
import json, sys
merged = {"benchmarks": []}
for path in sys.argv[2:]:
    merged["benchmarks"] += json.load(open(path))["benchmarks"]
json.dump(merged, open(sys.argv[1], "w"), indent=1)
PY

# End to end, engine only (engine_bench: capture in memory, whole pipeline): one process per
# ruleset, which compiles it once and runs {mixed-traffic, trafgen} x {1 thread, every core}.
# The trafgen capture is generated here (seeded: the same bytes every time).
traffic=()
[ -f ../shared/pcaps/mixed-traffic.pcap ] && traffic+=(--capture ../shared/pcaps/mixed-traffic.pcap)
if [ -x "$build/tools/trafgen/trafgen" ]; then
  [ -f "$build/trafgen-bench.pcap" ] ||
    "$build/tools/trafgen/trafgen" -o "$build/trafgen-bench.pcap" --seed 1 --flows 20000 \
      --concurrency 2000 --packets 300000 --ooo 0.01 --retrans 0.01 >/dev/null
  traffic+=(--capture "$build/trafgen-bench.pcap")
fi
engine_rows="$build/bench-engine.jsonl"
: >"$engine_rows"
for rules in snort3-community et-open-suricata-2024; do
  [ -d "../shared/rules/$rules" ] && [ ${#traffic[@]} -gt 0 ] || continue
  "$build/bench/engine_bench" --rules "../shared/rules/$rules" "${traffic[@]}" --threads 1 \
    --threads 0 --repetitions "$reps" >>"$engine_rows"
done

# The vigil command on the real capture, as a user runs it (median wall time), and Snort 3 on the
# same capture and rules when a `snort` binary is on PATH (-A none -k none, one packet thread).
e2e=()
for rules in snort3-community et-open-suricata-2024; do
  dir=../shared/rules/$rules
  [ -d "$dir" ] && [ -f ../shared/pcaps/mixed-traffic.pcap ] || continue
  args=()
  snort_args=()
  for f in "$dir"/*.rules; do args+=(-R "$f"); snort_args+=(-R "$f"); done
  out=$(mktemp -d)
  times=()
  for _ in $(seq "$e2e_reps"); do
    "$build/src/cli/vigil" -r ../shared/pcaps/mixed-traffic.pcap "${args[@]}" -l "$out" -A none \
      2>/dev/null
    times+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$out/stats.json")")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  snort_median=-
  if command -v snort >/dev/null; then
    stimes=()
    for _ in $(seq "$e2e_reps"); do
      t0=$(date +%s.%N)
      if snort -q -r ../shared/pcaps/mixed-traffic.pcap "${snort_args[@]}" -A none -k none -z 1 \
        >/dev/null 2>&1; then
        stimes+=("$(python3 -c "import sys; print(float(sys.argv[1]) - float(sys.argv[2]))" "$(date +%s.%N)" "$t0")")
      fi
    done
    [ ${#stimes[@]} -gt 0 ] &&
      snort_median=$(printf '%s\n' "${stimes[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  fi
  e2e+=("$rules $median $(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["bytes"], s["packets"], s["alerts"])' "$out/stats.json") $snort_median")
  rm -rf "$out"
done

# Start-up (the vigil command's "startup.total_s": rules parsed, plan compiled) per ruleset: cold
# with an empty database cache, then warm from the cache it filled; median of 3 each. Snort 3.11's
# own figures on this kind of machine are in ../shared/TARGETS.md (2.2 s cold / 0.4 s cached for
# snort3-community, 4.5 s for ET Open 2017).
startup_rows="$build/bench-startup.jsonl"
: >"$startup_rows"
for rules in snort3-community et-open-snort2.9-2017 et-open-suricata-2024; do
  dir=../shared/rules/$rules
  [ -d "$dir" ] && [ -f ../shared/pcaps/mixed-traffic.pcap ] || continue
  args=()
  for f in "$dir"/*.rules; do args+=(-R "$f"); done
  out=$(mktemp -d)
  for phase in cold cold cold warm warm warm; do
    [ "$phase" = cold ] && rm -rf "$out/cache"
    "$build/src/cli/vigil" -r ../shared/pcaps/mixed-traffic.pcap "${args[@]}" -l "$out" -A none \
      --cache-dir "$out/cache" 2>/dev/null
    python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["startup"]; s.update(rules=sys.argv[2], phase=sys.argv[3]); print(json.dumps(s))' \
      "$out/stats.json" "$rules" "$phase" >>"$startup_rows"
  done
  rm -rf "$out"
done

python3 - "$build/bench-results.json" "$build/bench-results.md" "$engine_rows" "$startup_rows" "${e2e[@]}" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))
engine = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
startup = [json.loads(l) for l in open(sys.argv[4]) if l.strip()]
res["engine"] = engine
res["startup"] = startup
json.dump(res, open(sys.argv[1], "w"), indent=1)
lines = ["| benchmark | median time | throughput | items/s | extra |", "|---|---|---|---|---|"]
for b in res["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    gbps = f"{b['bytes_per_second'] * 8 / 1e9:.2f} Gbit/s" if "bytes_per_second" in b else "-"
    ips = b.get("items_per_second", b.get("pps"))  # flow_bench counts packets as pps
    ips = f"{ips / 1e6:.2f} M" if ips else "-"
    known = ("rules_enabled", "full_match_fraction", "table_MB", "stream_MB", "peak_rss_MB",
             "evicted", "ooo_fraction", "insns", "ns_per_insn")
    extra = ", ".join(f"{k}={b[k]:.4g}" for k in known if k in b)
    lines.append(f"| {b['run_name']} | {b['real_time']:.2f} {b['time_unit']} | {gbps} | {ips} | {extra} |")
lines += ["", "| engine (capture in memory) | rules enabled | threads | median s | Gbit/s | Mpps | cycles/packet | full-match fraction | alerts | peak RSS MB |",
          "|---|---|---|---|---|---|---|---|---|---|"]
for e in engine:
    lines.append(f"| {e['capture']} / {e['rules']} | {e['rules_enabled']} | {e['threads']} | {e['seconds']:.3f} | {e['gbit_per_s']:.2f} | {e['mpps']:.2f} | {e['cycles_per_packet']:.0f} | {100*e['full_match_fraction']:.2f}% | {e['alerts']} | {e['peak_rss_mb']:.0f} |")
lines += ["", "| end to end (vigil -r mixed-traffic.pcap, -A none) | median s | Gbit/s | packets/s | alerts | snort 3 median s | vigil speed-up |", "|---|---|---|---|---|---|---|"]
for row in sys.argv[5:]:
    name, sec, nbytes, pkts, alerts, snort = row.split()
    sec = float(sec)
    ratio = f"{float(snort)/sec:.1f}x" if snort != "-" else "- (no snort on PATH)"
    lines.append(f"| {name} | {sec:.3f} | {int(nbytes)*8/sec/1e9:.2f} | {int(pkts)/sec/1e3:.0f} K | {alerts} | {snort} | {ratio} |")
def median(v):
    v = sorted(v)
    return v[len(v) // 2] if v else float("nan")
lines += ["", "| start-up (vigil, median of 3) | cold s | parse s | compile s | literals | warm s | cache hits |",
          "|---|---|---|---|---|---|---|"]
for name in dict.fromkeys(r["rules"] for r in startup):
    cold = [r for r in startup if r["rules"] == name and r["phase"] == "cold"]
    warm = [r for r in startup if r["rules"] == name and r["phase"] == "warm"]
    lines.append(f"| {name} | {median([r['total_s'] for r in cold]):.2f} | {median([r['parse_s'] for r in cold]):.2f} | "
                 f"{median([r['compile_s'] for r in cold]):.2f} | {int(cold[0]['literals']) if cold else '-'} | "
                 f"{median([r['total_s'] for r in warm]):.2f} | {int(median([r['cache_hits'] for r in warm]))} |")
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY

# eBPF (issue 22): each bench/xdp program's ns per run on every engine beside the same C source
# compiled natively, medians of ebpf_bench's interleaved repetitions. CPU time for what runs in
# this process; the kernel's JIT is timed by the kernel (BPF_PROG_TEST_RUN, its harness included).
# uBPF's figures are ../shared/TARGETS.md's (another machine: for scale only).
python3 - "$build/bench-results.json" "$build/bench-results.md" <<'PY'
import json, sys
res = {b["run_name"].split("/")[0]: b for b in json.load(open(sys.argv[1]))["benchmarks"]
       if b.get("aggregate_name") == "median" and b["run_name"].startswith("BM_")}
ubpf = {"Pass": ("4.7", "34"), "ParseLookup": ("33.2", "498"), "Checksum": ("8.6", "825")}
def ns(kind, prog, manual=False):
    b = res.get(f"BM_{kind}{prog}")
    if b is None or b.get("error_occurred"):
        return None
    t = b["real_time"] if manual else b["cpu_time"]
    return t * {"ns": 1, "us": 1e3, "ms": 1e6}[b["time_unit"]]
fmt = lambda v: "-" if v is None else f"{v:.1f}"
lines = ["", "| eBPF program (ns per run) | native -O2 | native, no SIMD | JIT (RunXdp) | JIT / native | "
         "JIT code alone | interpreter | kernel JIT | uBPF JIT* | uBPF interpreter* |",
         "|---|---|---|---|---|---|---|---|---|---|"]
for prog in ("Pass", "ParseLookup", "Checksum"):
    native, jit = ns("Native", prog), ns("Jit", prog)
    ratio = f"{jit / native:.2f}x" if native and jit else "-"
    lines.append(f"| {prog} | {fmt(native)} | {fmt(ns('NativeScalar', prog))} | {fmt(jit)} | {ratio} | "
                 f"{fmt(ns('JitCode', prog))} | {fmt(ns('Interp', prog))} | "
                 f"{fmt(ns('Kernel', prog, manual=True))} | {ubpf[prog][0]} | {ubpf[prog][1]} |")
lines.append("")
lines.append("*uBPF: ../shared/TARGETS.md (another machine). Native: the same C source (bench/xdp), "
             "clang -O2 for the host; the kernel's figure includes BPF_PROG_TEST_RUN's harness.")
if any(ns("Jit", p) for p in ubpf):
    open(sys.argv[2], "a").write("\n".join(lines) + "\n")
    print("\n".join(lines))
PY

# The tenant stage's cost on the engine benchmark (issue 20): the capture through one worker
# without tenants, with the demux alone, and with the whole stage (demux, accounting, the
# scheduler's hand-outs), in turn; medians of the paired losses, and the same pairing with no
# tenants in any arm (its noise floor).
if [ -x "$build/bench/tenant_bench" ] && [ -d ../shared/rules/snort3-community ] &&
  [ -f ../shared/pcaps/mixed-traffic.pcap ]; then
  tenant_args=(--rules ../shared/rules/snort3-community --capture ../shared/pcaps/mixed-traffic.pcap
    --pairs 31)
  "$build/bench/tenant_bench" "${tenant_args[@]}" | tee "$build/bench-tenant.txt"
  "$build/bench/tenant_bench" "${tenant_args[@]}" --noise-floor | tee -a "$build/bench-tenant.txt"
  python3 - "$build/bench-tenant.txt" "$build/bench-results.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
names = {"accounting": "accounting and scheduling (stage vs demux)",
         "stage": "tenant stage, demux included (stage vs none)"}
lines = ["", "| tenant stage (mixed-traffic, snort3-community, one core) | base s | with s | loss, median of rounds | quartiles | ns/packet | fastest-pass loss |",
         "|---|---|---|---|---|---|---|"]
for r in rows:
    name = names[r["comparison"]] + (" — noise floor" if r["noise_floor"] else "")
    lines.append(f"| {name} | {r['off_s']:.4f} | {r['on_s']:.4f} | {r['loss_pct']:.2f}% | "
                 f"{r['loss_q1']:.2f}%..{r['loss_q3']:.2f}% | {r['ns_per_packet']:.1f} | {r['fastest_loss_pct']:.2f}% |")
open(sys.argv[2], "a").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
fi

# Live forwarding through veth, vigil beside the kernel's bridge (root only; it says so otherwise).
bash bench/live_bench.sh "$build" && cat "$build/bench-live.md" >>"$build/bench-results.md" || true

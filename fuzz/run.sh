#!/usr/bin/env bash
# Runs every libFuzzer binary in BUILD_DIR/fuzz for SECONDS each and prints one line per fuzzer.
#
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DVIGIL_FUZZ=ON
#   cmake --build build-fuzz && fuzz/run.sh build-fuzz 60
#
# Each fuzzer NAME keeps its corpus in fuzz/corpus-NAME/ (git-ignored, grows from run to run) and
# also reads the checked-in seeds in fuzz/seeds/NAME/ when that folder exists. Crash inputs and
# logs go to fuzz/artifacts/. Exits 1 when any fuzzer crashed or failed, 2 on bad usage.
set -u

if [[ $# -ne 2 || ! $2 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build_dir=$1
seconds_each=$2  # not $SECONDS: bash keeps its own clock in that name
fuzz_dir=$(cd "$(dirname "$0")" && pwd)
artifacts="$fuzz_dir/artifacts"
mkdir -p "$artifacts"

status=0
found=0
for bin in "$build_dir"/fuzz/*; do
  [[ -f $bin && -x $bin ]] || continue
  found=$((found + 1))
  name=$(basename "$bin")
  corpus="$fuzz_dir/corpus-$name"
  mkdir -p "$corpus"
  dirs=("$corpus")  # new inputs go to the first folder only; the seeds stay untouched
  [[ -d $fuzz_dir/seeds/$name ]] && dirs+=("$fuzz_dir/seeds/$name")
  # Seeds the build makes (elf_fuzz: the BPF objects compiled from tests/ebpf).
  [[ $name == elf_fuzz && -d $build_dir/src/ebpf/bpf ]] && dirs+=("$build_dir/src/ebpf/bpf")
  log="$artifacts/$name.log"

  "$bin" -max_total_time="$seconds_each" -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name-" "${dirs[@]}" >"$log" 2>&1
  rc=$?

  # libFuzzer ends a clean run with "Done N runs in S second(s)"; after a crash only the final
  # stats say how far it got.
  runs=$(sed -n 's/^Done \([0-9]*\) runs in.*/\1/p' "$log" | tail -n 1)
  [[ -n $runs ]] || runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  [[ -n $runs ]] || runs="?"
  corpus_size=$(find "$corpus" -type f | wc -l)

  if [[ $rc -eq 0 ]]; then
    printf '%-24s ok     %s runs in %ss, corpus %s inputs\n' "$name" "$runs" "$seconds_each" \
      "$corpus_size"
  else
    status=1
    summary=$(grep -m 1 -E '^SUMMARY:|^==[0-9]+==ERROR' "$log" || true)
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    printf '%-24s FAILED exit %d after %s runs: %s (input: %s, log: %s)\n' "$name" "$rc" "$runs" \
      "${summary:-see log}" "${crash:-none}" "$log"
  fi
done

if [[ $found -eq 0 ]]; then
  echo "no fuzzer binaries in $build_dir/fuzz" >&2
  exit 2
fi
exit $status

#!/usr/bin/env bash
# The libFuzzer leg: the fuzz preset (clang++, the whole tree with ASan + UBSan and libFuzzer's
# coverage) builds every fuzz target, then each runs for FUZZ_SECONDS (default 20) from its
# seed corpus with its dictionary, JOBS (default 2) at a time. A target is one directory of
# tests/fuzz/corpus/. Fails on any crash, broken invariant, leak, sanitizer report or slow
# input (over 10 s); the input that did it is kept as build/fuzz/artifacts/<target>-*, and the
# log as build/fuzz/logs/<target>.log. Ends with one line per target (runs, coverage).
# Usage: .ci/fuzz.sh [TARGET...]   (default: every target)
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-20}"
jobs="${JOBS:-2}"
corpus=tests/fuzz/corpus
out=build/fuzz

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for dir in "$corpus"/*/; do targets+=("$(basename "$dir")"); done
fi

cmake --preset fuzz >/dev/null
cmake --build "$out" -j"$jobs" --target "${targets[@]/#/fuzz_}"

rm -rf "$out/work" "$out/logs" "$out/artifacts"
mkdir -p "$out/logs" "$out/artifacts"

# One target: new inputs go to a scratch copy, never into the repository's seeds.
run_one() {
  local t=$1
  mkdir -p "$out/work/$t"
  "$out/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -dict="$corpus/$t.dict" -artifact_prefix="$out/artifacts/$t-" \
    "$out/work/$t" "$corpus/$t" >"$out/logs/$t.log" 2>&1 && echo 0 >"$out/logs/$t.rc" ||
    echo $? >"$out/logs/$t.rc"
}

running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

failed=()
for t in "${targets[@]}"; do
  [ "$(cat "$out/logs/$t.rc" 2>/dev/null)" = 0 ] || failed+=("$t")
done

for t in "${targets[@]}"; do
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/logs/$t.log")
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$out/logs/$t.log" | tail -1)
  echo "fuzz_$t: ${runs:-?} runs in ${seconds}s, ${cov:-no coverage line}"
done
if [ ${#failed[@]} -gt 0 ]; then
  for t in "${failed[@]}"; do
    echo "fuzz_$t FAILED; its log ($out/logs/$t.log) ends:"
    tail -40 "$out/logs/$t.log"
  done
  exit 1
fi

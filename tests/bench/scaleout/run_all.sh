#!/bin/sh
# The scale-out figures of tests/bench/RESULTS.md ("Scale-out (SPEC 9)") in one bounded session
# (about 12 minutes on 2 cores): the write() floor, then fan-out runs interleaved by layout,
# the Redis cost tool, the dead-instance tool, and the floor again.
#
#   run_all.sh BUILD_DIR OUT_DIR [HOST_BUILD_DIR]
#   run_all.sh build/bench-helper /tmp/scaleout-figures
#
# BUILD_DIR holds the tools (tests/bench/...); HOST_BUILD_DIR (default BUILD_DIR) the
# presence-host and libpresence.so under test. Every run appends one JSON line to OUT_DIR/*.json
# and its table to OUT_DIR/session.log.
set -eu
build=$1
out=$2
hosts=${3:-$1}
S="$build/tests/bench/scaleout"
L="$build/tests/bench/load"
HB="--host-bin $hosts/host-stub/presence-host --plugin $hosts/plugin/libpresence.so"
mkdir -p "$out"
log="$out/session.log"
: > "$log"
say() { echo "$@" | tee -a "$log"; }
run() {
    say "\$ $*"
    "$@" 2>&1 | grep -v '^{' | tee -a "$log"
}

say "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
say "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
say "redis: $(redis-server --version)"

run "$L/write_floor" --frames 300000 --pin

# 1. Fan-out. Same users, graph and rate per group; layouts interleaved so drift hits all.
F="$S/scaleout_fanout $HB --users 2000 --duration 8 --warmup-s 2 --max-run-s 90"
for round in 1 2; do
    for layout in alone single split; do
        run $F --friends 100 --rate 1000 --layout $layout --pin --json "$out/fanout_100f_1k.json"
    done
done
for layout in alone single split; do
    run $F --friends 10 --rate 2500 --layout $layout --pin --json "$out/fanout_10f_2500.json"
done
# The SPEC's 10,000 changes/s: servers on one core (pinned), then spread over both (unpinned).
for layout in alone single split; do
    run $F --friends 10 --rate 10000 --layout $layout --pin --json "$out/fanout_10f_10k.json"
done
run $F --friends 10 --rate 10000 --layout split --json "$out/fanout_10f_10k.json"
for layout in alone split; do
    run $F --friends 100 --rate 10000 --layout $layout --pin --json "$out/fanout_100f_10k.json"
done
run $F --friends 100 --rate 10000 --layout split --json "$out/fanout_100f_10k.json"

# 2. Redis cost: two friend counts at 1,000 changes/s, then 5,000 changes/s (more batching).
run "$S/scaleout_redis_cost" $HB --users 2000 --friends 10,200 --rate 1000 --phase-s 5 --pin \
    --json "$out/redis_cost.json"
run "$S/scaleout_redis_cost" $HB --users 2000 --friends 10 --rate 5000 --phase-s 5 --pin \
    --json "$out/redis_cost.json"

# 3. Dead instance: 20 kill -9 runs, then 10,000 users reaped.
run "$S/scaleout_detect" $HB --runs 20 --reap-users 10000 --watchers 100 --json "$out/detect.json"

run "$L/write_floor" --frames 300000 --pin
say "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"

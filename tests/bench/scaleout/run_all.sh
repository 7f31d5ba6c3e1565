#!/bin/sh
# The scale-out figures of tests/bench/RESULTS.md ("Scale-out (SPEC 9)") in one bounded session
# (about 15 minutes on 2 cores when the machine is quiet): the write() floor, fan-out runs with
# the layouts interleaved, the Redis cost tool, the dead-instance tool, and the floor again.
#
#   run_all.sh BUILD_DIR OUT_DIR [HOST_BUILD_DIR] [--quiet]
#   run_all.sh build/bench-helper /tmp/scaleout-figures /tmp/snapshot/build --quiet
#
# BUILD_DIR holds the tools (tests/bench/...); HOST_BUILD_DIR (default BUILD_DIR) the
# presence-host and libpresence.so under test (e.g. a `git archive` of one commit, built apart,
# so the figures belong to that commit). The commands go to OUT_DIR/commands.txt; their tables
# to OUT_DIR/session.log, their JSON lines to OUT_DIR/*.json. --quiet runs them through
# quiet_runner.py: each waits until no compiler or test suite has run for 10 s and is run
# again (up to 3 times) when one started during it; session.log says which attempts were
# disturbed. Run from the repository root.
set -eu
build=$1
out=$2
hosts=${3:-$1}
quiet=${4:-}
S="$build/tests/bench/scaleout"
L="$build/tests/bench/load"
HB="--host-bin $hosts/host-stub/presence-host --plugin $hosts/plugin/libpresence.so"
F="$S/scaleout_fanout $HB --users 2000 --duration 8 --warmup-s 2 --max-run-s 90"
mkdir -p "$out"
{
    echo "$L/write_floor --frames 300000 --pin"
    # Cross- vs same-instance cost: the same users, graph and rate, layouts interleaved.
    for rate in 500 1000; do
        for round in 1 2 3; do
            for layout in alone single split; do
                echo "$F --friends 100 --rate $rate --layout $layout --pin --json $out/fanout_100f_$rate.json"
            done
        done
    done
    for round in 1 2; do
        for layout in alone single split; do
            echo "$F --friends 10 --rate 2500 --layout $layout --pin --json $out/fanout_10f_2500.json"
        done
    done
    # The SPEC's 10,000 changes/s: servers on one core (pinned), then spread over both.
    for layout in alone single split; do
        echo "$F --friends 10 --rate 10000 --layout $layout --pin --json $out/fanout_10f_10k.json"
    done
    for layout in alone split; do
        echo "$F --friends 10 --rate 10000 --layout $layout --json $out/fanout_10f_10k.json"
    done
    for layout in alone split; do
        echo "$F --friends 100 --rate 10000 --layout $layout --pin --json $out/fanout_100f_10k.json"
    done
    echo "$F --friends 100 --rate 10000 --layout split --json $out/fanout_100f_10k.json"
    # Redis cost at two friend counts, then at 5,000 changes/s (more batching).
    echo "$S/scaleout_redis_cost $HB --users 2000 --friends 10,200 --rate 1000 --phase-s 5 --pin --json $out/redis_cost.json"
    echo "$S/scaleout_redis_cost $HB --users 2000 --friends 10 --rate 5000 --phase-s 5 --pin --json $out/redis_cost.json"
    # Dead instance: 20 kill -9 runs, then 10,000 users reaped.
    echo "$S/scaleout_detect $HB --runs 20 --reap-users 10000 --watchers 100 --json $out/detect.json"
    echo "$L/write_floor --frames 300000 --pin"
} > "$out/commands.txt"

log="$out/session.log"
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "redis: $(redis-server --version)"
} > "$log"
if [ "$quiet" = "--quiet" ]; then
    python3 "$(dirname "$0")/quiet_runner.py" "$log" "$out/commands.txt"
else
    while read -r cmd; do
        echo "\$ $cmd" >> "$log"
        sh -c "$cmd" 2>&1 | grep -v '^{' >> "$log" || true
    done < "$out/commands.txt"
fi
echo "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$log"

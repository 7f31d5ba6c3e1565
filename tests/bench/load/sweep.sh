#!/bin/sh
# Latency percentiles against offered load: one bounded presence_load run per rate, one line
# of figures per run, then a PNG through gnuplot (Debian: apt-get install -y gnuplot-nox).
#
#   sweep.sh BUILD_DIR OUT_PREFIX "RATES" [presence_load options...]
#   sweep.sh build-bench /tmp/sweep "100 250 500 1000 2000 3000" --users 10000 --friends 100 --pin
#
# Writes OUT_PREFIX.dat (rate p50 p99 p999 max deliveries/s) and OUT_PREFIX.png.
set -eu
build=$1
out=$2
rates=$3
shift 3
tool="$build/tests/bench/load/presence_load"
: > "$out.dat"
for r in $rates; do
    "$tool" --rate "$r" --csv "$out.dat" --json "$out.rate$r.json" "$@" | head -12
done
gnuplot <<PLOT
set terminal pngcairo size 900,560
set output "$out.png"
set title "presence fan-out latency vs offered load ($(echo "$@"))" noenhanced
set xlabel "frame deliveries per second (measured)"
set ylabel "latency, ms (sender stamp -> receiver)"
set logscale y
set key top left
set grid
plot "$out.dat" using 6:2 with linespoints title "p50", \
     "$out.dat" using 6:3 with linespoints title "p99", \
     "$out.dat" using 6:4 with linespoints title "p99.9", \
     "$out.dat" using 6:5 with linespoints title "max"
PLOT
echo "wrote $out.dat and $out.png"

#!/bin/sh
# Latency percentiles against offered load: one bounded presence_load run per rate, one line
# of figures per run, then a PNG through gnuplot (Debian: apt-get install -y gnuplot-nox).
#
#   sweep.sh BUILD_DIR OUT_PREFIX "RATES" [presence_load options...]
#   sweep.sh build-bench /tmp/sweep "100 250 500 1000 2000 3000" --users 10000 --friends 100 --pin
#
# Writes OUT_PREFIX.dat (rate p50 p99 p999 max deliveries/s) and OUT_PREFIX.png.
# RATES "-" only redraws OUT_PREFIX.png from an existing OUT_PREFIX.dat.
set -eu
build=$1
out=$2
rates=$3
shift 3
tool="$build/tests/bench/load/presence_load"
if [ "$rates" != "-" ]; then
    : > "$out.dat"
    for r in $rates; do
        "$tool" --rate "$r" --csv "$out.dat" --json "$out.rate$r.json" "$@" | head -12
    done
fi
gnuplot <<PLOT
set terminal pngcairo size 900,560
set output "$out.png"
set title "presence fan-out latency vs offered load\n$(echo "$@")" noenhanced font ",10"
set xlabel "offered status changes per second (labels: frame deliveries/s received)"
set logscale x
set ylabel "latency, ms (sender stamp -> receiver)"
set logscale y
set key top left
set grid
plot "$out.dat" using 1:2 with linespoints title "p50", \
     "$out.dat" using 1:3 with linespoints title "p99", \
     "$out.dat" using 1:4 with linespoints title "p99.9", \
     "$out.dat" using 1:5 with linespoints title "max", \
     "$out.dat" using 1:5:(sprintf("%.0f/s", \$6)) with labels offset 0,1 font ",8" notitle
PLOT
echo "wrote $out.dat and $out.png"

#!/usr/bin/env bash
# The whole check, as CI runs it: dependencies, clang-format --dry-run --Werror over every C
# and C++ file, a -Werror release build running every ctest
# suite, the install and the Debian package checked from that build (.ci/check-install.sh),
# then an AddressSanitizer + UBSan build running the unit, abi and e2e suites again, and a
# ThreadSanitizer build running the unit, e2e, MariaDB and Redis suites, where the plugin's and
# the host's own threads work, and a clang libFuzzer build running every fuzz target for a
# bounded time (.ci/fuzz.sh).
# Exits non-zero on any failure and prints one summary line at the end.
set -euo pipefail

cd "$(dirname "$0")/.."
bash .ci/install-deps.sh

jobs="${JOBS:-2}"
started=$(date +%s)
format_result="not run"
release_result="not run"
install_result="not run"
asan_result="not run"
tsan_result="not run"
fuzz_result="not run"

summary() {
  local rc=$?
  local took=$(( $(date +%s) - started ))
  echo
  echo "SUMMARY: format: ${format_result}; release build+ctest: ${release_result}; install+deb: ${install_result}; asan build+ctest: ${asan_result}; tsan build+ctest: ${tsan_result}; libfuzzer: ${fuzz_result}; ${took}s; exit ${rc}"
}
trap summary EXIT

# 0. Every C and C++ file as .clang-format writes it (a diff fails the run before any build).
format_result="failed"
git ls-files -z -- '*.c' '*.h' '*.cpp' '*.hpp' | xargs -0 clang-format --dry-run --Werror
format_result="passed"

# 1. Release build, warnings are errors, every suite.
release_result="failed"
# -g1: line tables only (a crash still shows file:line; the .deb is stripped anyway): about a
# quarter less compile time than the preset's -g (tests/bench/RESULTS.md, "CI under 20 minutes").
cmake --preset release -DPRESENCE_WERROR=ON -DPRESENCE_BUILD_TESTS=ON -DPRESENCE_BUILD_BENCH=ON \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
cmake --build build/release -j"$jobs"
# Suites run two at a time: each starts its own hosts and servers on free loopback ports in its
# own temp dirs, and none makes a timing pass/fail (most of a suite's time is waiting on timers).
ctest --test-dir build/release --output-on-failure -j"$jobs" --timeout 900 --no-tests=error
release_result="passed"

# 2. What host authors and packagers get: cmake --install, the examples built against the
# installed files, cpack -G DEB checked with dpkg-deb and run from an unpacked root.
install_result="failed"
bash .ci/check-install.sh build/release
install_result="passed"

# 3. Sanitizers. Benchmarks are skipped (the preset turns them off), and the fuzz targets (the
# libFuzzer leg, step 5, runs each under ASan + UBSan from the same seeds); every other suite
# runs again: unit, abi, e2e (in-memory and MariaDB), model, examples.
asan_result="failed"
cmake --preset asan -DPRESENCE_WERROR=ON -DPRESENCE_BUILD_TESTS=ON -DPRESENCE_BUILD_FUZZ=OFF
cmake --build build/asan -j"$jobs"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The scale-out suite runs on one Redis here; its Redis Cluster variant (the same plugin code
# over the cluster router, which redis_client_tests covers under ASan) ran in the release leg.
ctest --test-dir build/asan --output-on-failure -j"$jobs" --timeout 900 \
  --exclude-regex 'bench|scaleout_cluster_tests' --no-tests=error
asan_result="passed"

# 4. ThreadSanitizer over every suite where more than one thread runs our code: protocol (the
# real plugin in-process), the store's journal thread, e2e (presence-host built with TSan loading
# the TSan-built plugin), the MariaDB store and MariaDB e2e suites (the store's worker thread, the
# host's friendship-table worker), the Redis client and three hosts linked through a Redis. Only
# these targets are built (the tsan preset: -O2 -g1, line tables only). core_tests, host_unit_tests and
# redis_unit_tests are single-threaded logic (no thread is started in them): they run in the
# release and ASan legs only. A process that sees a race exits 66 (a host then fails its test's
# clean-stop check), and every report also lands in a file under build/tsan/reports: any file
# there fails the leg, even from a host whose exit code no test looked at. The cluster variant
# already ran twice above.
tsan_result="failed"
cmake --preset tsan -DPRESENCE_WERROR=ON -DPRESENCE_BUILD_TESTS=ON
tsan_suites=(service_tests host_process_tests store_unit_tests redis_client_tests e2e_tests
  mariadb_store_tests mariadb_e2e_tests scaleout_tests)
cmake --build build/tsan -j"$jobs" --target presence presence-host "${tsan_suites[@]}"
tsan_reports="$PWD/build/tsan/reports"
rm -rf "$tsan_reports" && mkdir -p "$tsan_reports"
export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:suppressions=$PWD/.ci/tsan.supp:log_path=$tsan_reports/tsan"
ctest --test-dir build/tsan --output-on-failure -j"$jobs" --timeout 900 \
  --tests-regex "^($(IFS='|'; echo "${tsan_suites[*]}"))\$" --no-tests=error
if [ -n "$(ls -A "$tsan_reports")" ]; then
  cat "$tsan_reports"/*
  echo "ThreadSanitizer reported (files in $tsan_reports)" >&2
  exit 1
fi
tsan_result="passed"

# 5. libFuzzer: a clang build (ASan + UBSan) of the fuzz targets, each run for 15 s from its
# seeds (the g++ legs above ran each target's seeds and fixed mutations: fuzz_smoke_*).
fuzz_result="failed"
FUZZ_SECONDS="${FUZZ_SECONDS:-15}" JOBS="$jobs" bash .ci/fuzz.sh
fuzz_result="passed"

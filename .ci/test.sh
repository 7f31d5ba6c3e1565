#!/usr/bin/env bash
# The whole check, as CI runs it: dependencies, clang-format --dry-run --Werror over every C
# and C++ file, a -Werror release build running every ctest
# suite, the install and the Debian package checked from that build (.ci/check-install.sh),
# then an AddressSanitizer + UBSan build running the unit, abi and e2e suites again, and a
# ThreadSanitizer build running the suites where the plugin's own threads work (the Redis link
# with several instances, the Redis client, the core), and a clang libFuzzer build running every
# fuzz target for a bounded time (.ci/fuzz.sh).
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
cmake --preset release -DPRESENCE_WERROR=ON -DPRESENCE_BUILD_TESTS=ON -DPRESENCE_BUILD_BENCH=ON
cmake --build build/release -j"$jobs"
ctest --test-dir build/release --output-on-failure -j1 --timeout 900 --no-tests=error
release_result="passed"

# 2. What host authors and packagers get: cmake --install, the examples built against the
# installed files, cpack -G DEB checked with dpkg-deb and run from an unpacked root.
install_result="failed"
bash .ci/check-install.sh build/release
install_result="passed"

# 3. Sanitizers. Benchmarks are skipped (the preset turns them off); every other suite runs
# again: unit, abi, e2e (in-memory and MariaDB) and the fuzz smoke run.
asan_result="failed"
cmake --preset asan -DPRESENCE_WERROR=ON -DPRESENCE_BUILD_TESTS=ON
cmake --build build/asan -j"$jobs"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The scale-out suite runs on one Redis here; its Redis Cluster variant (the same plugin code
# over the cluster router, which redis_client_tests covers under ASan) ran in the release leg.
ctest --test-dir build/asan --output-on-failure -j1 --timeout 900 \
  --exclude-regex 'bench|scaleout_cluster_tests' --no-tests=error
asan_result="passed"

# 4. ThreadSanitizer over what runs on more than one thread: the Redis link's writer and feed
# reader against the loop thread (three presence-hosts and a Redis; a host that saw a race
# exits non-zero, which the suite checks), the Redis client, the core. The cluster variant
# already ran twice above.
tsan_result="failed"
cmake --preset tsan -DPRESENCE_WERROR=ON -DPRESENCE_BUILD_TESTS=ON
cmake --build build/tsan -j"$jobs" --target presence presence-host core_tests redis_client_tests \
  scaleout_tests
export TSAN_OPTIONS="halt_on_error=1:exitcode=66"
ctest --test-dir build/tsan --output-on-failure -j1 --timeout 900 \
  --tests-regex '^(core_tests|redis_client_tests|scaleout_tests)$' --no-tests=error
tsan_result="passed"

# 5. libFuzzer: a clang build (ASan + UBSan) of the fuzz targets, each run for 15 s from its
# seeds (the g++ legs above ran each target's seeds and fixed mutations: fuzz_smoke_*).
fuzz_result="failed"
FUZZ_SECONDS="${FUZZ_SECONDS:-15}" JOBS="$jobs" bash .ci/fuzz.sh
fuzz_result="passed"

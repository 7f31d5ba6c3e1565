#!/usr/bin/env bash
# One command for a newcomer: install what is missing, build the release preset, and run the
# host stub in demo mode (in-memory store, demo users, live page). Stop it with Ctrl-C.
set -euo pipefail

cd "$(dirname "$0")/.."
bash .ci/install-deps.sh

jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
# Only the two targets the demo needs; the cache keeps whatever test.sh configured.
cmake --preset release
cmake --build build/release --target presence presence-host -j"$jobs"

port="${PORT:-8080}"
echo
echo "presence demo: open http://127.0.0.1:${port}/ in a browser (Ctrl-C stops it)"
echo
exec build/release/host-stub/presence-host --demo --listen "127.0.0.1:${port}" \
  --plugin build/release/plugin/libpresence.so

#!/bin/sh
# Outside-client conformance suite: installs the pinned `ws` client and runs every
# *.test.mjs with Node's built-in test runner against a real presence-host.
# Usage: run.sh PATH/TO/presence-host PATH/TO/libpresence.so
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 PRESENCE_HOST_BIN PRESENCE_PLUGIN_SO" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
PRESENCE_HOST_BIN=$(realpath "$1")
PRESENCE_PLUGIN_SO=$(realpath "$2")
export PRESENCE_HOST_BIN PRESENCE_PLUGIN_SO
cd "$here"

# The lock pins the exact client; without it (a fresh checkout that lost it) fall back to install.
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi

tap=$(mktemp)
trap 'rm -f "$tap"' EXIT INT TERM
status=0
# spec for people (stdout), TAP into a file for the summary line; files run one after another
# so the 2-core CI machine is not oversubscribed and timing-sensitive waits stay honest.
# --test-concurrency came with Node 20.10; older runners (Debian 12's Node 18) already run one
# file at a time on two cores.
concurrency=""
if node --help 2>/dev/null | grep -q -- '--test-concurrency'; then concurrency="--test-concurrency=1"; fi
node --test $concurrency \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  ./*.test.mjs || status=$?

passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -1)
failed=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -1)
echo "${passed:-0} passed, ${failed:-0} failed"
if [ "$status" -eq 0 ] && [ "${failed:-0}" != 0 ]; then status=1; fi
if [ "$status" -eq 0 ] && [ -z "$passed" ]; then status=1; fi
exit "$status"

#!/usr/bin/env bash
# Installs what building and testing presence needs on Debian 12, and only what is missing,
# so it is cheap to re-run. Works as root (CI, containers) or through sudo.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  libwebsockets-dev libev-dev libwebsockets-evlib-ev libcjson-dev libmariadb-dev libcpputest-dev libhiredis-dev libssl-dev liburing-dev
  mariadb-server redis-server libbenchmark-dev
  clang-format gnuplot-nox curl procps
  dpkg-dev  # dpkg-shlibdeps and dpkg-deb for the Debian package (.ci/check-install.sh)
  clang libclang-rt-14-dev llvm  # libFuzzer targets (tests/fuzz) and llvm-symbolizer
)

missing=()
for p in "${packages[@]}"; do
  # dpkg -s succeeds for removed-but-configured packages too: check the status line.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm run the outside-client conformance suite (tests/e2e/outside). A machine may
# already have them from elsewhere (nodesource ships npm inside its nodejs package): only when
# either command is missing do we ask for Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: everything is already installed"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"

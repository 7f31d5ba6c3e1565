#!/usr/bin/env bash
# What a host author and a packager get (issue 10), checked from a finished build:
#   1. `cmake --install` into a throwaway prefix: the versioned plugin, the header, pkg-config,
#      the CMake package, presence-host and its systemd unit;
#   2. the example hosts built against the INSTALLED files only (pkg-config, then
#      find_package), run against the installed plugin, epoll_host driven by its test suite;
#   3. `cpack -G DEB`: the package's contents and control data (dpkg-deb), unpacked into a
#      throwaway root where its presence-host starts with the plugin beside it and serves;
#   4. a plugin-only configure (-DPRESENCE_BUILD_HOST=OFF) that needs neither lws nor liburing.
# Usage: .ci/check-install.sh BUILD_DIR      (prints one "check-install: ..." line at the end)
set -euo pipefail

build="$(cd "${1:?usage: check-install.sh BUILD_DIR}" && pwd)"
cd "$(dirname "$0")/.."
work="$(mktemp -d /tmp/presence-install.XXXXXX)"
host_pid=""
cleanup() {
  if [ -n "$host_pid" ]; then kill -9 "$host_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
step="install"
fail() { echo "check-install: FAILED at $step: $*" >&2; exit 1; }
trap 'echo "check-install: FAILED at $step (line $LINENO)" >&2' ERR
need() { [ -e "$1" ] || fail "missing $1"; }

# 1. cmake --install
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
need "$prefix/include/presence_plugin.h"
need "$prefix/bin/presence-host"
need "$prefix/lib/pkgconfig/presence.pc"
need "$prefix/lib/cmake/presence/presence-config.cmake"
need "$prefix/share/presence/presence.conf"
unit="$prefix/lib/systemd/system/presence-host.service"
need "$unit"
grep -qx "ExecStart=$prefix/bin/presence-host --config /etc/presence/presence.conf" "$unit" \
  || fail "the unit does not start the installed presence-host"
plugin="$prefix/lib/libpresence.so.1"
need "$plugin"
soname="$(readelf -d "$plugin" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[ "$soname" = "libpresence.so.1" ] || fail "soname is '$soname', not libpresence.so.1"

# 2. The examples against the installed files.
step="pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --variable=plugin presence)" -ef "$plugin" ] || fail "--variable=plugin"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags presence) examples/mini_host.c \
  $(pkg-config --libs presence) -o "$work/mini_host_pc"
"$work/mini_host_pc" "$(pkg-config --variable=plugin presence)" | tail -n 1 | grep -qx "mini_host: ok" \
  || fail "mini_host (pkg-config build) did not run"

step="find_package"
cmake -S examples -B "$work/examples" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS=-Werror \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/examples" -j2 >/dev/null
grep -q "$prefix/include" "$work/examples/CMakeFiles/mini_host.dir/flags.make" \
  || fail "the examples did not take the installed header"
"$work/examples/mini_host" "$plugin" | tail -n 1 | grep -qx "mini_host: ok" \
  || fail "mini_host (find_package build) did not run"
EPOLL_HOST_EXE="$work/examples/epoll_host" PRESENCE_PLUGIN_SO="$plugin" \
  "$build/tests/examples/example_hosts_tests" >"$work/epoll.log" 2>&1 \
  || { cat "$work/epoll.log"; fail "example_hosts_tests against the installed files"; }

# 3. The Debian package.
step="cpack"
(cd "$build" && cpack -G DEB -B "$work/deb" >"$work/cpack.log" 2>&1) \
  || { cat "$work/cpack.log"; fail "cpack -G DEB"; }
deb="$(ls "$work"/deb/presence_*.deb)"
step="dpkg-deb"
dpkg-deb -c "$deb" >"$work/contents"
for path in ./usr/lib/libpresence.so.1 ./usr/include/presence_plugin.h \
  ./usr/bin/presence-host ./usr/lib/pkgconfig/presence.pc \
  ./usr/lib/cmake/presence/presence-config.cmake ./usr/lib/systemd/system/presence-host.service \
  ./usr/share/presence/presence.conf; do
  grep -q " $path\( \|$\)" "$work/contents" || fail "the package lacks $path"
done
dpkg-deb -f "$deb" Depends | grep -q "libwebsockets" || fail "Depends lacks libwebsockets"
dpkg-deb -e "$deb" "$work/control"
for script in postinst prerm postrm; do
  [ -x "$work/control/$script" ] || fail "no executable $script"
  sh -n "$work/control/$script" || fail "$script does not parse"
done
root="$work/root"
dpkg-deb -x "$deb" "$root"
grep -qx "ExecStart=/usr/bin/presence-host --config /etc/presence/presence.conf" \
  "$root/usr/lib/systemd/system/presence-host.service" || fail "the packaged unit"

step="packaged presence-host"
conf="$work/presence.conf"
sed -e 's|^host.listen = .*|host.listen = 127.0.0.1:0|' "$root/usr/share/presence/presence.conf" >"$conf"
"$root/usr/bin/presence-host" --config "$conf" >"$work/host.out" 2>&1 &
host_pid=$!
port=""
for _ in $(seq 1 100); do
  port="$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$work/host.out")"
  [ -n "$port" ] && break
  kill -0 "$host_pid" 2>/dev/null || break
  sleep 0.05
done
[ -n "$port" ] || { cat "$work/host.out"; fail "it did not start"; }
grep -q "$root/usr/lib/libpresence.so" "/proc/$host_pid/maps" \
  || fail "it did not load the plugin packaged beside it"
curl -sf "http://127.0.0.1:$port/api/presence/health" | grep -q '"status":"ok"' \
  || fail "GET /api/presence/health"
kill -TERM "$host_pid"
wait "$host_pid" || fail "it did not stop cleanly on SIGTERM"
host_pid=""

# 4. A plugin-only configure (-DPRESENCE_BUILD_HOST=OFF) on a machine without libwebsockets or
# liburing: a pkg-config that denies knowing them stands in for that machine. Configure only (the
# plugin's sources are the ones built above); it fails if anything outside presence-host still
# asks for either library.
step="plugin-only configure"
cat > "$work/pkg-config" <<'SH'
#!/bin/sh
for a in "$@"; do case "$a" in libwebsockets*|liburing*) exit 1;; esac; done
exec pkg-config "$@"
SH
chmod +x "$work/pkg-config"
cmake -S . -B "$work/plugin-only" -DPRESENCE_BUILD_HOST=OFF -DPKG_CONFIG_EXECUTABLE="$work/pkg-config" \
  >"$work/plugin-only.log" 2>&1 || { cat "$work/plugin-only.log"; fail "cmake"; }

echo "check-install: ok (install prefix, examples against it via pkg-config and find_package, $(basename "$deb"): contents, control, unpacked host serves; plugin-only configure)"

#!/usr/bin/env bash
# Builds one world of this folder into a WebAssembly component and prints the component's path.
#
#   build.sh [clock-reader|forecaster|fetcher]      (default: clock-reader)
#
# WORLD.c is made a component by Debian's clang + wasi-libc and the pinned jco of
# tools/wasm-toolchain (c-component.sh). The result is cached in
# ${GOLEMSIM_CACHE_DIR:-~/.cache/golemsim}/builds, keyed by a hash of every input.
# Exit status 3: a tool is missing (the message names what to install; .ci/setup.sh installs all).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
world=${1:-clock-reader}
# shellcheck source=../../../tools/wasm-toolchain/c-component.sh
source "$here/../../../tools/wasm-toolchain/c-component.sh"

if [ ! -f "$here/$world.c" ] || [ ! -f "$here/wit/$world.wit" ]; then
    echo "build.sh: no world '$world' here (clock-reader, forecaster or fetcher)" >&2
    exit 2
fi
require_c_tools

key=$(
    {
        echo "$world"
        cat "$here/$world.c" "$here/wit/$world.wit" "$here/build.sh"
        c_toolchain_fingerprint
    } | sha256sum | cut -c1-16
)
cache=${GOLEMSIM_CACHE_DIR:-$HOME/.cache/golemsim}/builds
out=$cache/c-$world-$key.wasm
if [ -f "$out" ]; then
    echo "$out"
    exit 0
fi

echo "building $world (C, clang + wasi-libc, componentized by jco) ..." >&2
mkdir -p "$cache"
c_component "$here/$world.c" "$here/wit/$world.wit" "$out"
echo "$out"

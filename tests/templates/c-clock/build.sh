#!/usr/bin/env bash
# Builds one world of this folder into a WebAssembly component and prints the component's path.
#
#   build.sh [clock-reader|forecaster|fetcher]      (default: clock-reader)
#
# WORLD.c is compiled by Debian's clang + wasi-libc into a core module (wasm32-wasi, preview1,
# reactor); the pinned jco of tools/wasm-toolchain embeds wit/WORLD.wit into it (`jco embed`) and
# wraps it with the preview1 reactor adapter jco ships (`jco new --wasi-reactor`). The result is
# cached in ${GOLEMSIM_CACHE_DIR:-~/.cache/golemsim}/builds, keyed by a hash of every input.
# Exit status 3: a tool is missing (the message names what to install; .ci/setup.sh installs all).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
world=${1:-clock-reader}
toolchain=$root/tools/wasm-toolchain
jco=$toolchain/node_modules/@bytecodealliance/jco/dist/jco.js
wasi_wit=$toolchain/node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12

if [ ! -f "$here/$world.c" ] || [ ! -f "$here/wit/$world.wit" ]; then
    echo "build.sh: no world '$world' here (clock-reader, forecaster or fetcher)" >&2
    exit 2
fi

missing=()
command -v clang >/dev/null || missing+=("clang (Debian: clang)")
command -v wasm-ld >/dev/null || missing+=("wasm-ld (Debian: lld)")
[ -f /usr/include/wasm32-wasi/stdlib.h ] || missing+=("wasi-libc (Debian: wasi-libc)")
if command -v clang >/dev/null && [ ! -f "$(clang --target=wasm32-wasi -print-libgcc-file-name)" ]; then
    missing+=("clang's wasm32 builtins (Debian: libclang-rt-14-dev-wasm32)")
fi
command -v node >/dev/null || missing+=("node (Debian or nodesource: nodejs)")
[ -f "$jco" ] || missing+=("jco (npm ci in tools/wasm-toolchain)")
if [ ${#missing[@]} -gt 0 ]; then
    printf -v list '%s, ' "${missing[@]}"
    echo "build.sh: missing ${list%, }; bash .ci/setup.sh installs them" >&2
    exit 3
fi

key=$(
    {
        echo "$world"
        cat "$here/$world.c" "$here/wit/$world.wit" "$here/build.sh" "$toolchain/package-lock.json" "$toolchain/preopens.mjs"
        clang --version | head -1
        dpkg-query -W -f='${Version}\n' wasi-libc 2>/dev/null || true
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
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
clang --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -O2 -Wall -Werror \
    -o "$work/core.wasm" "$here/$world.c"

# One world per WIT folder (jco 1.35's `embed -n` does not choose a world); the WASI 0.2.12
# packages jco ships are its deps/ (copied: jco's filesystem shim does not follow symlinks).
mkdir -p "$work/wit"
cp "$here/wit/$world.wit" "$work/wit/"
cp -r "$wasi_wit" "$work/wit/deps"

# jco reads and writes files only with the preload that preopens "/", and wants absolute paths.
run_jco() { node --import "$toolchain/preopens.mjs" "$jco" "$@"; }
run_jco embed --wit "$work/wit" -o "$work/embedded.wasm" "$work/core.wasm" >&2
run_jco new --wasi-reactor -o "$work/component.wasm" "$work/embedded.wasm" >&2
mv "$work/component.wasm" "$out.tmp.$$"
mv "$out.tmp.$$" "$out"
echo "$out"

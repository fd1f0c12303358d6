#!/usr/bin/env bash
# Builds counter.c into a WebAssembly component at build/counter.wasm (golemsim.toml names it).
#
#   bash templates/counter-c/build.sh        (prints the component's path)
#
# Debian's clang + wasi-libc and the pinned jco of tools/wasm-toolchain (c-component.sh) make the
# component; it is cached in ${GOLEMSIM_CACHE_DIR:-~/.cache/golemsim}/builds, keyed by a hash of
# every input, then copied here.
# Exit status 3: a tool is missing (the message names what to install; .ci/setup.sh installs all).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../tools/wasm-toolchain/c-component.sh
source "$here/../../tools/wasm-toolchain/c-component.sh"
require_c_tools

key=$(
    {
        cat "$here/counter.c" "$here/wit/counter.wit" "$here/build.sh"
        c_toolchain_fingerprint
    } | sha256sum | cut -c1-16
)
cache=${GOLEMSIM_CACHE_DIR:-$HOME/.cache/golemsim}/builds
cached=$cache/c-counter-$key.wasm
if [ ! -f "$cached" ]; then
    echo "building counter-c (C, clang + wasi-libc, componentized by jco) ..." >&2
    mkdir -p "$cache"
    c_component "$here/counter.c" "$here/wit/counter.wit" "$cached" -Wl,--strip-all
fi

mkdir -p "$here/build"
if ! cmp -s "$cached" "$here/build/counter.wasm"; then
    cp "$cached" "$here/build/counter.wasm.tmp.$$"
    mv "$here/build/counter.wasm.tmp.$$" "$here/build/counter.wasm"
fi
echo "$here/build/counter.wasm"

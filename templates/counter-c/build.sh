#!/usr/bin/env bash
# Builds counter.c into a WebAssembly component at build/counter.wasm (golemsim.toml names it).
#
#   bash templates/counter-c/build.sh        (prints the component's path)
#
# counter.c is compiled by Debian's clang + wasi-libc into a core module (wasm32-wasi, reactor); the
# pinned jco of tools/wasm-toolchain embeds wit/counter.wit into it (`jco embed`) and wraps it with
# the preview1 reactor adapter jco ships (`jco new --wasi-reactor`). The component is cached in
# ${GOLEMSIM_CACHE_DIR:-~/.cache/golemsim}/builds, keyed by a hash of every input, then copied here.
# Exit status 3: a tool is missing (the message names what to install; .ci/setup.sh installs all).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
toolchain=$root/tools/wasm-toolchain
jco=$toolchain/node_modules/@bytecodealliance/jco/dist/jco.js
wasi_wit=$toolchain/node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12

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
        cat "$here/counter.c" "$here/wit/counter.wit" "$here/build.sh" "$toolchain/package-lock.json" "$toolchain/preopens.mjs"
        clang --version | head -1
        dpkg-query -W -f='${Version}\n' wasi-libc 2>/dev/null || true
    } | sha256sum | cut -c1-16
)
cache=${GOLEMSIM_CACHE_DIR:-$HOME/.cache/golemsim}/builds
cached=$cache/c-counter-$key.wasm
if [ ! -f "$cached" ]; then
    echo "building counter-c (C, clang + wasi-libc, componentized by jco) ..." >&2
    mkdir -p "$cache"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    clang --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -O2 -Wall -Werror -Wl,--strip-all \
        -o "$work/core.wasm" "$here/counter.c"
    # jco wants the world alone in its folder, with the WASI packages it ships as deps/ (copied:
    # its filesystem shim does not follow symlinks), absolute paths, and the preload that preopens "/".
    mkdir -p "$work/wit"
    cp "$here/wit/counter.wit" "$work/wit/"
    cp -r "$wasi_wit" "$work/wit/deps"
    run_jco() { node --import "$toolchain/preopens.mjs" "$jco" "$@"; }
    run_jco embed --wit "$work/wit" -o "$work/embedded.wasm" "$work/core.wasm" >&2
    run_jco new --wasi-reactor -o "$work/component.wasm" "$work/embedded.wasm" >&2
    mv "$work/component.wasm" "$cached.tmp.$$"
    mv "$cached.tmp.$$" "$cached"
fi

mkdir -p "$here/build"
if ! cmp -s "$cached" "$here/build/counter.wasm"; then
    cp "$cached" "$here/build/counter.wasm.tmp.$$"
    mv "$here/build/counter.wasm.tmp.$$" "$here/build/counter.wasm"
fi
echo "$here/build/counter.wasm"

# Sourced by the C templates' build.sh scripts (templates/counter-c, tests/templates/c-clock):
# the pinned toolchain's paths, the check that every tool is installed, and the build itself.
#
#   require_c_tools                          exit 3 naming what is missing (.ci/setup.sh installs it)
#   c_component FILE.c WORLD.wit OUT [CLANG_FLAGS...]
#                                            FILE.c -> core module (clang + wasi-libc, wasm32-wasi
#                                            reactor) -> component at OUT: the pinned jco embeds the
#                                            world (`jco embed`) and wraps it with the preview1 reactor
#                                            adapter it ships (`jco new --wasi-reactor`)
#
# Callers hash this file with their own inputs for their cache keys.

toolchain=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
jco=$toolchain/node_modules/@bytecodealliance/jco/dist/jco.js
wasi_wit=$toolchain/node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12

require_c_tools() {
    local missing=() list
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
}

# The toolchain's part of a cache key: the pinned npm tools, this file, clang and wasi-libc.
c_toolchain_fingerprint() {
    cat "$toolchain/package-lock.json" "$toolchain/preopens.mjs" "$toolchain/c-component.sh"
    clang --version | head -1
    dpkg-query -W -f='${Version}\n' wasi-libc 2>/dev/null || true
}

c_component() {
    local source=$1 world=$2 out=$3 work
    shift 3
    work=$(mktemp -d)
    clang --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -O2 -Wall -Werror "$@" \
        -o "$work/core.wasm" "$source"
    # jco wants the world alone in its folder, with the WASI packages it ships as deps/ (copied: its
    # filesystem shim does not follow symlinks), absolute paths, and the preload that preopens "/".
    mkdir -p "$work/wit"
    cp "$world" "$work/wit/"
    cp -r "$wasi_wit" "$work/wit/deps"
    node --import "$toolchain/preopens.mjs" "$jco" embed --wit "$work/wit" -o "$work/embedded.wasm" "$work/core.wasm" >&2
    node --import "$toolchain/preopens.mjs" "$jco" new --wasi-reactor -o "$work/component.wasm" "$work/embedded.wasm" >&2
    mv "$work/component.wasm" "$out.tmp.$$"
    mv "$out.tmp.$$" "$out"
    rm -rf "$work"
}

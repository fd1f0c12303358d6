#!/usr/bin/env bash
# Sets up everything golemsim needs, and is fast when repeated:
#   a virtual env in .venv, the package with its dev, plot, widget, notebook, campaign (Dask) and docs (MkDocs)
#   tools, Debian's chromium (when missing and we are root), Debian's clang + lld + wasi-libc and the npm tools of
#   tools/wasm-toolchain (jco, for the C components of tests/core/test_wasi_components.py), and the template builds
#   (componentize-py, and the C ones, cached in ~/.cache/golemsim by a hash of each template's sources).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "golemsim needs Python 3.11 or newer as $PYTHON (set PYTHON=... to choose another)" >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    if ! "$PYTHON" -m venv .venv 2>/dev/null; then
        # Debian and Ubuntu ship venv separately.
        if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
            apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
            rm -rf .venv && "$PYTHON" -m venv .venv
        else
            echo "cannot create a virtual env: install python3-venv" >&2
            exit 1
        fi
    fi
fi

stamp=".venv/.golemsim-installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "==> installing golemsim and its dependencies into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[dev,plots,widgets,notebooks,campaign,postgres,docs]'
    rm -f .venv/.golemsim-installed-*
    touch "$stamp"
fi

# tests/widgets/test_browser_widgets.py renders the notebooks' widgets in Debian's chromium (never a downloaded browser).
if [ ! -x /usr/bin/chromium ]; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "==> installing Debian's chromium (for tests/widgets/test_browser_widgets.py)"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
            echo "could not install chromium with apt-get: tests/widgets/test_browser_widgets.py will skip (or fail, with CI=true)" >&2
        fi
    else
        echo "note: /usr/bin/chromium is missing and installing it needs root and apt-get:" \
            "tests/widgets/test_browser_widgets.py will skip (or fail, with CI=true); install Debian's chromium package to run it" >&2
    fi
fi

# The PostgreSQL tests (tests/postgres) start a throwaway server from Debian's postgresql binaries.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "==> installing Debian's postgresql (for the PostgreSQL tests; no server is left running)"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }; then
            echo "could not install postgresql with apt-get: the PostgreSQL tests will skip (or fail, with CI=true)" >&2
        fi
        # Debian's package starts a cluster of its own; golemsim never uses it.
        service postgresql stop >/dev/null 2>&1 || true
    else
        echo "note: Debian's postgresql is missing and installing it needs root and apt-get:" \
            "the PostgreSQL tests will skip (or fail, with CI=true); install it to run them" >&2
    fi
fi

# tests/core/test_wasi_components.py builds C components (tests/templates/c-clock): Debian's clang, lld and
# wasi-libc (+ clang's wasm32 builtins) compile them, the jco pinned in tools/wasm-toolchain makes them components.
c_packages=(clang lld wasi-libc libclang-rt-14-dev-wasm32)
c_missing=()
for package in "${c_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || c_missing+=("$package")
done
if [ ${#c_missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "==> installing Debian's ${c_missing[*]} (for the C components of tests/core/test_wasi_components.py)"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${c_missing[@]}" >/dev/null; }; then
            echo "could not install ${c_missing[*]} with apt-get: tests/core/test_wasi_components.py will skip (or fail, with CI=true)" >&2
        fi
    else
        echo "note: Debian packages ${c_missing[*]} are missing and installing them needs root and apt-get:" \
            "tests/core/test_wasi_components.py will skip (or fail, with CI=true); install them to run it" >&2
    fi
fi
toolchain=tools/wasm-toolchain
toolchain_stamp="$toolchain/node_modules/.golemsim-installed-$(sha256sum "$toolchain/package-lock.json" | cut -c1-16)"
if [ ! -f "$toolchain_stamp" ]; then
    if command -v npm >/dev/null; then
        echo "==> installing the pinned npm tools of $toolchain (npm ci)"
        if (cd "$toolchain" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
            touch "$toolchain_stamp"
        else
            echo "npm ci failed in $toolchain: tests/core/test_wasi_components.py will skip (or fail, with CI=true)" >&2
        fi
    else
        echo "note: npm is missing (install Node.js 20 or newer): tests/core/test_wasi_components.py will skip" \
            "(or fail, with CI=true)" >&2
    fi
fi

echo "==> building templates (cached by source hash)"
for template in templates/*/ tests/templates/*/; do
    [ -f "$template/build.sh" ] && continue  # a C template (templates/counter-c): its build.sh runs below
    [ -f "$template/golemsim.toml" ] && .venv/bin/golemsim build "$template"
done
for world in clock-reader forecaster fetcher; do
    if built=$(bash tests/templates/c-clock/build.sh "$world"); then
        echo "c-clock $world: $built"
    else
        status=$?
        [ "$status" = 3 ] && break  # a tool is missing: build.sh said which, and the tests skip (or fail under CI)
        exit "$status"
    fi
done
# templates/counter-c: the counter template in C (same tools; build.sh copies it to templates/counter-c/build/).
if built=$(bash templates/counter-c/build.sh); then
    echo "counter-c: $built"
    .venv/bin/golemsim build templates/counter-c >/dev/null  # checks the prebuilt component golemsim.toml names
else
    status=$?
    [ "$status" = 3 ] || exit "$status"  # 3: a tool is missing, build.sh said which; its test skips (or fails under CI)
fi

#!/usr/bin/env bash
# Sets up everything golemsim needs, and is fast when repeated:
#   a virtual env in .venv, the package with its dev, plot, widget and notebook tools, Debian's chromium
#   (when missing and we are root), and the template builds
#   (componentize-py, cached in ~/.cache/golemsim by a hash of each template's sources).
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
    .venv/bin/python -m pip install --quiet -e '.[dev,plots,widgets,notebooks]'
    rm -f .venv/.golemsim-installed-*
    touch "$stamp"
fi

# tests/test_browser_widgets.py renders the notebooks' widgets in Debian's chromium (never a downloaded browser).
if [ ! -x /usr/bin/chromium ]; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "==> installing Debian's chromium (for tests/test_browser_widgets.py)"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
            echo "could not install chromium with apt-get: tests/test_browser_widgets.py will skip (or fail, with CI=true)" >&2
        fi
    else
        echo "note: /usr/bin/chromium is missing and installing it needs root and apt-get:" \
            "tests/test_browser_widgets.py will skip (or fail, with CI=true); install Debian's chromium package to run it" >&2
    fi
fi

echo "==> building templates (cached by source hash)"
for template in templates/*/ tests/templates/*/; do
    [ -f "$template/golemsim.toml" ] && .venv/bin/golemsim build "$template"
done

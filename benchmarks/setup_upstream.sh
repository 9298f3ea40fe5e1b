#!/usr/bin/env bash
# Create benchmarks/.venv-upstream with upstream Datasette 1.0a7 from PyPI, for the
# side-by-side benchmarks only (benchmarks/compare.py). Nothing in the product or its
# tests imports from this venv.
#
# Idempotent: does nothing when the venv already has datasette 1.0a7 installed.
#
#     bash benchmarks/setup_upstream.sh
#
# Environment: PYTHON (default python3) picks the interpreter the venv is built from.
set -euo pipefail

UPSTREAM_VERSION="1.0a7"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv-upstream"
PYTHON="${PYTHON:-python3}"

installed_version() {
    "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("datasette"))' \
        2>/dev/null || true
}

if [ -x "$VENV/bin/python" ] && [ "$(installed_version)" = "$UPSTREAM_VERSION" ]; then
    echo "upstream datasette $UPSTREAM_VERSION already installed in $VENV"
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi

"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
# httpx<0.28: 1.0a7's test client passes an argument httpx 0.28 removed. Serving does
# not use it, but pin it so the venv matches what 1.0a7 was released against.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    "datasette==$UPSTREAM_VERSION" "httpx<0.28"

version="$(installed_version)"
if [ "$version" != "$UPSTREAM_VERSION" ]; then
    echo "error: expected datasette $UPSTREAM_VERSION in $VENV, found '${version}'" >&2
    exit 1
fi
echo "installed upstream datasette $version in $VENV"
"$VENV/bin/datasette" --version

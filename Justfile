# Recipes for working on datasette. `just --list` shows them.

venv := ".venv"

# Create the virtual environment with the test dependencies
install:
    python3 -m venv {{venv}} && {{venv}}/bin/pip install -q -e '.[test,dev]'

# Serve the built-in demo database on http://127.0.0.1:8001/
demo: install
    {{venv}}/bin/datasette --demo

# Run the whole test suite (what CI runs)
test: install
    {{venv}}/bin/python -m pytest

# Run the tests without the slow ones that start server processes
test-fast: install
    {{venv}}/bin/python -m pytest -m "not slow"

# Lint the code
lint: install
    {{venv}}/bin/ruff check datasette tests benchmarks

# Benchmark the foundation (internal database writes, SQL JSON over HTTP)
benchmark: install
    {{venv}}/bin/python benchmarks/foundation.py

# Build the browser site (Pyodide in a service worker) into lite/dist/
lite: install
    npm --prefix lite ci --no-audit --no-fund
    npm --prefix lite run build

# Serve lite/dist/ on http://127.0.0.1:8009/ (any static server will do)
lite-serve: lite
    {{venv}}/bin/python -m http.server -d lite/dist -b 127.0.0.1 8009

# Compare this server with upstream Datasette 1.0a7 side by side (installs upstream in its own venv)
benchmark-compare: install
    bash benchmarks/setup_upstream.sh
    {{venv}}/bin/python benchmarks/compare.py

# Rebuild the SQL editor bundle (datasette/static/sql-editor.js) from frontend/ (needs Node)
editor:
    npm --prefix frontend ci && npm --prefix frontend run build

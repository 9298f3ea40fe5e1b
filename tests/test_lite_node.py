"""The browser build under Node: `npm --prefix lite run build`, then `npm --prefix lite test`.

The Node script (lite/test/node-test.mjs) boots Pyodide from node_modules, installs the
built wheels without a network and drives the ASGI app in-process: versions, demo table
JSON, a SQL query, a row page, sign-in plus an insert through the write API read back.
Skipped where Node or the npm install is missing, except under CI, where that is a failure.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

LITE = Path(__file__).resolve().parent.parent / "lite"


def _need(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(reason + " (required in CI: .ci/run installs it)")
    pytest.skip(reason)


@pytest.mark.slow
def test_lite_under_node():
    _need(shutil.which("node") is not None and shutil.which("npm") is not None, "node/npm missing")
    _need((LITE / "node_modules" / "pyodide").is_dir(), "run `npm --prefix lite install` first")
    build = subprocess.run(
        ["npm", "--prefix", str(LITE), "run", "build"], capture_output=True, text=True, timeout=900
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert (LITE / "dist" / "sw.js").exists()
    run = subprocess.run(
        ["npm", "--prefix", str(LITE), "test"], capture_output=True, text=True, timeout=600
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "8 passed, 0 failed" in output
    assert "not ok" not in output

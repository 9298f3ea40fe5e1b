"""`datasette install` and `datasette uninstall` hand their arguments to pip in-process.

`datasette.cli.run_module` is patched (the contract says tests patch it there), so no
package is really installed.
"""

import sys
from unittest import mock

import pytest
from click.testing import CliRunner

from datasette import cli


@pytest.fixture(autouse=True)
def restore_argv(monkeypatch):
    """The commands rewrite sys.argv for pip; put it back after each test."""
    monkeypatch.setattr(sys, "argv", list(sys.argv))


def run(args):
    return CliRunner().invoke(cli.cli, args)


@mock.patch("datasette.cli.run_module")
def test_install_passes_packages_to_pip(run_module):
    result = run(["install", "datasette-vega", "datasette-cluster-map"])
    assert result.exit_code == 0, result.output
    run_module.assert_called_once_with("pip", run_name="__main__")
    assert cli.sys.argv == ["pip", "install", "datasette-vega", "datasette-cluster-map"]


@mock.patch("datasette.cli.run_module")
def test_install_upgrade_editable_and_requirements(run_module, tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("datasette-vega\n")
    result = run(["install", "-U", "-e", str(tmp_path), "-r", str(requirements)])
    assert result.exit_code == 0, result.output
    assert cli.sys.argv == [
        "pip",
        "install",
        "--upgrade",
        "--editable",
        str(tmp_path),
        "-r",
        str(requirements),
    ]


@mock.patch("datasette.cli.run_module")
def test_install_without_packages_is_a_usage_error(run_module):
    result = run(["install"])
    assert result.exit_code == 2
    assert "Please specify at least one package to install" in result.output
    run_module.assert_not_called()


@mock.patch("datasette.cli.run_module")
def test_uninstall_with_yes(run_module):
    result = run(["uninstall", "datasette-vega", "-y"])
    assert result.exit_code == 0, result.output
    run_module.assert_called_once_with("pip", run_name="__main__")
    assert cli.sys.argv == ["pip", "uninstall", "datasette-vega", "-y"]


def test_uninstall_needs_a_package():
    result = run(["uninstall"])
    assert result.exit_code == 2

"""`datasette publish cloudrun|heroku` and `datasette package` (http-cli.md §11.3).

No gcloud, heroku or docker exists here: every external call is patched on the module
that makes it (`datasette.publish.cloudrun.check_output/check_call/get_existing_services`,
`datasette.publish.heroku.check_output/call`, `datasette.cli.call`) and `shutil.which`
decides whether the binary "is installed". Files generated in the temporary build
directory are read by the patched call while that directory is the working directory.
"""

import json
import os
import re
import stat
import textwrap
from unittest import mock

import click
import pytest
from click.testing import CliRunner

import datasette.cli
from datasette.plugins import pm
from datasette.publish import cloudrun, heroku
from datasette.publish.common import plugin_secret_env_var, register


@pytest.fixture
def cli():
    """A fresh click group with `publish` and `package`, the two targets registered."""
    added = []
    for name, module in (
        ("datasette.publish.heroku", heroku),
        ("datasette.publish.cloudrun", cloudrun),
    ):
        if not pm.is_registered(module) and pm.get_plugin(name) is None:
            pm.register(module, name)
            added.append(module)
    group = click.Group()
    register(group)
    yield group
    for module in added:
        pm.unregister(module)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Run in an empty directory holding `test.db`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "test.db").write_text("data")
    return tmp_path


class Capture:
    """A patched call that records, at call time, files in the working directory."""

    def __init__(self, names=("Dockerfile", "metadata.json"), returncode=0):
        self.names = names
        self.files = {}
        self.listing = []
        self.returncode = returncode

    def __call__(self, *args, **kwargs):
        for name in self.names:
            if os.path.exists(name) and name not in self.files:
                with open(name) as fp:
                    self.files[name] = fp.read()
        if not self.listing:
            for root, _dirs, files in os.walk("."):
                for f in files:
                    self.listing.append(os.path.normpath(os.path.join(root, f)))
        return self.returncode


def which(present):
    return mock.patch("shutil.which", return_value="/usr/bin/x" if present else None)


# ---------------------------------------------------------------------------
# registration


def test_register_adds_publish_targets_and_package(cli):
    assert sorted(cli.commands) == ["package", "publish"]
    assert sorted(cli.commands["publish"].commands) == ["cloudrun", "heroku"]


def test_register_twice_replaces_commands(cli):
    first = cli.commands["publish"]
    publish, package = register(cli)
    assert cli.commands["publish"] is publish and publish is not first
    assert sorted(publish.commands) == ["cloudrun", "heroku"]
    result = CliRunner().invoke(cli, ["publish", "--help"])
    assert result.exit_code == 0
    assert result.output.count("cloudrun") == 1


def test_real_cli_registers_publish_and_package():
    if "publish" not in datasette.cli.cli.commands:
        pytest.skip("datasette.cli does not register publish yet")
    assert "package" in datasette.cli.cli.commands
    assert {"cloudrun", "heroku"} <= set(datasette.cli.cli.commands["publish"].commands)


def test_plugin_secret_env_var_name():
    assert (
        plugin_secret_env_var("datasette-auth-github", "client-id")
        == "DATASETTE_AUTH_GITHUB_CLIENT_ID"
    )


# ---------------------------------------------------------------------------
# missing binaries


@mock.patch("datasette.publish.cloudrun.check_call")
def test_cloudrun_requires_gcloud(mock_call, cli, workdir):
    with which(False):
        result = CliRunner().invoke(cli, ["publish", "cloudrun", "test.db"])
    assert result.exit_code == 1
    assert (
        "Publishing to Google Cloud requires gcloud to be installed and configured" in result.stderr
    )
    assert "Follow the instructions at https://cloud.google.com/sdk/" in result.stderr
    assert not mock_call.called


@mock.patch("datasette.publish.heroku.call")
@mock.patch("datasette.publish.heroku.check_output")
def test_heroku_requires_heroku(mock_output, mock_call, cli, workdir):
    with which(False):
        result = CliRunner().invoke(cli, ["publish", "heroku", "test.db"])
    assert result.exit_code == 1
    assert "Publishing to Heroku requires heroku to be installed and configured" in result.stderr
    assert (
        "Follow the instructions at https://devcenter.heroku.com/articles/heroku-cli"
        in result.stderr
    )
    assert not mock_call.called and not mock_output.called


@mock.patch("datasette.cli.call")
def test_package_requires_docker(mock_call, cli, workdir):
    with which(False):
        result = CliRunner().invoke(cli, ["package", "test.db"])
    assert result.exit_code == 1
    assert (
        ' The package command requires "docker" to be installed and configured \n' == result.stderr
    )
    assert not mock_call.called


@pytest.mark.parametrize(
    "args",
    [
        ["publish", "cloudrun", "woop.db"],
        ["publish", "heroku", "woop.db"],
        ["package", "woop.db"],
    ],
)
def test_missing_database_file_is_usage_error(args, cli, workdir):
    with which(True):
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "Path 'woop.db' does not exist" in result.output


# ---------------------------------------------------------------------------
# cloudrun


@pytest.fixture
def gcloud():
    """Patched gcloud: project `myproject`, one existing service, recorded calls."""
    capture = Capture()
    with (
        which(True),
        mock.patch("datasette.publish.cloudrun.check_output", return_value="myproject\n") as output,
        mock.patch("datasette.publish.cloudrun.check_call", side_effect=capture) as call,
        mock.patch(
            "datasette.publish.cloudrun.get_existing_services",
            return_value=[
                {"name": "existing", "created": "2019-01-01", "url": "http://www.example.com/"}
            ],
        ) as services,
    ):
        yield mock.Mock(output=output, call=call, services=services, capture=capture)


def test_cloudrun_prompts_for_service_after_listing(cli, workdir, gcloud):
    result = CliRunner().invoke(cli, ["publish", "cloudrun", "test.db"], input="input-service\n")
    assert result.exit_code == 0, result.output
    assert "  existing - created 2019-01-01 - http://www.example.com/\n" in result.output
    assert result.output.index("existing - created") < result.output.index(
        "Service name: input-service"
    )
    gcloud.output.assert_called_once_with(
        "gcloud config get-value project", shell=True, universal_newlines=True
    )
    tag = "gcr.io/myproject/datasette-input-service"
    assert gcloud.call.mock_calls == [
        mock.call("gcloud builds submit --tag {}".format(tag), shell=True),
        mock.call(
            "gcloud run deploy --allow-unauthenticated --platform=managed "
            "--image {} input-service".format(tag),
            shell=True,
        ),
    ]


def test_cloudrun_with_service_does_not_prompt(cli, workdir, gcloud):
    result = CliRunner().invoke(cli, ["publish", "cloudrun", "test.db", "--service", "svc"])
    assert result.exit_code == 0, result.output
    assert "Service name" not in result.output
    assert not gcloud.services.called
    assert gcloud.call.mock_calls[0] == mock.call(
        "gcloud builds submit --tag gcr.io/myproject/datasette-svc", shell=True
    )


@pytest.mark.parametrize(
    "options,expected",
    [
        (["--memory", "1Gi"], "--memory 1Gi"),
        (["--memory", "2G"], "--memory 2G"),
        (["--memory", "256Mi"], "--memory 256Mi"),
        (["--memory", "512M"], "--memory 512M"),
        (["--cpu", "1"], "--cpu 1"),
        (["--cpu", "4"], "--cpu 4"),
        (["--timeout", "1800"], "--timeout 1800"),
        (["--min-instances", "2"], "--min-instances 2"),
        (["--max-instances", "4", "--min-instances", "1"], "--min-instances 1 --max-instances 4"),
        (
            ["--cpu", "2", "--max-instances", "3", "--timeout", "60", "--memory", "2Gi"],
            "--memory 2Gi --cpu 2 --timeout 60 --max-instances 3",
        ),
    ],
)
def test_cloudrun_sizing_flags(options, expected, cli, workdir, gcloud):
    result = CliRunner().invoke(
        cli, ["publish", "cloudrun", "test.db", "--service", "test"] + options
    )
    assert result.exit_code == 0, result.output
    assert gcloud.call.mock_calls[-1] == mock.call(
        "gcloud run deploy --allow-unauthenticated --platform=managed "
        "--image gcr.io/myproject/datasette-test test " + expected,
        shell=True,
    )


@pytest.mark.parametrize(
    "options", [["--memory", "4"], ["--memory", "GB"], ["--memory", "1Gb"], ["--cpu", "3"]]
)
def test_cloudrun_invalid_sizing_is_usage_error(options, cli, workdir, gcloud):
    result = CliRunner().invoke(
        cli, ["publish", "cloudrun", "test.db", "--service", "test"] + options
    )
    assert result.exit_code == 2
    assert not gcloud.call.called


def test_cloudrun_dockerfile_and_metadata_with_plugin_secrets(cli, workdir, gcloud):
    (workdir / "metadata.yml").write_text(
        "title: Original\ndescription: From file\n"
        "plugins:\n  datasette-auth-github:\n    allow_users: [simonw]\n"
    )
    result = CliRunner().invoke(
        cli,
        [
            "publish", "cloudrun", "test.db", "--service", "s",
            "-m", "metadata.yml",
            "--secret", "x-secret",
            "--install", "datasette-auth-github",
            "--plugin-secret", "datasette-auth-github", "client_id", "x-client-id",
            "--plugin-secret", "datasette-auth-github", "client-secret", "x-sec",
            "--title", "My title",
            "--license", "CC0", "--license_url", "https://example.com/l",
            "--source", "Src", "--source_url", "https://example.com/s",
            "--about", "About", "--about_url", "https://example.com/a",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    expected = textwrap.dedent(
        """
        FROM python:3.11.0-slim-bullseye
        COPY . /app
        WORKDIR /app

        ENV DATASETTE_AUTH_GITHUB_CLIENT_ID 'x-client-id'
        ENV DATASETTE_AUTH_GITHUB_CLIENT_SECRET 'x-sec'
        ENV DATASETTE_SECRET 'x-secret'
        RUN pip install -U datasette datasette-auth-github
        RUN datasette inspect test.db --inspect-file inspect-data.json
        ENV PORT 8001
        EXPOSE 8001
        CMD datasette serve --host 0.0.0.0 -i test.db --cors --inspect-file inspect-data.json \
--metadata metadata.json --setting force_https_urls on --port $PORT
        """
    ).strip()
    assert gcloud.capture.files["Dockerfile"] == expected
    assert json.loads(gcloud.capture.files["metadata.json"]) == {
        "title": "My title",
        "description": "From file",
        "license": "CC0",
        "license_url": "https://example.com/l",
        "source": "Src",
        "source_url": "https://example.com/s",
        "about": "About",
        "about_url": "https://example.com/a",
        "plugins": {
            "datasette-auth-github": {
                "allow_users": ["simonw"],
                "client_id": {"$env": "DATASETTE_AUTH_GITHUB_CLIENT_ID"},
                "client-secret": {"$env": "DATASETTE_AUTH_GITHUB_CLIENT_SECRET"},
            }
        },
    }


@pytest.mark.parametrize(
    "extra,expected_tail",
    [
        (None, "--setting force_https_urls on --port $PORT"),
        (
            "--setting base_url /x/",
            "--setting base_url /x/ --setting force_https_urls on --port $PORT",
        ),
        ("--setting force_https_urls off", "--setting force_https_urls off --port $PORT"),
    ],
)
def test_cloudrun_force_https_urls(extra, expected_tail, cli, workdir, gcloud):
    args = ["publish", "cloudrun", "test.db", "--service", "s"]
    if extra:
        args += ["--extra-options", extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    cmd = gcloud.capture.files["Dockerfile"].splitlines()[-1]
    assert cmd.endswith(" " + expected_tail)
    assert cmd.count("force_https_urls") == 1


def test_cloudrun_spatialite_apt_get_and_name(cli, workdir, gcloud):
    result = CliRunner().invoke(
        cli,
        [
            "publish", "cloudrun", "test.db", "--service", "s", "--spatialite",
            "--apt-get-install", "ripgrep", "--apt-get-install", "jq",
            "--secret", "x", "-n", "custom-name",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    dockerfile = gcloud.capture.files["Dockerfile"]
    assert (
        "RUN apt-get update && \\\n"
        "    apt-get install -y ripgrep jq python3-dev gcc libsqlite3-mod-spatialite && \\\n"
        "    rm -rf /var/lib/apt/lists/*\n"
    ) in dockerfile
    assert "ENV SQLITE_EXTENSIONS '/usr/lib/x86_64-linux-gnu/mod_spatialite.so'" in dockerfile
    assert "metadata.json" not in gcloud.capture.files


def test_cloudrun_build_directory_uses_name(cli, workdir, gcloud):
    seen = []
    gcloud.call.side_effect = lambda *a, **k: seen.append(os.path.basename(os.getcwd()))
    result = CliRunner().invoke(
        cli, ["publish", "cloudrun", "test.db", "--service", "s", "-n", "custom-name"]
    )
    assert result.exit_code == 0, result.output
    assert seen[0] == "custom-name"


def test_cloudrun_show_files(cli, workdir, gcloud):
    result = CliRunner().invoke(
        cli,
        ["publish", "cloudrun", "test.db", "--service", "s", "--show-files", "--title", "T"],
    )
    assert result.exit_code == 0, result.output
    assert "FROM python:3.11.0-slim-bullseye" in result.output
    assert '"title": "T"' in result.output


def test_cloudrun_plugin_secret_with_quote_is_rejected(cli, workdir, gcloud):
    result = CliRunner().invoke(
        cli,
        ["publish", "cloudrun", "test.db", "--service", "s",
         "--plugin-secret", "p", "s", "it's"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--plugin-secret cannot contain single quotes" in result.output
    assert not gcloud.call.called


def test_get_existing_services_parses_gcloud_json():
    listing = [
        {
            "metadata": {"name": "one", "creationTimestamp": "2020-01-01T00:00:00Z"},
            "status": {"address": {"url": "https://one.run.app"}},
        }
    ]
    with mock.patch(
        "datasette.publish.cloudrun.check_output", return_value=json.dumps(listing)
    ) as output:
        services = cloudrun.get_existing_services()
    assert services == [
        {"name": "one", "created": "2020-01-01T00:00:00Z", "url": "https://one.run.app"}
    ]
    assert output.call_args[0][0].startswith("gcloud run services list")


# ---------------------------------------------------------------------------
# package


@mock.patch("datasette.cli.call")
def test_package_default_dockerfile(mock_call, cli, workdir):
    capture = Capture()
    mock_call.side_effect = capture
    with which(True):
        result = CliRunner().invoke(cli, ["package", "test.db", "--secret", "sekrit"])
    assert result.exit_code == 0, result.output
    mock_call.assert_called_once_with(["docker", "build", "."])
    expected = textwrap.dedent(
        """
        FROM python:3.11.0-slim-bullseye
        COPY . /app
        WORKDIR /app

        ENV DATASETTE_SECRET 'sekrit'
        RUN pip install -U datasette
        RUN datasette inspect test.db --inspect-file inspect-data.json
        ENV PORT 8001
        EXPOSE 8001
        CMD datasette serve --host 0.0.0.0 -i test.db --cors --inspect-file inspect-data.json --port $PORT
        """
    ).strip()
    assert capture.files["Dockerfile"] == expected
    assert "metadata.json" not in capture.files
    assert "test.db" in capture.listing


@mock.patch("datasette.cli.call")
def test_package_tag_and_port(mock_call, cli, workdir):
    capture = Capture()
    mock_call.side_effect = capture
    with which(True):
        result = CliRunner().invoke(
            cli, ["package", "test.db", "-t", "me/db:1", "-p", "8080", "--secret", "s"]
        )
    assert result.exit_code == 0, result.output
    mock_call.assert_called_once_with(["docker", "build", "-t", "me/db:1", "."])
    dockerfile = capture.files["Dockerfile"]
    assert "ENV PORT 8080\nEXPOSE 8080\n" in dockerfile


@pytest.mark.parametrize("port", ["0", "65536", "-1"])
@mock.patch("datasette.cli.call")
def test_package_port_out_of_range(mock_call, port, cli, workdir):
    with which(True):
        result = CliRunner().invoke(cli, ["package", "test.db", "--port", port])
    assert result.exit_code == 2
    assert "Invalid value for '-p' / '--port'" in result.output
    assert not mock_call.called


@mock.patch("datasette.cli.call")
def test_package_all_shared_options(mock_call, cli, workdir):
    (workdir / "templates").mkdir()
    (workdir / "templates" / "index.html").write_text("hi")
    (workdir / "plugins").mkdir()
    (workdir / "plugins" / "p.py").write_text("")
    (workdir / "css").mkdir()
    (workdir / "css" / "site.css").write_text("body{}")
    (workdir / "other.db").write_text("data")
    (workdir / "meta.json").write_text(json.dumps({"title": "From file"}))
    capture = Capture()
    mock_call.side_effect = capture
    with which(True):
        result = CliRunner().invoke(
            cli,
            [
                "package", "test.db", "other.db",
                "--secret", "s",
                "-m", "meta.json",
                "--template-dir", "templates",
                "--plugins-dir", "plugins",
                "--static", "assets:css",
                "--version-note", "v1",
                "--extra-options", "--setting sql_time_limit_ms 3500",
                "--branch", "main",
                "--install", "datasette-vega", "--install", "datasette-cluster-map",
                "--spatialite",
                "--license", "MIT",
            ],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = capture.files["Dockerfile"].splitlines()
    assert lines[-1] == (
        "CMD datasette serve --host 0.0.0.0 -i test.db -i other.db --cors "
        "--inspect-file inspect-data.json --metadata metadata.json "
        "--template-dir templates/ --plugins-dir plugins/ --version-note v1 "
        "--static assets:assets --setting sql_time_limit_ms 3500 --port $PORT"
    )
    assert (
        "RUN pip install -U https://github.com/simonw/datasette/archive/main.zip "
        "datasette-vega datasette-cluster-map"
    ) in lines
    assert "RUN datasette inspect test.db other.db --inspect-file inspect-data.json" in lines
    assert "ENV SQLITE_EXTENSIONS '/usr/lib/x86_64-linux-gnu/mod_spatialite.so'" in lines
    assert json.loads(capture.files["metadata.json"]) == {
        "title": "From file",
        "license": "MIT",
    }
    for path in (
        "test.db",
        "other.db",
        "templates/index.html",
        "plugins/p.py",
        "assets/site.css",
        "metadata.json",
        "Dockerfile",
    ):
        assert path in capture.listing


@mock.patch("datasette.cli.call")
def test_package_has_no_plugin_secret_option(mock_call, cli, workdir):
    with which(True):
        result = CliRunner().invoke(cli, ["package", "test.db", "--plugin-secret", "a", "b", "c"])
    assert result.exit_code == 2
    assert "No such option" in result.output and "--plugin-secret" in result.output
    assert not mock_call.called


@mock.patch("datasette.cli.call")
def test_package_secret_from_environment_and_random_default(mock_call, cli, workdir, monkeypatch):
    captures = []

    def record(*args, **kwargs):
        capture = Capture()
        capture()
        captures.append(capture)
        return 0

    mock_call.side_effect = record
    monkeypatch.delenv("DATASETTE_PUBLISH_SECRET", raising=False)
    runner = CliRunner()
    with which(True):
        assert runner.invoke(cli, ["package", "test.db"]).exit_code == 0
        assert runner.invoke(cli, ["package", "test.db"]).exit_code == 0
        monkeypatch.setenv("DATASETTE_PUBLISH_SECRET", "from-env")
        assert runner.invoke(cli, ["package", "test.db"]).exit_code == 0
    secrets = [
        re.search(r"ENV DATASETTE_SECRET '([^']*)'", c.files["Dockerfile"]).group(1)
        for c in captures
    ]
    assert re.fullmatch(r"[0-9a-f]{64}", secrets[0])
    assert secrets[0] != secrets[1]
    assert secrets[2] == "from-env"


@mock.patch("datasette.cli.call", return_value=3)
def test_package_docker_failure_exit_code(mock_call, cli, workdir):
    with which(True):
        result = CliRunner().invoke(cli, ["package", "test.db"])
    assert mock_call.called
    assert result.exit_code == 3


@mock.patch("datasette.cli.call")
def test_package_restores_working_directory(mock_call, cli, workdir):
    before = os.getcwd()
    with which(True):
        result = CliRunner().invoke(cli, ["package", "test.db"])
    assert result.exit_code == 0
    assert os.getcwd() == before
    assert mock_call.called


# ---------------------------------------------------------------------------
# heroku


def heroku_outputs(plugins=b"heroku-builds 1.0", apps=b"[]", created=b'{"name": "f"}'):
    responses = {
        "['heroku', 'plugins']": plugins,
        "['heroku', 'apps:list', '--json']": apps,
        "['heroku', 'apps:create', 'datasette', '--json']": created,
        "['heroku', 'apps:create', 'myapp', '--json']": created,
    }
    return lambda command: responses[repr(command)]


@mock.patch("datasette.publish.heroku.call", return_value=0)
@mock.patch("datasette.publish.heroku.check_output")
def test_heroku_publish_commands(mock_output, mock_call, cli, workdir):
    mock_output.side_effect = heroku_outputs()
    with which(True):
        result = CliRunner().invoke(
            cli, ["publish", "heroku", "test.db", "--tar", "gtar", "--secret", "sek"]
        )
    assert result.exit_code == 0, result.output
    assert [c.args[0] for c in mock_output.mock_calls] == [
        ["heroku", "plugins"],
        ["heroku", "apps:list", "--json"],
        ["heroku", "apps:create", "datasette", "--json"],
    ]
    assert mock_call.mock_calls == [
        mock.call(["heroku", "config:set", "-a", "f", "DATASETTE_SECRET=sek"]),
        mock.call(["heroku", "config:set", "-a", "f", "WEB_CONCURRENCY=1"]),
        mock.call(["heroku", "builds:create", "-a", "f", "--include-vcs-ignore", "--tar", "gtar"]),
    ]


@mock.patch("datasette.publish.heroku.call", return_value=0)
@mock.patch("datasette.publish.heroku.check_output")
def test_heroku_reuses_existing_app(mock_output, mock_call, cli, workdir):
    mock_output.side_effect = heroku_outputs(apps=b'[{"name": "other"}, {"name": "myapp"}]')
    with which(True):
        result = CliRunner().invoke(cli, ["publish", "heroku", "test.db", "-n", "myapp"])
    assert result.exit_code == 0, result.output
    assert ["heroku", "apps:create", "myapp", "--json"] not in [
        c.args[0] for c in mock_output.mock_calls
    ]
    assert mock_call.mock_calls[-1] == mock.call(
        ["heroku", "builds:create", "-a", "myapp", "--include-vcs-ignore"]
    )


@mock.patch("datasette.publish.heroku.call")
@mock.patch("datasette.publish.heroku.check_output")
def test_heroku_plugin_secrets_and_generated_files(mock_output, mock_call, cli, workdir):
    mock_output.side_effect = heroku_outputs()
    capture = Capture(names=("metadata.json", "Procfile", "requirements.txt"))
    mock_call.side_effect = capture
    with which(True):
        result = CliRunner().invoke(
            cli,
            [
                "publish", "heroku", "test.db", "--secret", "sek",
                "--install", "datasette-auth-github",
                "--plugin-secret", "datasette-auth-github", "client_id", "x-client-id",
                "--title", "T",
            ],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        mock.call(
            ["heroku", "config:set", "-a", "f", "DATASETTE_AUTH_GITHUB_CLIENT_ID=x-client-id"]
        )
        in mock_call.mock_calls
    )
    assert json.loads(capture.files["metadata.json"]) == {
        "title": "T",
        "plugins": {
            "datasette-auth-github": {"client_id": {"$env": "DATASETTE_AUTH_GITHUB_CLIENT_ID"}}
        },
    }
    assert capture.files["Procfile"] == (
        "web: datasette serve --host 0.0.0.0 -i test.db --cors --port $PORT "
        "--inspect-file inspect-data.json --metadata metadata.json\n"
    )
    assert capture.files["requirements.txt"] == "datasette\ndatasette-auth-github\n"
    assert "test.db" in capture.listing


@mock.patch("datasette.publish.heroku.call", return_value=0)
@mock.patch("datasette.publish.heroku.check_output")
def test_heroku_offers_to_install_builds_plugin(mock_output, mock_call, cli, workdir):
    mock_output.side_effect = heroku_outputs(plugins=b"heroku-cli-plugin-other")
    with which(True):
        result = CliRunner().invoke(cli, ["publish", "heroku", "test.db"], input="y\n")
    assert result.exit_code == 0, result.output
    assert mock_call.mock_calls[0] == mock.call(["heroku", "plugins:install", "heroku-builds"])


@mock.patch("datasette.publish.heroku.call", return_value=0)
@mock.patch("datasette.publish.heroku.check_output")
def test_heroku_declining_builds_plugin_exits(mock_output, mock_call, cli, workdir):
    mock_output.side_effect = heroku_outputs(plugins=b"")
    with which(True):
        result = CliRunner().invoke(cli, ["publish", "heroku", "test.db"], input="n\n")
    assert result.exit_code == 1
    assert not mock_call.called


@mock.patch("datasette.publish.heroku.call")
@mock.patch("datasette.publish.heroku.check_output")
def test_heroku_generate_dir(mock_output, mock_call, cli, workdir):
    (workdir / "templates").mkdir()
    (workdir / "templates" / "base.html").write_text("x")
    (workdir / "static").mkdir()
    (workdir / "static" / "a.css").write_text("y")
    # No heroku binary needed: nothing is deployed.
    with which(False):
        result = CliRunner().invoke(
            cli,
            [
                "publish", "heroku", "test.db", "--generate-dir", "out",
                "--template-dir", "templates", "--static", "s:static",
                "--version-note", "v2", "--extra-options", "--setting base_url /b/",
                "--branch", "dev", "--install", "datasette-vega",
                "--about", "About",
            ],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert not mock_output.called and not mock_call.called
    out = workdir / "out"
    assert (out / "runtime.txt").read_text().strip() == "python-3.11.0"
    assert (out / "requirements.txt").read_text().splitlines() == [
        "https://github.com/simonw/datasette/archive/dev.zip",
        "datasette-vega",
    ]
    post_compile = out / "bin" / "post_compile"
    assert post_compile.read_text().splitlines() == [
        "#!/usr/bin/env bash",
        "datasette inspect test.db --inspect-file inspect-data.json",
    ]
    assert post_compile.stat().st_mode & stat.S_IXUSR
    assert (out / "Procfile").read_text() == (
        "web: datasette serve --host 0.0.0.0 -i test.db --cors --port $PORT "
        "--inspect-file inspect-data.json --metadata metadata.json "
        "--template-dir templates/ --version-note v2 --static s:s "
        "--setting base_url /b/\n"
    )
    assert json.loads((out / "metadata.json").read_text()) == {"about": "About"}
    assert (out / "test.db").read_text() == "data"
    assert (out / "templates" / "base.html").read_text() == "x"
    assert (out / "s" / "a.css").read_text() == "y"


def test_heroku_generate_dir_without_metadata_has_no_metadata_file(cli, workdir):
    result = CliRunner().invoke(cli, ["publish", "heroku", "test.db", "--generate-dir", "o"])
    assert result.exit_code == 0, result.output
    assert not (workdir / "o" / "metadata.json").exists()
    assert "--metadata" not in (workdir / "o" / "Procfile").read_text()


def test_heroku_generate_dir_refuses_existing_directory(cli, workdir):
    (workdir / "out").mkdir()
    result = CliRunner().invoke(cli, ["publish", "heroku", "test.db", "--generate-dir", "out"])
    assert result.exit_code == 1
    assert "Error: Directory already exists" in result.output
    assert os.listdir(workdir / "out") == []


@mock.patch("datasette.publish.heroku.call")
def test_heroku_plugin_secret_with_quote_is_rejected(mock_call, cli, workdir):
    with which(True):
        result = CliRunner().invoke(
            cli,
            ["publish", "heroku", "test.db", "--plugin-secret", "p", "s", "a'b"],
        )
    assert result.exit_code == 2
    assert "--plugin-secret cannot contain single quotes" in result.output
    assert not mock_call.called

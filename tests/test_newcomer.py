"""What a newcomer trips on in the first ten minutes (issue 9), each as a user meets it.

Real processes where the user would run a command: the URL printed at start-up answers
at once, unknown settings and broken configuration files are one line naming the culprit,
a refused `--internal` file is left alone, `create-token` refuses an empty secret, and a
plugin whose start-up fails is one `Error:` line. In process: a second `Datasette` on the
same internal file once the first is closed or forgotten. And the getting-started page's
first commands work as pasted.
"""

import asyncio
import gc
import json
import os
import pathlib
import re
import shlex
import sqlite3
import subprocess
import sys
import textwrap

import httpx
import pytest

from datasette.app import Datasette
from datasette.exceptions import InternalDatabaseError

DOCS = pathlib.Path(__file__).parent.parent / "docs"

FAILING_STARTUP_PLUGIN = textwrap.dedent(
    """
    from datasette import hookimpl


    @hookimpl
    def startup(datasette):
        async def inner():
            assert False, "Database is immutable"

        return inner
    """
)


def run_datasette(args, cwd, env=None, timeout=60):
    """`python -m datasette ARGS` to completion, installed plugins not loaded."""
    return subprocess.run(
        [sys.executable, "-m", "datasette", *[str(a) for a in args]],
        capture_output=True,
        text=True,
        cwd=str(cwd),
        env=dict(os.environ, DATASETTE_LOAD_PLUGINS="", **(env or {})),
        timeout=timeout,
    )


def error_lines(result):
    """The non-blank lines of a finished command's output; there should be one."""
    return [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]


def failing_plugin_dir(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "fails_at_startup.py").write_text(FAILING_STARTUP_PLUGIN)
    return plugins


# -- a refused --internal file is left as it was -------------------------------------------


@pytest.mark.parametrize("kind", ["not-sqlite", "user-tables", "lookalike"])
def test_refused_internal_file_gets_nothing_written_beside_it(tmp_path, kind):
    folder = tmp_path / "state"
    folder.mkdir()
    internal = folder / "internal.db"
    if kind == "not-sqlite":
        internal.write_text("this is not a database\n")
    else:
        conn = sqlite3.connect(internal)
        if kind == "user-tables":
            conn.execute("create table notes (id integer primary key)")
        else:
            conn.execute("create table _datasette_internal (junk text)")
        conn.commit()
        conn.close()
    before = internal.read_bytes()
    result = run_datasette(["--internal", internal, "--get", "/-/versions.json"], tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("Error: "), lines
    assert sorted(p.name for p in folder.iterdir()) == ["internal.db"]
    assert internal.read_bytes() == before


def test_accepted_internal_file_has_its_pid_file_only_while_held(tmp_path):
    internal = tmp_path / "internal.db"
    ds = Datasette([], internal=str(internal))
    try:
        lock_file = tmp_path / "internal.db.lock"
        assert lock_file.read_text().strip() == str(os.getpid())
    finally:
        ds.close()
    assert not (tmp_path / "internal.db.lock").exists()
    assert internal.exists()


# -- a second Datasette in the same process ------------------------------------------------


def _started_instance(path):
    """An instance on `path` that has served a request, and so started its write thread."""
    ds = Datasette([], internal=str(path), memory=True)

    async def use():
        await ds.invoke_startup()
        response = await ds.client.get("/_memory.json?sql=select+1")
        assert response.status_code == 200

    asyncio.run(use())
    return ds


def test_second_instance_works_once_the_first_is_closed(tmp_path):
    path = tmp_path / "internal.db"
    first = _started_instance(path)
    first.close()
    second = _started_instance(path)
    second.close()


def test_second_instance_works_once_the_first_is_garbage_collected(tmp_path):
    path = tmp_path / "internal.db"
    first = _started_instance(path)
    del first  # never closed: a script that just drops it
    second = _started_instance(path)
    second.close()


def test_refusal_names_this_process_when_the_holder_is_alive_here(tmp_path):
    path = tmp_path / "internal.db"
    first = Datasette([], internal=str(path))
    try:
        with pytest.raises(InternalDatabaseError) as caught:
            Datasette([], internal=str(path))
        message = str(caught.value)
        assert "another process" not in message
        assert "another Datasette process" not in message
        assert "in this process" in message
        assert "close()" in message
    finally:
        first.close()
    gc.collect()


# -- create-token --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,env",
    [
        (["--secret", ""], {}),
        (["--secret", "   "], {}),
        ([], {"DATASETTE_SECRET": ""}),
        ([], {}),
    ],
)
def test_create_token_refuses_an_empty_secret_in_one_line(tmp_path, args, env):
    environment = {k: v for k, v in os.environ.items() if k != "DATASETTE_SECRET"}
    environment.update(env, DATASETTE_LOAD_PLUGINS="")
    result = subprocess.run(
        [sys.executable, "-m", "datasette", "create-token", "root", *args],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        env=environment,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = error_lines(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: ") and "secret" in lines[0]


def test_create_token_plugin_failing_at_startup_is_one_error_line(tmp_path):
    plugins = failing_plugin_dir(tmp_path)
    result = run_datasette(
        ["create-token", "root", "--secret", "abc", "--plugins-dir", plugins], tmp_path
    )
    assert result.returncode == 1
    lines = error_lines(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: Plugin fails_at_startup")
    assert "Database is immutable" in lines[0]
    assert "Traceback" not in result.stderr


# -- the docs' first commands ----------------------------------------------------------------


def _indented_commands(markdown, heading):
    """The indented command lines under `## heading`, up to the next heading."""
    section = markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [line[4:] for line in section.splitlines() if line.startswith("    ") and line.strip()]


def test_getting_started_creates_the_file_it_serves(tmp_path):
    commands = _indented_commands((DOCS / "getting-started.md").read_text(), "Serve your own databases")
    create, serve = commands[0], commands[1]
    assert create.startswith("sqlite3 mydata.db ")
    assert serve == "datasette mydata.db"
    subprocess.run(shlex.split(create), cwd=str(tmp_path), check=True, timeout=60)
    result = run_datasette(["mydata.db", "--get", "/mydata/notes.json?_shape=array"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"body": "My first note"' in result.stdout


def test_getting_started_fallback_without_sqlite3_writes_the_demo_file(tmp_path):
    text = (DOCS / "getting-started.md").read_text()
    command = re.search(r"`(python3 -c \"from datasette.demo import [^`]+)`", text).group(1)
    args = shlex.split(command)
    args[0] = sys.executable
    subprocess.run(args, cwd=str(tmp_path), check=True, timeout=60)
    result = run_datasette(["library.db", "--get", "/library.json"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"books"' in result.stdout


def test_every_page_serves_only_files_it_created_first():
    """A page's first `datasette FILE.db` command is preceded by one that makes FILE.db,
    or carries `--create`; `--demo` needs no file at all."""
    makers = ("sqlite3 {f}", "write_demo_file('{f}')", "sqlite3.connect('{f}')")
    problems = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        match = re.search(r"^\s*datasette (?:serve )?([\w./-]+\.db)\b(.*)$", text, re.M)
        if match is None:
            continue
        name, rest = match.group(1), match.group(2)
        before = text[: match.start()]
        if "--create" in rest or any(m.format(f=name) in before for m in makers):
            continue
        problems.append(f"{page.name}: {match.group(0).strip()}")
    assert problems == []



# -- the URL printed at start-up answers at once --------------------------------------------

SLOW_LIFESPAN_PLUGIN = textwrap.dedent(
    """
    import asyncio

    from datasette import hookimpl


    @hookimpl
    def asgi_wrapper(datasette):
        def wrap(app):
            async def slow_start(scope, receive, send):
                if scope["type"] == "lifespan":
                    # A server that takes a moment to start: connections made meanwhile
                    # must wait for it, not be refused.
                    await asyncio.sleep(1)
                await app(scope, receive, send)

            return slow_start

        return wrap
    """
)


@pytest.mark.slow
def test_printed_url_accepts_a_connection_at_once(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "slow_lifespan.py").write_text(SLOW_LIFESPAN_PLUGIN)
    process = subprocess.Popen(
        [sys.executable, "-m", "datasette", "--memory", "-p", "0", "--plugins-dir", str(plugins)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(tmp_path),
        env=dict(os.environ, DATASETTE_LOAD_PLUGINS=""),
    )
    try:
        url = None
        for line in process.stderr:
            match = re.match(r"Serving on (http://\S+) ", line)
            if match:
                url = match.group(1)
                break
        assert url is not None, "no 'Serving on' line"
        # No retry loop: the first request after the line must be answered.
        response = httpx.get(url + "-/versions.json", timeout=60)
        assert response.status_code == 200
        assert "datasette" in response.json()
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()


# -- settings and configuration files --------------------------------------------------------


def test_mistyped_bare_setting_is_refused_naming_it(tmp_path):
    result = run_datasette(
        ["--memory", "-s", "default_pag_size", "5", "--get", "/-/settings.json"], tmp_path
    )
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        "Error: Invalid value for '-s' / '--setting': unknown setting 'default_pag_size'"
        " (did you mean 'default_page_size'?); datasette --help-settings lists them"
    ]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_our_own_settings_work_bare_with_dash_s(tmp_path):
    # default_deny is a setting 1.0a7 lacks; `-s default_deny on` used to be dropped
    result = run_datasette(["--memory", "-s", "default_deny", "on", "--get", "/"], tmp_path)
    assert result.returncode == 1
    assert "Warning" not in result.stderr


def test_unknown_setting_in_a_config_file_names_the_file(tmp_path):
    config = tmp_path / "my-config.yaml"
    config.write_text("settings:\n  default_pag_size: 5\n")
    result = run_datasette(["--memory", "-c", config, "--get", "/"], tmp_path)
    assert result.returncode == 1
    lines = error_lines(result)
    assert lines == [f"Error: Invalid setting 'default_pag_size' in {config}"], lines


@pytest.mark.parametrize(
    "settings,expected",
    [
        ({"default_page_size": "lots"}, "default_page_size should be a number"),
        ({"allow_facet": "maybe"}, "allow_facet should be true or false"),
        ({"base_url": 5}, "base_url should be a string"),
    ],
)
def test_mistyped_setting_in_a_config_file_names_the_file(tmp_path, settings, expected):
    config = tmp_path / "datasette.json"
    config.write_text(json.dumps({"settings": settings}))
    result = run_datasette(["--memory", "-c", config, "--get", "/"], tmp_path)
    assert result.returncode == 1
    lines = error_lines(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"Error: Config file {config}: ")
    assert expected in lines[0]


def test_serve_callback_accepts_an_open_metadata_file(tmp_path):
    from datasette.cli import serve

    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps({"title": "From an open file"}))
    with open(metadata) as fp:
        ds = serve.callback(
            [], metadata=fp, immutable=[], host="127.0.0.1", port=8001, uds=None,
            reload=False, cors=False, sqlite_extensions=[], inspect_file=None,
            template_dir=None, plugins_dir=None, static=[], memory=True, config=None,
            settings=[], secret=None, root=False, token=None, actor=None,
            version_note=None, get=None, help_settings=False, pdb=False, crossdb=False,
            nolock=False, open_browser=False, create=False, ssl_keyfile=None,
            ssl_certfile=None, return_instance=True, internal=None,
        )  # fmt: skip
    try:
        assert ds.metadata("title") == "From an open file"
    finally:
        ds.close()


# -- a plugin failing at start-up: serve and --get ------------------------------------------


@pytest.mark.parametrize("mode", ["get", "serve"])
def test_plugin_failing_at_startup_is_one_error_line(tmp_path, mode):
    plugins = failing_plugin_dir(tmp_path)
    args = ["--memory", "-p", "0", "--plugins-dir", plugins]
    if mode == "get":
        args += ["--get", "/"]
    result = run_datasette(args, tmp_path)
    assert result.returncode == 1
    lines = error_lines(result)
    assert lines == [
        "Error: Plugin fails_at_startup.py failed in its startup hook: Database is immutable"
    ], lines

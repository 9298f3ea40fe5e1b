"""`datasette serve` through click's CliRunner (http-cli.md §11, internals.md §1.10).

Every invocation uses `--get PATH`, `--help-settings`, an early refusal or
`return_instance=True`, so no port is bound (except the one subprocess test at the end).
"""

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile

import pytest
from click.testing import CliRunner

from datasette.app import SETTINGS, Datasette
from datasette.settings import EXTRA_SETTINGS
from datasette.cli import cli, serve


def run(args):
    """Invoke the CLI; always check that nothing crashed with a traceback."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def make_small_db(path):
    conn = sqlite3.connect(str(path))
    conn.execute("create table t (x)")
    conn.execute("insert into t values (1)")
    conn.commit()
    conn.close()
    return path


def error_lines(result):
    return [line for line in result.output.splitlines() if line.startswith("Error:")]


def test_version():
    result = run(["--version"])
    assert result.exit_code == 0
    assert result.output == "datasette, version 1.0a7\n"


def test_default_command_is_serve(db_path):
    result = run([db_path, "--get", "/-/databases.json"])
    explicit = run(["serve", db_path, "--get", "/-/databases.json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "name": "sample",
            "route": "sample",
            "path": str(db_path),
            "size": db_path.stat().st_size,
            "is_mutable": True,
            "is_memory": False,
            "hash": None,
        }
    ]
    assert explicit.exit_code == 0
    assert explicit.output == result.output


def test_get_query(db_path):
    result = run([db_path, "--get", "/sample.json?sql=select+title+from+books+where+id=2"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "ok": True,
        "rows": [{"title": "Compilers"}],
        "truncated": False,
    }


def test_get_404_exits_1(db_path):
    result = run([db_path, "--get", "/nope.json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"] == "Database not found: nope"


def test_get_redirect_is_not_followed(db_path):
    result = run([db_path, "--get", "/-/config.json"])
    assert result.exit_code == 1
    assert "default_page_size" not in result.output


def test_no_files_serves_memory_only():
    result = run(["--get", "/-/databases.json"])
    assert result.exit_code == 0
    assert [d["name"] for d in json.loads(result.stdout)] == ["_memory"]


def test_missing_file(tmp_path):
    missing = tmp_path / "missing.db"
    result = run([missing, "--get", "/"])
    assert result.exit_code == 1
    assert error_lines(result) == [
        f"Error: Invalid value for '[FILES]...': Path '{missing}' does not exist."
    ]


def test_file_that_is_not_sqlite(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_text("this is not a SQLite database, just some text. " * 20)
    result = run([bad, "--get", "/"])
    assert result.exit_code == 1
    lines = error_lines(result)
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: Connection to {bad} failed check:")


def test_setting_must_be_an_integer(db_path):
    result = run([db_path, "-s", "sql_time_limit_ms", "abc", "--get", "/"])
    assert result.exit_code == 2
    assert error_lines(result) == [
        "Error: Invalid value for '-s' / '--setting': "
        '"settings.sql_time_limit_ms" should be an integer'
    ]


def test_setting_must_be_a_boolean(db_path):
    result = run([db_path, "-s", "allow_facet", "maybe", "--get", "/"])
    assert result.exit_code == 2
    assert error_lines(result) == [
        "Error: Invalid value for '-s' / '--setting': "
        '"settings.allow_facet" should be on/off/true/false/1/0'
    ]


def test_settings_are_applied(db_path):
    result = run(
        [
            db_path,
            "-s", "default_page_size", "5",
            "-s", "allow_facet", "off",
            "-s", "base_url", "/prefix/",
            "--get", "/-/settings.json",
        ]
    )
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)
    assert list(settings) == [s.name for s in SETTINGS]
    assert settings["default_page_size"] == 5
    assert settings["allow_facet"] is False
    assert settings["base_url"] == "/prefix/"


def test_dotted_settings_key(db_path):
    result = run([db_path, "-s", "settings.max_returned_rows", "7", "--get", "/-/settings.json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["max_returned_rows"] == 7


def test_unknown_dotted_setting(db_path):
    result = run([db_path, "-s", "settings.nope", "1", "--get", "/"])
    assert result.exit_code == 1
    assert error_lines(result) == ["Error: Invalid setting 'nope' in datasette.json"]


def test_unknown_bare_setting_is_refused(db_path):
    # 1.0a7 passed it on as a configuration key and ignored it (a silent typo)
    result = run([db_path, "-s", "sql_time_limt_ms", "5", "--get", "/-/settings.json"])
    assert result.exit_code == 2
    assert error_lines(result) == [
        "Error: Invalid value for '-s' / '--setting': unknown setting 'sql_time_limt_ms'"
        " (did you mean 'sql_time_limit_ms'?); datasette --help-settings lists them"
    ]


def test_dotted_and_top_level_config_keys_are_accepted(db_path):
    result = run([
        db_path, "-s", "plugins.datasette-x.colour", "red",
        "-s", "allow_sql", "{}", "--get", "/-/settings.json",
    ])
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)
    assert "plugins" not in settings and "allow_sql" not in settings
    assert len(settings) == 23


def test_config_file_settings(db_path, tmp_path):
    config = tmp_path / "datasette.json"
    config.write_text(json.dumps({"settings": {"default_page_size": 17}}))
    result = run([db_path, "-c", config, "--get", "/-/settings.json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["default_page_size"] == 17


def test_unparseable_config_file(db_path, tmp_path):
    config = tmp_path / "broken.json"
    config.write_text("{{{: [ this is neither JSON\n  - nor: valid: YAML")
    result = run([db_path, "-c", config, "--get", "/"])
    assert result.exit_code == 1
    assert len(error_lines(result)) == 1
    assert str(config) in error_lines(result)[0]


def test_token_requires_get(db_path):
    result = run([db_path, "--token", "dstok_abc"])
    assert result.exit_code == 1
    assert error_lines(result) == ["Error: --token can only be used with --get"]


def test_help_settings():
    result = run(["--help-settings"])
    assert result.exit_code == 0
    assert result.output.startswith("Settings:")
    ours_heading = "Settings of this server that Datasette 1.0a7 lacks:"
    upstream_part, ours_part = result.output.split(ours_heading)
    assert upstream_part.count("(default=") == len(SETTINGS) == 23
    for setting in SETTINGS:
        assert setting.name in upstream_part
    assert ours_part.count("(default=") == len(EXTRA_SETTINGS)
    for setting in EXTRA_SETTINGS:
        assert setting.name in ours_part
    assert "result_cache" in ours_part and "column_stats" in ours_part
    assert "(default=100)" in result.output
    assert "(default=/)" in result.output


def test_internal_pointing_at_a_directory(db_path, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    result = run([db_path, "--internal", folder, "--get", "/"])
    assert result.exit_code == 1
    lines = error_lines(result)
    assert len(lines) == 1
    assert str(folder) in lines[0]


def test_internal_with_missing_parent_folder(db_path, tmp_path):
    parent = tmp_path / "no-such-folder"
    result = run([db_path, "--internal", parent / "internal.db", "--get", "/"])
    assert result.exit_code == 1
    lines = error_lines(result)
    assert len(lines) == 1
    assert str(parent) in lines[0]
    assert not parent.exists()


def test_internal_file_is_created(db_path, tmp_path):
    internal = tmp_path / "internal.db"
    result = run([db_path, "--internal", internal, "--get", "/-/databases.json"])
    assert result.exit_code == 0, result.output
    assert internal.exists()
    assert [d["name"] for d in json.loads(result.stdout)] == ["sample"]


@pytest.mark.parametrize("port", ["70000", "-1", "abc"])
def test_invalid_port(db_path, port):
    result = run([db_path, "--port", port, "--get", "/"])
    assert result.exit_code == 2
    assert len(error_lines(result)) == 1
    assert error_lines(result)[0].startswith("Error: Invalid value for '-p' / '--port':")


def test_demo(tmp_path, monkeypatch):
    # --demo writes its database into a fresh temporary folder: keep that inside tmp_path.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = run(["--demo", "--get", "/demo.json?sql=select+count(*)+from+books"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert list(data["rows"][0]) == ["count(*)"]
    assert data["rows"][0]["count(*)"] > 0
    assert [p.name for p in tmp_path.glob("datasette-demo-*/*.db")] == ["demo.db"]


def test_memory_adds_memory_database(db_path):
    result = run(["--memory", db_path, "--get", "/-/databases.json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["name"] for d in data] == ["_memory", "sample"]
    assert data[0]["is_memory"] is True


def test_crossdb(db_path, tmp_path):
    other = make_small_db(tmp_path / "other.db")
    result = run(
        [
            "--crossdb",
            db_path,
            other,
            "--get",
            "/_memory.json?sql=select+count(*)+from+[sample].books",
        ]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == [{"count(*)": 3}]
    databases = run(["--crossdb", db_path, other, "--get", "/-/databases.json"])
    assert [d["name"] for d in json.loads(databases.stdout)] == ["_memory", "sample", "other"]


def test_crossdb_warns_beyond_ten_databases(tmp_path):
    files = [make_small_db(tmp_path / f"db{i}.db") for i in range(11)]
    result = run(["--crossdb", *files, "--get", "/_memory.json?sql=select+count(*)+from+[db0].t"])
    assert result.exit_code == 0, result.output
    assert "Warning: --crossdb only works with the first 10 attached databases" in result.stderr
    assert json.loads(result.stdout)["rows"] == [{"count(*)": 1}]


def test_without_crossdb_there_is_no_attachment(db_path):
    result = run(
        ["--memory", db_path, "--get", "/_memory.json?sql=select+count(*)+from+[sample].books"]
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"] == "no such table: sample.books"


def test_create_creates_missing_file(tmp_path):
    new = tmp_path / "new.db"
    result = run(["--create", new, "--get", "/-/databases.json"])
    assert result.exit_code == 0, result.output
    assert new.exists()
    assert [d["name"] for d in json.loads(result.stdout)] == ["new"]
    conn = sqlite3.connect(str(new))
    try:
        assert conn.execute("pragma quick_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def test_actor(db_path):
    result = run([db_path, "--actor", '{"id": "x"}', "--get", "/-/actor.json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"actor": {"id": "x"}}


def test_version_note(db_path):
    result = run([db_path, "--version-note", "xyz", "--get", "/-/versions.json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["datasette"] == {"version": "1.0a7", "note": "xyz"}


def test_immutable_option(db_path):
    result = run(["-i", db_path, "--get", "/-/databases.json"])
    assert result.exit_code == 0, result.output
    (database,) = json.loads(result.stdout)
    assert database["is_mutable"] is False
    assert len(database["hash"]) == 64


def test_immutable_must_exist(tmp_path):
    missing = tmp_path / "nope.db"
    result = run(["-i", missing, "--get", "/"])
    assert result.exit_code == 2
    assert error_lines(result) == [
        f"Error: Invalid value for '-i' / '--immutable': Path '{missing}' does not exist."
    ]


def test_static_option_errors(db_path, tmp_path):
    bad_format = run([db_path, "--static", "foo", "--get", "/"])
    bad_dir = run([db_path, "--static", f"foo:{tmp_path / 'nope'}", "--get", "/"])
    assert bad_format.exit_code == 2
    assert error_lines(bad_format) == [
        """Error: Invalid value for '--static': "foo" should be of format mountpoint:directory"""
    ]
    assert bad_dir.exit_code == 2
    assert error_lines(bad_dir) == [
        f"Error: Invalid value for '--static': foo:{tmp_path / 'nope'} is not a valid directory path"
    ]


# -- serve.callback(..., return_instance=True) ----------------------------------------------

SERVE_DEFAULTS = dict(
    files=(),
    immutable=(),
    host="127.0.0.1",
    port=8001,
    uds=None,
    reload=False,
    cors=False,
    sqlite_extensions=(),
    inspect_file=None,
    metadata=None,
    template_dir=None,
    plugins_dir=None,
    static=(),
    memory=False,
    config=None,
    settings=(),
    secret=None,
    root=False,
    get=None,
    token=None,
    actor=None,
    version_note=None,
    help_settings=False,
    pdb=False,
    open_browser=False,
    create=False,
    crossdb=False,
    nolock=False,
    ssl_keyfile=None,
    ssl_certfile=None,
    internal=None,
)


def call_serve(**overrides):
    return serve.callback(**dict(SERVE_DEFAULTS, **overrides), return_instance=True)


def test_serve_callback_returns_instance(db_path):
    ds = call_serve(
        files=(str(db_path),),
        memory=True,
        version_note="note",
        settings=[("settings.default_page_size", "9")],
        secret="sekrit",
    )
    try:
        assert isinstance(ds, Datasette)
        assert list(ds.databases) == ["_memory", "sample"]
        assert ds.version_note == "note"
        assert ds.setting("default_page_size") == 9
        assert ds._secret == "sekrit"
    finally:
        ds.close()


def test_cors_flag(db_path):
    # --get prints only the body, so check the flag through the instance it builds.
    ds = call_serve(files=(str(db_path),), cors=True)
    try:
        assert ds.cors is True
    finally:
        ds.close()


# -- port already in use (real process) ------------------------------------------------------


@pytest.mark.slow
def test_port_in_use(db_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        completed = subprocess.run(
            [sys.executable, "-m", "datasette", str(db_path), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ, DATASETTE_LOAD_PLUGINS=""),  # no installed plugins
        )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, output
    assert str(port) in lines[0]


@pytest.mark.parametrize(
    "name,content,expected",
    [
        ("datasette.yaml", "settings: [\n  - : :\n", "Error: Config file {dir}/datasette.yaml is not valid JSON or YAML"),
        ("datasette.yaml", "settings:\n  nope: 1\n", "Error: Invalid setting 'nope' in datasette.yaml"),
        ("datasette.json", '{"settings": [1]}', "Error: Config file datasette.json: settings should be an object of name: value pairs"),
        ("metadata.yml", "[1, 2]", "Error: Metadata file {dir}/metadata.yml must contain a JSON or YAML object"),
    ],
)
def test_configuration_directory_file_errors_name_the_file(db_path, tmp_path, name, content, expected):
    directory = tmp_path / "site"
    directory.mkdir()
    shutil.copy(db_path, directory / "data.db")
    (directory / name).write_text(content)
    result = run([str(directory), "--get", "/-/settings.json"])
    assert result.exit_code == 1
    assert error_lines(result) == [expected.format(dir=directory)]
    assert "Traceback" not in result.output

"""datasette.utils: actors, JSON, calling helpers, callables, base62, files, Docker, exports."""

import io
import json
import os
import sqlite3
from functools import partial
from unittest import mock

import click
import pytest
from click.testing import CliRunner

from datasette import utils
from datasette.utils import baseconv
from datasette.utils.check_callable import check_callable


# ---------------------------------------------------------------------------
# Exports


def test_every_contract_name_is_exported():
    names = """
        await_me_maybe parse_metadata sqlite3 Column actor_matches_allow urlsafe_components
        path_from_row_pks compound_keys_after_sql CustomJSONEncoder sqlite_timelimit
        validate_sql_select InvalidSql allowed_pragmas path_with_added_args
        path_with_removed_args path_with_replaced_args path_with_format escape_sqlite
        escape_css_string to_css_class detect_primary_keys get_outbound_foreign_keys
        get_all_foreign_keys detect_spatialite detect_fts detect_fts_sql detect_json1
        table_columns table_column_details CustomRow MultiParams is_url format_bytes
        escape_fts truncate_url display_actor value_as_boolean call_with_supported_arguments
        async_call_with_supported_arguments resolve_env_secrets check_connection
        ConnectionProblem SpatialiteConnectionProblem initial_path_for_datasette
        derive_named_parameters add_cors_headers resolve_routes row_sql_params_pks
        pairs_to_nested_config PrefixedUrlString StartupError BadMetadataError
        SpatialiteNotFound find_spatialite SPATIALITE_PATHS SPATIALITE_FUNCTIONS
        WriteLimitExceeded LimitedWriter EscapeHtmlWriter module_from_path link_or_copy
        link_or_copy_directory make_dockerfile temporary_docker_directory StaticMount
        LoadExtension tilde_encode tilde_decode functions_marked_as_documented
        sqlite_version supports_table_xinfo supports_generated_columns using_pysqlite3
        baseconv check_callable sqlite
    """.split()
    missing = [name for name in names if not hasattr(utils, name)]
    assert missing == []


def test_submodules_are_modules():
    from datasette.utils import baseconv, check_callable, sqlite

    assert callable(check_callable.check_callable)
    assert baseconv.base62.encode(1) == "B"
    assert sqlite.sqlite3 is utils.sqlite3


def test_functions_marked_as_documented():
    names = {fn.__name__ for fn in utils.functions_marked_as_documented}
    assert {"await_me_maybe", "parse_metadata", "tilde_encode", "tilde_decode"} <= names


# ---------------------------------------------------------------------------
# Actors


@pytest.mark.parametrize(
    "actor,allow,expected",
    [
        # Booleans and None decide on their own
        ({"id": "root"}, True, True),
        (None, True, True),
        ({"id": "root"}, False, False),
        ({"id": "root"}, None, True),
        (None, None, True),
        # Empty block denies everyone
        ({"id": "root"}, {}, False),
        (None, {}, False),
        # Unauthenticated
        (None, {"unauthenticated": True}, True),
        ({"id": "root"}, {"unauthenticated": True}, False),
        (None, {"id": "root"}, False),
        # Scalar and list matching
        ({"id": "root"}, {"id": "root"}, True),
        ({"id": "root"}, {"id": ["root", "other"]}, True),
        ({"id": "root"}, {"id": "other"}, False),
        ({"id": "root", "roles": ["a", "b"]}, {"roles": "b"}, True),
        ({"id": "root", "roles": ["a", "b"]}, {"roles": ["c", "a"]}, True),
        ({"id": "root", "roles": ["a", "b"]}, {"roles": ["c"]}, False),
        # Keys are OR-ed
        ({"id": "x", "team": "red"}, {"id": "root", "team": "red"}, True),
        # Wildcard
        ({"id": "anyone"}, {"id": "*"}, True),
        ({"name": "no id"}, {"id": "*"}, False),
        (None, {"id": "*"}, False),
        ({"id": "anyone"}, {"id": ["*"]}, False),
        # Type-sensitive comparison
        ({"id": 1}, {"id": "1"}, False),
        ({"id": 1}, {"id": 1}, True),
        ({"id": True}, {"id": 1}, False),
        # Missing or None actor values never match
        ({"id": None}, {"id": None}, False),
        # Unhashable values are fine
        ({"id": "x", "meta": [{"a": 1}]}, {"meta": {"a": 1}}, True),
    ],
)
def test_actor_matches_allow(actor, allow, expected):
    assert utils.actor_matches_allow(actor, allow) is expected


@pytest.mark.parametrize(
    "actor,expected",
    [
        ({"id": "root", "display": "The Root", "name": "n"}, "The Root"),
        ({"id": "root", "name": "Name"}, "Name"),
        ({"id": "root", "name": "", "username": "user"}, "user"),
        ({"id": "root", "login": "lgn"}, "lgn"),
        ({"id": "root"}, "root"),
        ({"other": 1}, "{'other': 1}"),
    ],
)
def test_display_actor(actor, expected):
    assert utils.display_actor(actor) == expected


# ---------------------------------------------------------------------------
# JSON


@pytest.mark.parametrize(
    "obj,expected",
    [
        (
            {"Description": "Soft drinks", "Picture": b"\x15\x1c\x02\xc7\xad\x05\xfe"},
            '{"Description": "Soft drinks", "Picture": {"$base64": true, "encoded": "FRwCx60F/g=="}}',
        ),
        (
            {"Description": "Soft drinks", "Picture": b"\x15\x1c\x03\xc7\xad\x05\xfe"},
            '{"Description": "Soft drinks", "Picture": {"$base64": true, "encoded": "FRwDx60F/g=="}}',
        ),
        ({"foo": b"bar"}, '{"foo": "bar"}'),
    ],
)
def test_custom_json_encoder_bytes(obj, expected):
    assert json.dumps(obj, cls=utils.CustomJSONEncoder, sort_keys=True) == expected


def test_custom_json_encoder_rows_and_cursors():
    conn = utils.sqlite3.connect(":memory:")
    conn.row_factory = utils.sqlite3.Row
    row = conn.execute("select 1 as a, 'x' as b").fetchone()
    assert json.dumps(row, cls=utils.CustomJSONEncoder) == '[1, "x"]'
    cursor = conn.execute("select 1 union all select 2")
    assert json.dumps({"rows": cursor}, cls=utils.CustomJSONEncoder) == '{"rows": [[1], [2]]}'
    with pytest.raises(TypeError):
        json.dumps(object(), cls=utils.CustomJSONEncoder)


def test_custom_row():
    row = utils.CustomRow(["id", "name"], {"id": 1, "name": "Cleo"})
    assert row["name"] == "Cleo"
    assert row[0] == 1
    assert row[1] == "Cleo"
    assert list(row) == [1, "Cleo"]
    assert row.columns == ["id", "name"]
    row["id"] = 2
    assert row[0] == 2
    empty = utils.CustomRow(["a"])
    assert len(empty) == 0


# ---------------------------------------------------------------------------
# Calling helpers


@pytest.mark.asyncio
async def test_await_me_maybe():
    async def coro():
        return "from coroutine"

    assert await utils.await_me_maybe("plain") == "plain"
    assert await utils.await_me_maybe(lambda: "called") == "called"
    assert await utils.await_me_maybe(coro) == "from coroutine"
    assert await utils.await_me_maybe(coro()) == "from coroutine"
    assert await utils.await_me_maybe(None) is None


def test_call_with_supported_arguments():
    def foo(a, b):
        return "{}+{}".format(a, b)

    assert utils.call_with_supported_arguments(foo, a=1, b=2) == "1+2"
    assert utils.call_with_supported_arguments(foo, a=1, b=2, c=3) == "1+2"
    with pytest.raises(TypeError) as e:
        utils.call_with_supported_arguments(foo, a=1)
    assert "b" in str(e.value)


def test_call_with_supported_arguments_defaults_and_kinds():
    def with_default(a, b="default"):
        return (a, b)

    def positional_only(a, /, *, b):
        return (a, b)

    def catch_all(a, **kwargs):
        return (a, kwargs)

    assert utils.call_with_supported_arguments(with_default, a=1) == (1, "default")
    assert utils.call_with_supported_arguments(with_default, a=1, b=2) == (1, 2)
    assert utils.call_with_supported_arguments(positional_only, a=1, b=2, z=3) == (1, 2)
    assert utils.call_with_supported_arguments(catch_all, a=1, b=2) == (1, {})


@pytest.mark.asyncio
async def test_async_call_with_supported_arguments():
    async def view(request, datasette):
        return (request, datasette)

    assert await utils.async_call_with_supported_arguments(
        view, request="r", datasette="d", send="s"
    ) == ("r", "d")
    with pytest.raises(TypeError):
        await utils.async_call_with_supported_arguments(view, request="r")


# ---------------------------------------------------------------------------
# check_callable


class AsyncClass:
    async def __call__(self):
        pass


class NotAsyncClass:
    def __call__(self):
        pass


class ClassNoCall:
    pass


async def async_func():
    pass


def non_async_func():
    pass


@pytest.mark.parametrize(
    "obj,is_callable,is_async",
    [
        (async_func, True, True),
        (non_async_func, True, False),
        (AsyncClass(), True, True),
        (NotAsyncClass(), True, False),
        (ClassNoCall(), False, False),
        (AsyncClass, True, False),
        (NotAsyncClass, True, False),
        (ClassNoCall, True, False),
        (partial(async_func), True, True),
        (partial(non_async_func), True, False),
        (partial(partial(AsyncClass())), True, True),
        ("not callable", False, False),
    ],
)
def test_check_callable(obj, is_callable, is_async):
    status = check_callable(obj)
    assert status == (is_callable, is_async)
    assert status.is_callable is is_callable
    assert status.is_async_callable is is_async


# ---------------------------------------------------------------------------
# base62


@pytest.mark.parametrize(
    "number,encoded",
    [(0, "A"), (1, "B"), (25, "Z"), (26, "0"), (61, "z"), (62, "BA"), (3843, "zz")],
)
def test_base62(number, encoded):
    assert baseconv.base62.encode(number) == encoded
    assert baseconv.base62.decode(encoded) == number


def test_base62_round_trip_large_and_invalid():
    for number in (1700000000, 2**64, 123456789012345):
        assert baseconv.base62.decode(baseconv.base62.encode(number)) == number
    with pytest.raises(ValueError):
        baseconv.base62.decode("not-valid!")


# ---------------------------------------------------------------------------
# Writers


class ListWriter:
    def __init__(self):
        self.written = []

    async def write(self, s):
        self.written.append(s)


@pytest.mark.asyncio
async def test_limited_writer():
    inner = ListWriter()
    writer = utils.LimitedWriter(inner, 1)
    await writer.write("x" * (1024 * 1024 - 1))
    await writer.write("y")
    with pytest.raises(utils.WriteLimitExceeded) as e:
        await writer.write("z")
    assert str(e.value) == "CSV contains more than 1048576 bytes"
    assert inner.written[-1] == "y"


@pytest.mark.asyncio
async def test_limited_writer_zero_means_unlimited():
    inner = ListWriter()
    writer = utils.LimitedWriter(inner, 0)
    await writer.write(b"a" * (2 * 1024 * 1024))
    assert len(inner.written) == 1


@pytest.mark.asyncio
async def test_escape_html_writer():
    inner = ListWriter()
    await utils.EscapeHtmlWriter(inner).write('<b>"A" & \'B\'</b>')
    assert inner.written == ["&lt;b&gt;&#34;A&#34; &amp; &#39;B&#39;&lt;/b&gt;"]


# ---------------------------------------------------------------------------
# Click parameter types


def _static_command():
    @click.command()
    @click.option("--static", type=utils.StaticMount(), multiple=True)
    def cmd(static):
        click.echo(json.dumps(list(static)))

    return cmd


def test_static_mount(tmp_path):
    result = CliRunner().invoke(_static_command(), ["--static", "assets:{}".format(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [["assets", str(tmp_path)]]


def test_static_mount_errors(tmp_path):
    result = CliRunner().invoke(_static_command(), ["--static", "nocolon"])
    assert result.exit_code == 2
    assert '"nocolon" should be of format mountpoint:directory' in result.output
    missing = "x:{}".format(tmp_path / "missing")
    result = CliRunner().invoke(_static_command(), ["--static", missing])
    assert result.exit_code == 2
    assert "{} is not a valid directory path".format(missing) in result.output


@pytest.mark.parametrize(
    "value,expected",
    [
        ("spatialite", "spatialite"),
        ("/path/ext.so", "/path/ext.so"),
        ("/path/ext.so:sqlite3_ext_init", ("/path/ext.so", "sqlite3_ext_init")),
        ("C:\\ext\\ext.dll", "C:\\ext\\ext.dll"),
        ("C:\\ext\\ext.dll:entry", ("C:\\ext\\ext.dll", "entry")),
    ],
)
def test_load_extension(value, expected):
    assert utils.LoadExtension().convert(value, None, None) == expected


# ---------------------------------------------------------------------------
# Files


def test_module_from_path(tmp_path):
    path = tmp_path / "my_plugin.py"
    path.write_text("VALUE = 42\ndef hello():\n    return __name__\n")
    module = utils.module_from_path(str(path), "my_plugin")
    assert module.VALUE == 42
    assert module.hello() == "my_plugin"
    assert module.__file__ == str(path)


def test_link_or_copy(tmp_path):
    src = tmp_path / "src.db"
    src.write_bytes(b"data")
    dst = tmp_path / "dst.db"
    utils.link_or_copy(str(src), str(dst))
    assert dst.read_bytes() == b"data"
    with mock.patch("os.link", side_effect=OSError("cross-device")):
        utils.link_or_copy(str(src), str(tmp_path / "copied.db"))
    assert (tmp_path / "copied.db").read_bytes() == b"data"


def test_link_or_copy_directory(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.txt").write_text("b")
    dst = tmp_path / "dst"
    dst.mkdir()
    utils.link_or_copy_directory(str(src), str(dst))
    assert (dst / "a.txt").read_text() == "a"
    assert (dst / "sub" / "b.txt").read_text() == "b"


# ---------------------------------------------------------------------------
# SpatiaLite


def test_find_spatialite_not_found():
    with mock.patch("datasette.utils.SPATIALITE_PATHS", ["/does/not/exist"]):
        with pytest.raises(utils.SpatialiteNotFound):
            utils.find_spatialite()


def test_find_spatialite_found(tmp_path):
    fake = tmp_path / "mod_spatialite.so"
    fake.write_bytes(b"")
    with mock.patch("datasette.utils.SPATIALITE_PATHS", ["/does/not/exist", str(fake)]):
        assert utils.find_spatialite() == str(fake)


def test_spatialite_constants():
    assert "/usr/lib/x86_64-linux-gnu/mod_spatialite.so" in utils.SPATIALITE_PATHS
    assert {"AsGeoJSON", "Distance", "GeomFromText"} <= set(utils.SPATIALITE_FUNCTIONS)


# ---------------------------------------------------------------------------
# Docker


def test_make_dockerfile_minimal():
    dockerfile = utils.make_dockerfile(
        ["test.db"], "metadata.json", "--setting force_https_urls on", None, None,
        None, [], [], False, None, "sekrit",
        environment_variables={"DATASETTE_AUTH_GITHUB_CLIENT_ID": "x-client-id"},
    )
    assert dockerfile == "\n".join(
        [
            "FROM python:3.11.0-slim-bullseye",
            "COPY . /app",
            "WORKDIR /app",
            "",
            "ENV DATASETTE_AUTH_GITHUB_CLIENT_ID 'x-client-id'",
            "ENV DATASETTE_SECRET 'sekrit'",
            "RUN pip install -U datasette",
            "RUN datasette inspect test.db --inspect-file inspect-data.json",
            "ENV PORT 8001",
            "EXPOSE 8001",
            "CMD datasette serve --host 0.0.0.0 -i test.db --cors --inspect-file "
            "inspect-data.json --metadata metadata.json --setting force_https_urls on "
            "--port $PORT",
        ]
    )


def test_make_dockerfile_everything():
    dockerfile = utils.make_dockerfile(
        ["one.db", "two words.db"], None, None, "main", "tpl", "plg",
        [("static", "/abs/static")], ["datasette-x"], True, "note", "s3",
        port=9000, apt_get_extras=["ripgrep"],
    )
    assert (
        "WORKDIR /app\n\nRUN apt-get update && \\\n"
        "    apt-get install -y ripgrep python3-dev gcc libsqlite3-mod-spatialite && \\\n"
        "    rm -rf /var/lib/apt/lists/*\n\nENV DATASETTE_SECRET 's3'\n"
        "ENV SQLITE_EXTENSIONS '/usr/lib/x86_64-linux-gnu/mod_spatialite.so'\n"
    ) in dockerfile
    assert (
        "RUN pip install -U https://github.com/simonw/datasette/archive/main.zip datasette-x"
        in dockerfile
    )
    assert "ENV PORT 9000\nEXPOSE 9000\n" in dockerfile
    assert dockerfile.endswith(
        "CMD datasette serve --host 0.0.0.0 -i one.db -i 'two words.db' --cors "
        "--inspect-file inspect-data.json --template-dir templates/ --plugins-dir "
        "plugins/ --version-note note --static static:static --port $PORT"
    )


def test_temporary_docker_directory(tmp_path, monkeypatch):
    work = tmp_path / "work"
    (work / "templates").mkdir(parents=True)
    (work / "templates" / "index.html").write_text("hi")
    db_path = work / "data.db"
    sqlite3.connect(str(db_path)).execute("create table t (id integer)").connection.close()
    monkeypatch.chdir(work)
    metadata = io.StringIO("title: From YAML\nplugins:\n  p:\n    a: 1\n")
    with utils.temporary_docker_directory(
        ["data.db"], "my-app", metadata, None, None, "templates", None, [], [],
        False, None, "secret",
        extra_metadata={"license": "MIT", "source": None, "plugins": {"p": {"b": 2}}},
    ) as build_dir:
        assert os.getcwd() == build_dir
        assert os.path.basename(build_dir) == "my-app"
        assert sorted(os.listdir(build_dir)) == [
            "Dockerfile", "data.db", "metadata.json", "templates"
        ]
        assert json.loads(open("metadata.json").read()) == {
            "title": "From YAML",
            "license": "MIT",
            "plugins": {"p": {"a": 1, "b": 2}},
        }
        dockerfile = open("Dockerfile").read()
        assert "--metadata metadata.json" in dockerfile
        assert "--template-dir templates/" in dockerfile
        assert open(os.path.join("templates", "index.html")).read() == "hi"
    assert os.getcwd() == str(work)
    assert not os.path.exists(build_dir)


def test_temporary_docker_directory_without_metadata(tmp_path, monkeypatch):
    (tmp_path / "data.db").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    with utils.temporary_docker_directory(
        ["data.db"], "app", None, None, None, None, None, [], [], False, None, "s"
    ) as build_dir:
        assert "metadata.json" not in os.listdir(build_dir)
        assert "--metadata" not in open("Dockerfile").read()

"""Refusing to publish the internal database (internal-db.md points 1, 5 and 10).

`serve` runs with `--get` so nothing binds a port; the same checks are exercised on
`Datasette(files=...)` and `add_database()` directly.
"""

import hashlib
import json
import os
import sqlite3

import pytest
from click.testing import CliRunner

from datasette.app import Datasette
from datasette.cli import cli
from datasette.database import Database
from datasette.exceptions import InternalDatabaseError
from datasette.internal import guard, migrations

from .fixtures import make_sample_db


def sha256(path):
    with open(path, "rb") as fp:
        return hashlib.sha256(fp.read()).hexdigest()


def make_internal_file(path):
    """A file created by Datasette as its internal database (closed, checkpointed)."""
    Datasette([], internal=str(path)).close()
    return path


def serve(*args):
    """Run `datasette serve ARGS --get /-/databases.json` in process."""
    return CliRunner().invoke(cli, ["serve", *map(str, args), "--get", "/-/databases.json"])


def lines(text):
    return [line for line in text.splitlines() if line.strip()]


def served_names(result):
    """Database names from the JSON that `--get /-/databases.json` printed on stdout."""
    return [db["name"] for db in json.loads(result.stdout)]


def assert_refused_once(result, *fragments):
    assert result.exit_code == 1, result.output
    output = lines(result.output)
    assert len(output) == 1, output
    for fragment in fragments:
        assert fragment in output[0], (fragment, output[0])
    return output[0]


# -- a marked file given as a served database ------------------------------------------------


def test_serve_refuses_marked_file_with_one_line(tmp_path):
    marked = make_internal_file(tmp_path / "marked.db")
    before = sha256(marked)
    result = serve(marked)
    assert_refused_once(result, str(marked), "--unsafe-allow-internal")
    assert sha256(marked) == before


def test_serve_unsafe_allow_internal_serves_with_warning(tmp_path):
    marked = make_internal_file(tmp_path / "marked.db")
    result = serve(marked, "--unsafe-allow-internal")
    assert result.exit_code == 0, result.output
    assert served_names(result) == ["marked"]
    warnings = lines(result.stderr)
    assert len(warnings) == 1
    assert "Warning" in warnings[0] and str(marked) in warnings[0]


def test_serve_refuses_marked_file_given_as_immutable(tmp_path):
    marked = make_internal_file(tmp_path / "marked.db")
    result = CliRunner().invoke(
        cli, ["serve", "-i", str(marked), "--get", "/-/databases.json"]
    )
    assert_refused_once(result, str(marked), "--unsafe-allow-internal")


def test_serve_refuses_file_tagged_only_by_application_id(tmp_path):
    path = tmp_path / "tagged.db"
    conn = sqlite3.connect(str(path))
    conn.execute(f"PRAGMA application_id = {guard.APPLICATION_ID}")
    conn.execute("create table things (id integer primary key)")
    conn.commit()
    conn.close()
    assert guard.inspect_file(path).marker is None
    result = serve(path)
    assert_refused_once(result, str(path), "--unsafe-allow-internal")


def test_serve_refuses_file_tagged_only_by_marker_table(tmp_path):
    path = tmp_path / "marker-only.db"
    conn = sqlite3.connect(str(path))
    migrations.migrate(conn, "0.1", target=1)
    conn.execute("PRAGMA application_id = 0")
    conn.commit()
    conn.close()
    report = guard.inspect_file(path)
    assert report.application_id == 0 and report.marker == "ok"
    result = serve(path)
    assert_refused_once(result, str(path), "--unsafe-allow-internal")


def test_serve_lookalike_marker_table_is_served_with_warning(tmp_path):
    path = tmp_path / "lookalike.db"
    conn = sqlite3.connect(str(path))
    conn.execute("create table _datasette_internal (topic text, notes text)")
    conn.execute("insert into _datasette_internal values ('x', 'y')")
    conn.commit()
    conn.close()
    result = serve(path)
    assert result.exit_code == 0, result.output
    assert served_names(result) == ["lookalike"]
    assert "_datasette_internal" in result.stderr
    assert str(path) in result.stderr


def test_datasette_files_refuses_marked_file(tmp_path):
    marked = make_internal_file(tmp_path / "marked.db")
    with pytest.raises(InternalDatabaseError) as excinfo:
        Datasette([str(marked)])
    assert str(marked) in str(excinfo.value)


def test_datasette_files_unsafe_allow_internal_records_warning(tmp_path, make_ds):
    marked = make_internal_file(tmp_path / "marked.db")
    ds = make_ds([str(marked)], unsafe_allow_internal=True)
    assert "marked" in ds.databases
    assert any(str(marked) in warning for warning in ds.startup_warnings)


def test_add_database_refuses_marked_file(tmp_path, make_ds, db_path):
    marked = make_internal_file(tmp_path / "marked.db")
    ds = make_ds([str(db_path)])
    with pytest.raises(InternalDatabaseError) as excinfo:
        ds.add_database(Database(ds, path=str(marked)))
    assert str(marked) in str(excinfo.value)
    assert list(ds.databases) == ["sample"]


def test_add_database_refuses_own_internal_file(tmp_path, make_ds, db_path):
    internal = tmp_path / "internal.db"
    ds = make_ds([str(db_path)], internal=str(internal), unsafe_allow_internal=True)
    with pytest.raises(InternalDatabaseError):
        ds.add_database(Database(ds, path=str(internal)))
    assert list(ds.databases) == ["sample"]


def test_add_database_refuses_own_temporary_internal_file(make_ds):
    ds = make_ds([], unsafe_allow_internal=True)
    internal_path = ds.get_internal_database().path
    with pytest.raises(InternalDatabaseError):
        ds.add_database(Database(ds, path=internal_path))
    assert all(db.path != internal_path for db in ds.databases.values())


# -- the same file as --internal and as a served database -----------------------------------


def test_same_file_refused_even_with_unsafe_flag(tmp_path):
    internal = make_internal_file(tmp_path / "internal.db")
    before = sha256(internal)
    result = serve(internal, "--internal", internal, "--unsafe-allow-internal")
    assert_refused_once(result, str(internal), "--internal")
    assert sha256(internal) == before


def test_same_file_refused_through_relative_path(tmp_path, monkeypatch):
    internal = make_internal_file(tmp_path / "internal.db")
    before = sha256(internal)
    monkeypatch.chdir(tmp_path)
    result = serve("internal.db", "--internal", internal, "--unsafe-allow-internal")
    assert_refused_once(result, "internal.db", "--internal")
    result = serve(internal, "--internal", "internal.db", "--unsafe-allow-internal")
    assert_refused_once(result, "internal.db", "--internal")
    assert sha256(internal) == before


def test_same_file_refused_through_symlink(tmp_path):
    internal = make_internal_file(tmp_path / "internal.db")
    before = sha256(internal)
    link = tmp_path / "innocent.db"
    link.symlink_to(internal)
    result = serve(link, "--internal", internal, "--unsafe-allow-internal")
    assert_refused_once(result, str(link), "--internal")
    result = serve(internal, "--internal", link, "--unsafe-allow-internal")
    assert_refused_once(result, str(internal), "--internal")
    assert sha256(internal) == before


def test_same_file_refused_through_dotdot_path(tmp_path):
    internal = make_internal_file(tmp_path / "internal.db")
    before = sha256(internal)
    (tmp_path / "sub").mkdir()
    dotted = f"{tmp_path}/sub/../internal.db"
    result = serve(dotted, "--internal", internal, "--unsafe-allow-internal")
    assert_refused_once(result, dotted, "--internal")
    assert sha256(internal) == before


def test_same_file_refused_through_hard_link(tmp_path):
    internal = make_internal_file(tmp_path / "internal.db")
    other = tmp_path / "hardlink.db"
    os.link(internal, other)
    result = serve(other, "--internal", internal, "--unsafe-allow-internal")
    assert_refused_once(result, str(other), "--internal")


def test_same_file_refused_by_constructor(tmp_path):
    internal = make_internal_file(tmp_path / "internal.db")
    link = tmp_path / "link.db"
    link.symlink_to(internal)
    with pytest.raises(InternalDatabaseError):
        Datasette([str(link)], internal=str(internal), unsafe_allow_internal=True)


# -- configuration-directory mode -----------------------------------------------------------


def test_config_dir_does_not_serve_its_internal_file(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    make_sample_db(folder / "a.db")
    make_sample_db(folder / "b.db")
    internal = folder / "internal.db"
    # First run creates the internal file; the second finds it marked and still skips it.
    for _ in range(2):
        result = serve(folder, "--internal", internal)
        assert result.exit_code == 0, result.output
        assert served_names(result) == ["a", "b"]
        assert guard.inspect_file(internal).is_internal


def test_config_dir_refuses_another_marked_file(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    make_sample_db(folder / "a.db")
    make_sample_db(folder / "b.db")
    old = make_internal_file(folder / "old_internal.db")
    result = serve(folder, "--internal", folder / "internal.db")
    assert_refused_once(result, "old_internal.db", "--unsafe-allow-internal")
    assert not (folder / "internal.db").exists()
    assert guard.inspect_file(old).is_internal


# -- never listed, never routed -----------------------------------------------------------


@pytest.mark.asyncio
async def test_internal_database_is_not_listed_or_routed(tmp_path, make_ds, db_path):
    ds = make_ds([str(db_path)], internal=str(tmp_path / "internal.db"))
    await ds.invoke_startup()
    internal = ds.get_internal_database()
    assert internal not in ds.databases.values()
    assert internal.name not in ds.databases
    assert list(ds.databases) == ["sample"]

    response = await ds.client.get("/-/databases.json")
    assert response.status_code == 200
    listed = response.json()
    assert [db["name"] for db in listed] == ["sample"]
    assert all(db["path"] != internal.path for db in listed)

    response = await ds.client.get("/.json")
    assert response.status_code == 200
    assert list(response.json()) == ["sample"]

    response = await ds.client.get("/")
    assert response.status_code == 200
    assert "sample" in response.text
    assert internal.name not in response.text
    assert "internal.db" not in response.text

    for path in (
        f"/{internal.name}.json",
        "/__INTERNAL__.json",
        "/_internal.json",
        "/__INTERNAL__/catalog_tables.json",
        "/_internal/catalog_tables.json",
    ):
        response = await ds.client.get(path)
        assert response.status_code == 404, path


@pytest.mark.asyncio
async def test_crossdb_does_not_attach_internal_database(tmp_path, make_ds, db_path):
    other = make_sample_db(tmp_path / "other.db")
    internal_path = tmp_path / "internal.db"
    ds = make_ds([str(db_path), str(other)], internal=str(internal_path), crossdb=True)
    await ds.invoke_startup()
    result = await ds.get_database("_memory").execute("PRAGMA database_list")
    attached = {row[1]: row[2] for row in result.rows}
    # The served files are attached (so the check below is meaningful) ...
    assert {"sample", "other"} <= set(attached)
    # ... and the internal database is not, under any name.
    assert str(internal_path) not in attached.values()
    assert os.path.realpath(internal_path) not in {
        os.path.realpath(p) for p in attached.values() if p
    }
    assert ds.get_internal_database().name not in attached

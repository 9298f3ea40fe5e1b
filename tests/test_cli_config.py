"""The shape of `datasette serve` inside: flags -> `ServeConfig` -> `Datasette`.

Engineers add serve flags by adding an entry to `SERVE_OPTIONS` and a field to
`ServeConfig`; these tests keep the two in step and check the steps `serve` is made of.
"""

import click
import pytest

from datasette.app import Datasette
from datasette.cli import SERVE_OPTIONS, ServeConfig, build_datasette, run_serve, serve


def test_every_serve_flag_is_a_config_field_with_the_same_default(monkeypatch):
    for name in ("DATASETTE_SECRET", "SQLITE_EXTENSIONS"):
        monkeypatch.delenv(name, raising=False)
    parsed = serve.make_context("serve", []).params  # what click passes with no flags
    defaults = ServeConfig.defaults()
    assert len(serve.params) == len(SERVE_OPTIONS)
    assert list(parsed) == list(defaults)  # same names, in --help order
    for name, value in parsed.items():
        expected = defaults[name]
        assert (tuple(value) if isinstance(value, list) else value) == expected, name


def test_serve_passes_flags_beyond_the_contract_signature_to_the_config(db_path):
    # unsafe_allow_internal and demo are not in the contract's parameter list
    ds = serve.callback(
        files=(str(db_path),),
        **{name: default for name, default in ServeConfig.defaults().items() if name != "files"},
        return_instance=True,
    )
    try:
        assert list(ds.databases) == ["sample"]
    finally:
        ds.close()


def test_build_datasette_from_a_config(db_path, tmp_path):
    metadata = tmp_path / "metadata.json"
    metadata.write_text('{"title": "From a file"}')
    config = ServeConfig(
        files=(str(db_path), str(db_path)),
        memory=True,
        metadata=str(metadata),
        settings=[("settings.default_page_size", "7")],
    )
    ds = build_datasette(config)
    try:
        assert isinstance(ds, Datasette)
        assert list(ds.databases) == ["_memory", "sample"]  # the same file once
        assert ds.metadata("title") == "From a file"
        assert ds.setting("default_page_size") == 7
    finally:
        ds.close()


def test_build_datasette_refuses_with_one_line(tmp_path):
    missing = tmp_path / "missing.db"
    with pytest.raises(click.ClickException) as raised:
        build_datasette(ServeConfig(files=(str(missing),)))
    assert raised.value.message == (
        f"Invalid value for '[FILES]...': Path '{missing}' does not exist."
    )


def test_run_serve_refuses_token_without_get():
    with pytest.raises(click.ClickException) as raised:
        run_serve(ServeConfig(token="dstok_x"))
    assert raised.value.message == "--token can only be used with --get"


def test_run_serve_returns_the_instance_without_serving(db_path):
    ds = run_serve(ServeConfig(files=(str(db_path),), cors=True), return_instance=True)
    try:
        assert ds.cors is True
        assert list(ds.databases) == ["sample"]
    finally:
        ds.close()


def test_a_serve_config_keeps_the_defaults_of_flags_not_given_and_refuses_unknown_ones():
    config = ServeConfig(port=8080, files=("a.db",))
    assert (config.port, config.files, config.host) == (8080, ("a.db",), "127.0.0.1")
    assert ServeConfig().port == 8001  # the class default, untouched by the instance above
    assert "port=8080" in repr(config)
    with pytest.raises(TypeError):
        ServeConfig(prot=8080)

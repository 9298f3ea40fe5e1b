"""Static files: core assets, `--static MOUNT:DIR`, config-directory `static/`, favicon."""

import httpx
import pytest
from click.testing import CliRunner

from datasette.cli import cli


@pytest.fixture
def assets(tmp_path):
    folder = tmp_path / "assets"
    (folder / "sub").mkdir(parents=True)
    (folder / "hello.txt").write_text("hello world")
    (folder / "style.css").write_text("body { color: red }")
    (folder / "sub" / "deep.json").write_text('{"deep": true}')
    return folder


def test_static_mount_serves_files(make_ds, serve_ds, assets):
    ds = make_ds(static_mounts=[("assets", str(assets))])
    with serve_ds(ds) as server:
        text = httpx.get(server.url + "/assets/hello.txt")
        css = httpx.get(server.url + "/assets/style.css")
        deep = httpx.get(server.url + "/assets/sub/deep.json")
        missing = httpx.get(server.url + "/assets/nope.txt")
        directory = httpx.get(server.url + "/assets/sub")
        escape = httpx.get(server.url + "/assets/../../etc/passwd")
    assert text.status_code == 200 and text.text == "hello world"
    assert css.headers["content-type"].startswith("text/css")
    assert deep.json() == {"deep": True}
    assert missing.status_code == 404 and missing.text == "404: File not found"
    assert directory.status_code == 403
    assert directory.text == "403: Directory listing is not allowed"
    # httpx normalises "..", so the traversal attempt stays outside any mount: a 404.
    assert escape.status_code == 404


def test_static_option_through_the_cli(db_path, assets):
    result = CliRunner().invoke(
        cli, [str(db_path), "--static", f"assets:{assets}", "--get", "/assets/hello.txt"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "hello world"


def test_config_directory_static_folder(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "logo.txt").write_text("logo")
    (tmp_path / "data.db").write_bytes(b"")
    result = CliRunner().invoke(cli, [str(tmp_path), "--get", "/static/logo.txt"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "logo"


def test_core_assets_and_favicon(make_ds, serve_ds):
    ds = make_ds()
    with serve_ds(ds) as server:
        css = httpx.get(server.url + "/-/static/app.css")
        js = httpx.get(server.url + "/-/static/table.js")
        favicon = httpx.get(server.url + "/favicon.ico")
    assert css.status_code == 200 and "rows-and-columns" in css.text
    assert js.status_code == 200
    assert favicon.status_code == 200
    assert favicon.content.startswith(b"\x89PNG")
    assert favicon.headers["cache-control"] == "max-age=3600, immutable, public"


def test_app_css_link_carries_its_hash(make_ds, serve_ds):
    ds = make_ds()
    with serve_ds(ds) as server:
        page = httpx.get(server.url + "/")
    assert f"/-/static/app.css?{ds.app_css_hash()}" in page.text
    assert len(ds.app_css_hash()) == 6


def test_favicon_is_a_real_icon():
    """A 32x32 RGBA PNG with more than one colour (the old asset was a 1x1 placeholder)."""
    import struct
    import zlib

    from datasette.templating import STATIC

    data = (STATIC / "favicon.png").read_bytes()
    width, height, depth, colour_type = struct.unpack(">IIBB", data[16:26])
    assert (width, height, depth, colour_type) == (32, 32, 8, 6)
    idat = data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]
    pixels = zlib.decompress(idat)
    rows = [pixels[i * (1 + 4 * width) + 1 : (i + 1) * (1 + 4 * width)] for i in range(height)]
    colours = {row[x * 4 : x * 4 + 4] for row in rows for x in range(width)}
    assert len(colours) >= 3

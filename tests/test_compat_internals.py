"""Internals and small pages as code written for 1.0a7 sees them (issue 9, compatibility).

`datasette.execute`, `View.head`, the table route's name, `request.path` under
`base_url`, renderers that return the wrong thing, `--version`, `/-/permissions`,
`/-/create-token`, the logout form and action menus, `/-/api`, and `publish cloudrun`'s
`--timeout` and `--show-files`. Pages are fetched through `datasette.client`; the
command line runs as a real process where the program's name matters.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import urllib.parse
from unittest import mock

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

import datasette
from datasette.cli import cli
from datasette.utils.asgi import Response
from datasette.views.base import View

ROOT = {"id": "root"}


@pytest.fixture
def data_db(tmp_path):
    path = tmp_path / "data.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        create table items (id integer primary key, name text, size integer);
        insert into items (name, size) values ('one', 1), ('two', 2), ('three', 3);
        """
    )
    conn.close()
    return str(path)



def cookies(ds, actor=ROOT):
    return {"ds_actor": ds.client.actor_cookie(actor)}


def soup(response):
    return BeautifulSoup(response.text, "html.parser")


# -- datasette.execute --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_execute_forwards_every_argument_to_the_database(make_ds, data_db):
    ds = make_ds([data_db], settings={"max_returned_rows": 2})
    results = await ds.execute(
        "data", "select name from items where size > :size order by id", {"size": 0}
    )
    assert [row["name"] for row in results.rows] == ["one", "two", "three"]
    assert results.truncated is False
    truncated = await ds.execute(
        "data",
        "select name from items order by id",
        params=None,
        truncate=True,
        custom_time_limit=500,
        page_size=1,
        log_sql_errors=False,
    )
    assert truncated.truncated is True
    assert [row["name"] for row in truncated.rows] == ["one", "two"]


@pytest.mark.asyncio
async def test_execute_unknown_database_is_a_key_error(make_ds):
    ds = make_ds([])
    with pytest.raises(KeyError):
        await ds.execute("nope", "select 1")


# -- View.head, OPTIONS and the table route's name ------------------------------------------


class GreetingView(View):
    async def get(self, request, datasette):
        return Response.text("hello", headers={"x-greeting": "yes"})


class PostOnlyView(View):
    async def post(self, request, datasette):
        return Response.text("posted")


class RoutesPlugin:
    __name__ = "compat-routes"

    @datasette.hookimpl
    def register_routes(self):
        return [
            (r"^/-/greeting$", GreetingView),
            (r"^/-/post-only$", PostOnlyView),
            (r"^/-/echo-path$", echo_path),
        ]


async def echo_path(request, datasette):
    return Response.json(
        {
            "path": request.path,
            "full_path": request.full_path,
            "link": datasette.urls.path(request.path),
        }
    )


@pytest.mark.asyncio
async def test_head_is_get_without_a_body_and_405_without_get(make_ds, registered):
    registered(RoutesPlugin(), "compat-routes")
    ds = make_ds([])
    head = await ds.client.request("HEAD", "/-/greeting")
    assert head.status_code == 200
    assert head.headers["x-greeting"] == "yes"
    assert head.content == b""
    assert (await ds.client.request("HEAD", "/-/post-only")).status_code == 405
    options = await ds.client.request("OPTIONS", "/-/post-only")
    assert options.text == "ok"
    # As in 1.0a7, every View has head(), so HEAD is offered even where it answers 405
    assert options.headers["allow"] == "HEAD, POST"
    assert (await ds.client.request("OPTIONS", "/-/greeting")).headers["allow"] == "HEAD, GET"


def test_table_route_view_is_named_table_view(make_ds):
    ds = make_ds([])
    names = {
        view.__name__
        for regex, view in ds._routes()
        if regex.match("/db/table") and not regex.match("/db")
    }
    assert "table_view" in names
    row_names = [view.__name__ for regex, view in ds._routes() if regex.match("/db/table/1")]
    assert row_names[0] == "RowView"


# -- base_url: the full path reaches views -------------------------------------------------


@pytest.mark.asyncio
async def test_base_url_views_see_the_full_path(make_ds, registered, data_db, tmp_path):
    registered(RoutesPlugin(), "compat-routes")
    templates = tmp_path / "templates"
    (templates / "pages").mkdir(parents=True)
    (templates / "pages" / "about.html").write_text("path={{ request.path }}")
    ds = make_ds([data_db], settings={"base_url": "/prefix/"}, template_dir=str(templates))
    echoed = (await ds.client.get("/-/echo-path?x=1")).json()
    assert echoed["path"] == "/prefix/-/echo-path"
    assert echoed["full_path"] == "/prefix/-/echo-path?x=1"
    # URLs built from the full path get the prefix once, not twice
    assert echoed["link"] == "/prefix/-/echo-path"
    page = await ds.client.get("/about")
    assert page.status_code == 200
    assert page.text == "path=/prefix/about"
    # Unprefixed paths still route, and then the path is as sent
    response = await ds.client.get("/items", follow_redirects=False)
    assert response.status_code in (200, 404)


@pytest.mark.asyncio
async def test_base_url_table_page_links_are_prefixed_once(make_ds, data_db):
    ds = make_ds([data_db], settings={"base_url": "/prefix/"})
    response = await ds.client.get("/data/items")
    assert response.status_code == 200
    hrefs = [a["href"] for a in soup(response).find_all("a", href=True)]
    assert any(h.startswith("/prefix/data/items.json") for h in hrefs), hrefs
    assert not [h for h in hrefs if "/prefix/prefix/" in h]
    sort = await ds.client.get("/data/items?_sort=size")
    assert not [
        a["href"] for a in soup(sort).find_all("a", href=True) if "/prefix/prefix/" in a["href"]
    ]


# -- renderers ---------------------------------------------------------------------------


class BadRendererPlugin:
    __name__ = "compat-bad-renderer"

    @datasette.hookimpl
    def register_output_renderer(self):
        return {"extension": "wrong", "render": lambda: "just a string"}


@pytest.mark.asyncio
async def test_renderer_returning_neither_dict_nor_response_is_a_500_saying_so(
    make_ds, registered, data_db
):
    registered(BadRendererPlugin(), "compat-bad-renderer")
    ds = make_ds([data_db])
    response = await ds.client.get("/data/items.wrong")
    assert response.status_code == 500
    assert "should return a dict or a Response" in response.text
    assert "Traceback" not in response.text


# -- /-/permissions ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_permissions_debug_names_each_action_and_records_view_instance_as_a_bool(make_ds):
    ds = make_ds([])
    await ds.invoke_startup()
    ds._permission_checks.clear()
    assert (await ds.client.get("/-/permissions")).status_code == 403
    response = await ds.client.get("/-/permissions", cookies=cookies(ds))
    assert response.status_code == 200
    checks = [
        {
            "action": div.select_one(".check-action").text,
            "result": None
            if div.select(".check-result-no-opinion")
            else bool(div.select(".check-result-true")),
            "used_default": bool(div.select(".check-used-default")),
        }
        for div in soup(response).find_all("div", class_="check")
    ]
    # Newest first: root's request, then the anonymous one that was refused.
    assert checks[0] == {"action": "permissions-debug", "result": True, "used_default": False}
    assert checks[1] == {"action": "view-instance", "result": True, "used_default": True}
    refused = checks.index({"action": "permissions-debug", "result": False, "used_default": True})
    # The refused request's own view-instance check, just before it, is a bool too
    assert checks[refused + 1] == {"action": "view-instance", "result": True, "used_default": True}


# -- /-/create-token, logout, action menus -----------------------------------------------


@pytest.mark.asyncio
async def test_create_token_page_shows_the_token_in_a_copyable_input(make_ds):
    ds = make_ds([], secret="s3cret")
    await ds.invoke_startup()
    form = await ds.client.get("/-/create-token", cookies=cookies(ds))
    csrftoken = soup(form).find("input", attrs={"name": "csrftoken"})["value"]
    response = await ds.client.post(
        "/-/create-token",
        data={"csrftoken": csrftoken, "expire_type": ""},
        cookies={**cookies(ds), "ds_csrftoken": form.cookies.get("ds_csrftoken", "")},
    )
    assert response.status_code == 200
    token_input = soup(response).find("input", class_="copyable")
    assert token_input is not None
    assert token_input["type"] == "text"
    token = token_input["value"]
    assert token.startswith("dstok_")
    assert 'value="dstok_' in response.text
    assert ds.unsign(token[len("dstok_"):], namespace="token")["a"] == "root"
    assert soup(response).find("button", class_="copy-token") is not None


class ActionsPlugin:
    __name__ = "compat-actions"

    @datasette.hookimpl
    def table_actions(self, datasette, database, table):
        return [{"href": f"/-/do-something/{table}", "label": f"Do something to {table}"}]

    @datasette.hookimpl
    def database_actions(self, datasette, database):
        return [{"href": f"/-/db-thing/{database}", "label": "Database thing"}]


@pytest.mark.asyncio
async def test_logout_is_a_post_form_and_action_menus_are_details(make_ds, registered, data_db):
    registered(ActionsPlugin(), "compat-actions")
    ds = make_ds([data_db])
    table_page = soup(await ds.client.get("/data/items", cookies=cookies(ds)))
    logout = table_page.find("nav").find("form", attrs={"action": "/-/logout"})
    assert logout is not None
    assert logout["method"].lower() == "post"
    assert logout.find("input", attrs={"name": "csrftoken"}) is not None
    assert logout.find("button").text.strip() == "Log out"
    menu = table_page.find("details", class_="actions-menu-links")
    assert ("Do something to items", "/-/do-something/items") in [
        (a.text, a["href"]) for a in menu.select("a")
    ]
    database_page = soup(await ds.client.get("/data"))
    menu = database_page.find("details", class_="actions-menu-links")
    assert ("Database thing", "/-/db-thing/data") in [
        (a.text, a["href"]) for a in menu.select("a")
    ]
    # Anonymous visitors have no logout form
    anonymous = soup(await ds.client.get("/data/items"))
    assert anonymous.find("form", attrs={"action": "/-/logout"}) is None


# -- /-/api ------------------------------------------------------------------------------


def api_examples(response):
    """`{path: (method, label, json or None)}` from the explorer's example links."""
    found = {}
    for link in soup(response).select("ul.api-examples a"):
        fields = dict(urllib.parse.parse_qsl(link["href"].lstrip("#")))
        label = link.parent.text.split(" - ", 1)[1].strip()
        body = json.loads(fields["json"]) if "json" in fields else None
        found[link.text] = (fields["method"], label, body)
    return found


@pytest.mark.asyncio
async def test_api_explorer_links_follow_the_actors_permissions(make_ds, data_db):
    ds = make_ds([data_db])
    anonymous = api_examples(await ds.client.get("/-/api"))
    assert anonymous == {"/data/items.json": ("GET", "Get rows for items", None)}
    root = api_examples(await ds.client.get("/-/api", cookies=cookies(ds)))
    assert root["/data/items.json"] == ("GET", "Get rows for items", None)
    assert root["/data/items/-/insert"] == (
        "POST", "Insert rows into items", {"rows": [{"name": None, "size": None}]}
    )
    assert root["/data/items/-/upsert"][0] == "POST"
    assert root["/data/items/-/drop"] == ("POST", "Drop table items", {"confirm": False})
    method, label, body = root["/data/-/create"]
    assert (method, body["table"]) == ("POST", "new_table")
    page = await ds.client.get("/-/api", cookies=cookies(ds))
    assert "Database: <strong>data</strong>" in page.text
    assert "🔒" not in soup(page).find("h1").text


@pytest.mark.asyncio
async def test_api_explorer_padlock_when_private_and_hidden_tables_left_out(make_ds, data_db):
    metadata = {
        "allow": {"id": "root"},
        "databases": {"data": {"tables": {"items": {"allow": {"id": "nobody"}}}}},
    }
    ds = make_ds([data_db], metadata=metadata)
    assert (await ds.client.get("/-/api")).status_code == 403
    page = await ds.client.get("/-/api", cookies=cookies(ds))
    assert page.status_code == 200
    assert "🔒" in soup(page).find("h1").text
    examples = api_examples(page)
    assert "/data/items.json" not in examples
    assert "/data/-/create" in examples


@pytest.mark.asyncio
async def test_api_explorer_offers_no_writes_on_immutable_databases(make_ds, data_db):
    ds = make_ds([], immutables=[data_db])
    examples = api_examples(await ds.client.get("/-/api", cookies=cookies(ds)))
    assert examples == {"/data/items.json": ("GET", "Get rows for items", None)}


# -- publish cloudrun -----------------------------------------------------------------------


@pytest.fixture
def gcloud(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sqlite3.connect("test.db").execute("create table t (id integer primary key)").connection.close()
    calls = []
    with (
        mock.patch("shutil.which", return_value="/usr/bin/gcloud"),
        mock.patch("datasette.publish.cloudrun.check_output", return_value="myproject\n"),
        mock.patch("datasette.publish.cloudrun.check_call", side_effect=lambda c, **k: calls.append(c)),
        mock.patch(
            "datasette.publish.cloudrun.get_existing_services",
            return_value=[{"name": "old", "created": "2024-01-01", "url": "https://old.run.app"}],
        ),
    ):
        yield calls


def test_cloudrun_timeout_is_the_build_timeout(gcloud):
    result = CliRunner().invoke(
        cli, ["publish", "cloudrun", "test.db", "--service", "svc", "--timeout", "1200"]
    )
    assert result.exit_code == 0, result.output
    assert gcloud[0] == "gcloud builds submit --tag gcr.io/myproject/datasette-svc --timeout 1200"


def test_cloudrun_without_timeout_builds_with_gclouds_default(gcloud):
    result = CliRunner().invoke(cli, ["publish", "cloudrun", "test.db", "--service", "svc"])
    assert result.exit_code == 0, result.output
    assert gcloud[0] == "gcloud builds submit --tag gcr.io/myproject/datasette-svc"


def test_cloudrun_show_files_prints_metadata_and_dockerfile_under_headings(gcloud):
    result = CliRunner().invoke(
        cli,
        ["publish", "cloudrun", "test.db", "--service", "svc", "--show-files", "--title", "T"],
    )
    assert result.exit_code == 0, result.output
    output = result.output
    assert output.index("=== metadata.json ===") < output.index('"title": "T"')
    assert output.index('"title": "T"') < output.index("=== Dockerfile ===")
    assert output.index("=== Dockerfile ===") < output.index("FROM python")


def test_cloudrun_without_service_lists_services_then_prompts(gcloud):
    result = CliRunner().invoke(cli, ["publish", "cloudrun", "test.db"], input="fresh\n")
    assert result.exit_code == 0, result.output
    assert result.output.index("old - created 2024-01-01 - https://old.run.app") < (
        result.output.index("Service name: ")
    )
    assert gcloud[0] == "gcloud builds submit --tag gcr.io/myproject/datasette-fresh"
    assert gcloud[1].endswith("--image gcr.io/myproject/datasette-fresh fresh")


# -- --version ---------------------------------------------------------------------------


def test_version_uses_the_invoked_program_name(tmp_path):
    env = dict(os.environ, DATASETTE_LOAD_PLUGINS="")
    as_module = subprocess.run(
        [sys.executable, "-m", "datasette", "--version"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert as_module.returncode == 0, as_module.stderr
    assert as_module.stdout == f"python -m datasette, version {datasette.__version__}\n"
    script = shutil.which("datasette", path=os.path.dirname(sys.executable))
    renamed = tmp_path / "my-data-tool"
    shutil.copy(script, renamed)
    result = subprocess.run(
        [sys.executable, str(renamed), "--version"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"my-data-tool, version {datasette.__version__}\n"


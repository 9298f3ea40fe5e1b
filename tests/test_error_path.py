"""The one error path (`datasette/views/errors.py`): the exception tree, how each kind of
exception is answered, which hooks see it, and where the CORS headers go."""

import json
from contextlib import contextmanager

import pytest

from datasette import exceptions
from datasette.exceptions import (
    Base400,
    DatasetteError,
    HttpError,
    NotFound,
    WriteApiError,
)
from datasette.hookspecs import hookimpl
from datasette.plugins import pm
from datasette.utils.asgi import Response
from datasette.utils.sqlite import sqlite3

CORS_ORIGIN = "access-control-allow-origin"


class ErrorRoutes:
    """Plugin routes raising one exception each, and a `handle_exception` that records."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def register_routes(self, datasette):
        def raiser(exception):
            def view(request):
                raise exception

            return view

        return [
            (r"/-/err/write$", raiser(WriteApiError(["first", "second"], 409))),
            (r"/-/err/sql(\.json)?$", raiser(sqlite3.OperationalError("no such table: nope"))),
            (r"/-/err/invalid\.json$", raiser(exceptions.InvalidSql("Statement must be a SELECT"))),
            (r"/-/err/binding\.json$", raiser(sqlite3.ProgrammingError("Incorrect number"))),
            (r"/-/err/missing\.json$", raiser(NotFound("Nothing here"))),
            (r"/-/err/boom$", raiser(ValueError("boom"))),
            (r"/-/err/fine$", lambda: Response.text("fine")),
        ]

    @hookimpl(tryfirst=True)
    def handle_exception(self, exception):
        self.seen.append(exception)
        return None


@contextmanager
def error_routes():
    plugin = ErrorRoutes()
    pm.register(plugin, name="error-path-test")
    try:
        yield plugin
    finally:
        pm.unregister(name="error-path-test")


def test_every_response_error_has_one_base():
    for cls in (
        Base400,
        exceptions.BadRequest,
        exceptions.Forbidden,
        NotFound,
        exceptions.DatabaseNotFound,
        exceptions.TableNotFound,
        exceptions.RowNotFound,
        DatasetteError,
        WriteApiError,
    ):
        assert issubclass(cls, HttpError), cls
    assert not issubclass(exceptions.QueryInterrupted, HttpError)


def test_contract_names_are_the_same_classes():
    from datasette.utils import asgi
    from datasette.views import base

    assert asgi.Base400 is Base400
    assert asgi.NotFound is NotFound
    assert base.DatasetteError is DatasetteError


def test_exceptions_carry_their_json_body():
    assert NotFound("Table not found: t").json_body() == {
        "ok": False,
        "error": "Table not found: t",
        "status": 404,
        "title": None,
    }
    error = DatasetteError("bad", title="Oops", error_dict={"extra": 1}, status=418)
    assert error.message == "bad"
    assert list(error.json_body().items()) == [
        ("extra", 1),
        ("ok", False),
        ("error", "bad"),
        ("status", 418),
        ("title", "Oops"),
    ]
    refusal = WriteApiError(["a", "b"], 403)
    assert (refusal.status, refusal.errors) == (403, ["a", "b"])
    assert refusal.json_body() == {"ok": False, "errors": ["a", "b"]}
    assert WriteApiError(["x"]).status == 400


@pytest.mark.asyncio
async def test_write_api_refusal_is_answered_without_hooks(make_ds):
    with error_routes() as plugin:
        ds = make_ds(memory=True)
        response = await ds.client.get("/-/err/write")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.content == b'{"ok": false, "errors": ["first", "second"]}'
    assert plugin.seen == []


@pytest.mark.asyncio
async def test_sqlite_operational_error_becomes_invalid_sql(make_ds):
    with error_routes() as plugin:
        ds = make_ds(memory=True)
        as_json = await ds.client.get("/-/err/sql.json")
        as_html = await ds.client.get("/-/err/sql")
        invalid = await ds.client.get("/-/err/invalid.json")
        binding = await ds.client.get("/-/err/binding.json")
    assert as_json.status_code == 400
    assert as_json.json() == {
        "ok": False,
        "error": "no such table: nope",
        "status": 400,
        "title": "Invalid SQL",
    }
    assert as_html.status_code == 400
    assert "no such table: nope" in as_html.text
    assert invalid.status_code == 400
    assert invalid.json()["title"] == "Invalid SQL"
    assert (binding.status_code, binding.json()["error"]) == (400, "Incorrect number")
    # The hook sees the translated error, chained to SQLite's.
    first = plugin.seen[0]
    assert isinstance(first, DatasetteError)
    assert isinstance(first.__cause__, sqlite3.OperationalError)


@pytest.mark.asyncio
async def test_other_exceptions_reach_the_hook_and_become_500(make_ds, capsys):
    with error_routes() as plugin:
        ds = make_ds(memory=True)
        response = await ds.client.get("/-/err/boom")
    assert response.status_code == 500
    assert "boom" in response.text
    assert [type(e) for e in plugin.seen] == [ValueError]
    # Unexpected failures are printed with their traceback.
    assert "ValueError: boom" in capsys.readouterr().err


@pytest.mark.asyncio
async def test_cors_on_error_responses_and_marked_routes_only(make_ds, db_path):
    with error_routes():
        ds = make_ds([str(db_path)], cors=True)
        plain = make_ds([str(db_path)])
        missing = await ds.client.get("/-/err/missing.json")
        write = await ds.client.get("/-/err/write")
        unmarked = await ds.client.get("/-/err/fine")
        database_json = await ds.client.get("/sample.json")
        database_html = await ds.client.get("/sample")
        query_html = await ds.client.get("/sample?sql=select+1")
        debug_page = await ds.client.get("/-/allow-debug")
        without = await plain.client.get("/-/err/missing.json")
    assert missing.status_code == 404
    assert json.loads(missing.text)["error"] == "Nothing here"
    for response in (missing, write, database_json, query_html):
        assert response.headers[CORS_ORIGIN] == "*", response.url
    for response in (unmarked, database_html, debug_page, without):
        assert response.status_code in (200, 404)
        assert CORS_ORIGIN not in response.headers, response.url

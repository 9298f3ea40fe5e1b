"""CSV, `.blob`, `/db.db` downloads and row links through real HTTP (http-cli.md §7, §0.6–0.7;
plugins-auth-config.md §6.1 `allow_csv_stream`, `max_csv_mb`, `allow_download`).

Most tests use the module-scoped `read_api_server` (`fixtures.db`, `max_returned_rows` 100,
`big` has 1001 rows with metadata `size` 50 and `sort_desc` score). Settings and special
databases get a dedicated instance (`make_ds` + `serve_ds`).
"""

import copy
import csv
import hashlib
import io
import sqlite3
import urllib.parse

import httpx
import pytest

from .fixtures import READ_API_METADATA

CSV_PLAIN = "text/plain; charset=utf-8"
CSV_DOWNLOAD = "text/csv; charset=utf-8"
EXPIRED = "Link has expired - the requested binary content has changed or could not be found."
CORS_HEADERS = {
    "access-control-allow-origin": "*",
    "access-control-allow-headers": "Authorization, Content-Type",
    "access-control-expose-headers": "Link",
    "access-control-allow-methods": "GET, POST, HEAD, OPTIONS",
    "access-control-max-age": "3600",
}


# -- helpers --------------------------------------------------------------------------------


def get(server, path, params=None, **kwargs):
    return httpx.get(server.url + path, params=params, timeout=60, **kwargs)


def get_csv(server, path, params=None):
    """A successful CSV response; returns `(response, rows)` with rows parsed by `csv`."""
    response = get(server, path, params)
    assert response.status_code == 200, response.text
    return response, parse_csv(response.text)


def parse_csv(text):
    return list(csv.reader(io.StringIO(text, newline="")))


def assert_error_page(response, status, message):
    """Non-JSON errors are HTML pages carrying the (escaped) message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert message in response.text


def big_rows(n=1001):
    """The `big` fixture rows as CSV cells, in id order."""
    return [
        [str(i), f"value {i}", ["red", "green", "blue", ""][i % 4], str((i * 7) % 13)]
        for i in range(1, n + 1)
    ]


def make_db(path, sql, rows=()):
    """Create a SQLite file from a script plus `(insert_sql, rows)` pairs; returns the path."""
    conn = sqlite3.connect(str(path))
    conn.executescript(sql)
    for insert, values in rows:
        conn.executemany(insert, values)
    conn.commit()
    conn.close()
    return path


def serve_fixtures(make_ds, serve_ds, db_path, **settings):
    ds = make_ds([str(db_path)], metadata=copy.deepcopy(READ_API_METADATA), settings=settings)
    return serve_ds(ds)


# -- table CSV: format ----------------------------------------------------------------------


def test_table_csv_exact_body_and_headers(read_api_server):
    response = get(read_api_server, "/fixtures/cities.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == CSV_PLAIN
    assert "content-disposition" not in response.headers
    assert response.content == (
        b"id,name,state\r\n"
        b"1,San Francisco,CA\r\n"
        b"2,Los Angeles,CA\r\n"
        b"3,Detroit,MI\r\n"
        b"4,Ann Arbor,MI\r\n"
        b"5,Nowhere,\r\n"  # NULL is an empty cell
    )


def test_csv_lines_end_with_crlf_only(read_api_server):
    body = get(read_api_server, "/fixtures/big.csv", {"_size": "20"}).content
    assert body.count(b"\r\n") == 21
    assert body.count(b"\n") == 21  # no bare newlines
    assert body.endswith(b"\r\n")


def test_table_csv_quotes_commas(read_api_server):
    response, rows = get_csv(read_api_server, "/fixtures/compound_primary_key.csv")
    assert response.text.splitlines()[-1] == 'a~b,"x,y",tilde and comma'
    assert rows == [
        ["pk1", "pk2", "content"],
        ["a", "b", "c"],
        ["a/b", ".c-d", "c"],
        ["a~b", "x,y", "tilde and comma"],
    ]


def test_table_csv_quotes_embedded_quotes(read_api_server):
    response, rows = get_csv(
        read_api_server, "/fixtures/places.csv", {"_col": "tags", "_size": "2"}
    )
    assert response.text == ('pk,tags\r\n1,"[""tag1"", ""tag2""]"\r\n2,"[""tag1"", ""tag3""]"\r\n')
    assert rows[1] == ["1", '["tag1", "tag2"]']


def test_table_csv_null_and_empty_string(read_api_server):
    response, rows = get_csv(read_api_server, "/fixtures/simple_primary_key.csv")
    assert rows == [
        ["id", "content"],
        ["1", "hello"],
        ["2", "world"],
        ["3", ""],
        ["4", "RENDER_CELL_DEMO"],
        ["5", ""],
    ]


def test_dl_makes_a_csv_attachment(read_api_server):
    response = get(read_api_server, "/fixtures/cities.csv", {"_dl": "1"})
    assert response.status_code == 200
    assert response.headers["content-type"] == CSV_DOWNLOAD
    assert response.headers["content-disposition"] == 'attachment; filename="cities.csv"'
    assert response.text.startswith("id,name,state\r\n1,San Francisco,CA\r\n")


def test_header_off(read_api_server):
    response, rows = get_csv(read_api_server, "/fixtures/cities.csv", {"_header": "off"})
    assert response.text.startswith("1,San Francisco,CA\r\n")
    assert len(rows) == 5


def test_labels_on_adds_label_column_after_the_foreign_key(read_api_server):
    response, rows = get_csv(read_api_server, "/fixtures/cities.csv", {"_labels": "on"})
    assert rows == [
        ["id", "name", "state", "state_label"],
        ["1", "San Francisco", "CA", "California"],
        ["2", "Los Angeles", "CA", "California"],
        ["3", "Detroit", "MI", "Michigan"],
        ["4", "Ann Arbor", "MI", "Michigan"],
        ["5", "Nowhere", "", ""],
    ]
    assert response.text.endswith("5,Nowhere,,\r\n")


def test_label_for_one_column(read_api_server):
    _, rows = get_csv(
        read_api_server,
        "/fixtures/places.csv",
        {"_label": "city_id", "_col": "city_id", "_size": "2"},
    )
    assert rows == [
        ["pk", "city_id", "city_id_label"],
        ["1", "1", "San Francisco"],
        ["2", "1", "San Francisco"],
    ]


def test_csv_has_no_labels_by_default(read_api_server):
    _, rows = get_csv(read_api_server, "/fixtures/places.csv", {"_size": "1"})
    assert "city_id_label" not in rows[0]
    assert rows[1][rows[0].index("city_id")] == "1"


def test_size_is_respected(read_api_server):
    _, rows = get_csv(read_api_server, "/fixtures/big.csv", {"_size": "7", "_sort": "id"})
    assert rows[1:] == big_rows(7)
    _, rows = get_csv(read_api_server, "/fixtures/cities.csv", {"_size": "2"})
    assert [row[0] for row in rows[1:]] == ["1", "2"]


def test_csv_page_defaults_and_size_max(read_api_server):
    _, rows = get_csv(read_api_server, "/fixtures/big.csv")
    assert len(rows) == 1 + 50  # metadata `size`
    _, rows = get_csv(read_api_server, "/fixtures/big.csv", {"_size": "max"})
    assert len(rows) == 1 + 100  # max_returned_rows


def test_csv_honours_filters_and_sort(read_api_server):
    _, rows = get_csv(
        read_api_server, "/fixtures/big.csv", {"category": "red", "_sort_desc": "id", "_size": "3"}
    )
    assert [row[0] for row in rows[1:]] == ["1000", "996", "992"]
    assert {row[2] for row in rows[1:]} == {"red"}


def test_view_csv(read_api_server):
    _, rows = get_csv(read_api_server, "/fixtures/simple_view.csv")
    assert rows == [
        ["content", "upper_content"],
        ["hello", "HELLO"],
        ["world", "WORLD"],
        ["", ""],
        ["RENDER_CELL_DEMO", "RENDER_CELL_DEMO"],
        ["", ""],
    ]


def test_table_csv_has_cache_headers(read_api_server):
    response = get(read_api_server, "/fixtures/cities.csv")
    assert response.headers["cache-control"] == "max-age=5"
    assert response.headers["referrer-policy"] == "no-referrer"
    response = get(read_api_server, "/fixtures/cities.csv", {"_ttl": "0"})
    assert response.headers["cache-control"] == "no-cache"


def test_row_and_query_csv_have_no_cache_headers(read_api_server):
    for path in ["/fixtures/cities/1.csv", "/fixtures.csv?sql=select+1"]:
        response = get(read_api_server, path)
        assert response.status_code == 200
        assert "cache-control" not in response.headers
    # ...while the row JSON does.
    assert get(read_api_server, "/fixtures/cities/1.json").headers["cache-control"] == "max-age=5"


# -- _stream --------------------------------------------------------------------------------


def test_stream_returns_every_row_in_order(read_api_server):
    response, rows = get_csv(read_api_server, "/fixtures/big.csv", {"_stream": "1"})
    assert rows[0] == ["id", "value", "category", "score"]
    # `big` sorts by score descending (metadata), id breaking ties.
    expected = sorted(big_rows(), key=lambda row: (-int(row[3]), int(row[0])))
    assert rows[1:] == expected
    assert response.content.count(b"\r\n") == 1002


def test_stream_with_sort(read_api_server):
    _, rows = get_csv(read_api_server, "/fixtures/big.csv", {"_stream": "1", "_sort": "id"})
    assert rows[1:] == big_rows()
    _, rows = get_csv(read_api_server, "/fixtures/big.csv", {"_stream": "1", "_sort_desc": "value"})
    assert rows[1:] == sorted(big_rows(), key=lambda row: row[1], reverse=True)


@pytest.mark.parametrize(
    "params, keep",
    [
        ({"category": "red", "_sort": "id"}, lambda row: row[2] == "red"),
        ({"score__lt": "6", "_sort": "id"}, lambda row: int(row[3]) < 6),
    ],
)
def test_stream_with_filter(read_api_server, params, keep):
    _, rows = get_csv(read_api_server, "/fixtures/big.csv", {"_stream": "1", **params})
    assert rows[1:] == [row for row in big_rows() if keep(row)]


def test_stream_with_filter_in_default_order(read_api_server):
    _, rows = get_csv(read_api_server, "/fixtures/big.csv", {"_stream": "1", "id__gt": "10"})
    expected = [row for row in big_rows() if int(row[0]) > 10]
    assert rows[1:] == sorted(expected, key=lambda row: (-int(row[3]), int(row[0])))


def test_stream_a_view(read_api_server):
    _, rows = get_csv(read_api_server, "/fixtures/paginated_view.csv", {"_stream": "1"})
    assert len(rows) == 1 + 1001
    assert sorted(rows[1:], key=lambda row: int(row[0])) == big_rows()


def test_stream_with_labels(read_api_server):
    _, rows = get_csv(read_api_server, "/fixtures/cities.csv", {"_stream": "1", "_labels": "on"})
    assert rows[0] == ["id", "name", "state", "state_label"]
    assert rows[-1] == ["5", "Nowhere", "", ""]
    assert len(rows) == 6


def test_stream_with_next_is_rejected(read_api_server):
    response = get(read_api_server, "/fixtures/big.csv", {"_stream": "1", "_next": "5"})
    assert_error_page(response, 400, "_next not allowed for CSV streaming")


def test_allow_csv_stream_off(make_ds, serve_ds, read_api_db_path):
    with serve_fixtures(make_ds, serve_ds, read_api_db_path, allow_csv_stream=False) as server:
        response = get(server, "/fixtures/big.csv", {"_stream": "1"})
        assert_error_page(response, 400, "CSV streaming is disabled")
        # Plain CSV still works.
        _, rows = get_csv(server, "/fixtures/cities.csv")
        assert len(rows) == 6


# -- max_csv_mb -----------------------------------------------------------------------------


@pytest.fixture
def wide_db(tmp_path):
    """1500 rows of 2000 characters each: about 3 MB of CSV."""
    return make_db(
        tmp_path / "wide.db",
        "create table wide (id integer primary key, body text);",
        [("insert into wide (body) values (?)", (("x" * 2000,) for _ in range(1500)))],
    )


LIMIT_MESSAGE = "CSV contains more than 1048576 bytes"


def test_max_csv_mb_cuts_off_a_streamed_table(make_ds, serve_ds, wide_db):
    ds = make_ds([str(wide_db)], settings={"max_csv_mb": 1})
    with serve_ds(ds) as server:
        response = get(server, "/wide/wide.csv", {"_stream": "1"})
    assert response.status_code == 200
    body = response.content
    assert body.endswith(LIMIT_MESSAGE.encode())
    assert len(body) - len(LIMIT_MESSAGE) <= 1048576 + 2
    assert body.startswith(b"id,body\r\n1," + b"x" * 2000 + b"\r\n")


def test_max_csv_mb_cuts_off_a_query(make_ds, serve_ds, wide_db):
    ds = make_ds([str(wide_db)], settings={"max_csv_mb": 1})
    with serve_ds(ds) as server:
        response = get(server, "/wide.csv", {"sql": "select * from wide"})
    assert response.status_code == 200
    assert response.content.endswith(LIMIT_MESSAGE.encode())
    assert len(response.content) <= 1048576 + len(LIMIT_MESSAGE) + 2


def test_max_csv_mb_zero_means_no_limit(make_ds, serve_ds, wide_db):
    ds = make_ds([str(wide_db)], settings={"max_csv_mb": 0})
    with serve_ds(ds) as server:
        response, rows = get_csv(server, "/wide/wide.csv", {"_stream": "1"})
    assert len(rows) == 1 + 1500
    assert rows[-1] == ["1500", "x" * 2000]
    assert "CSV contains more than" not in response.text


def test_small_csv_is_under_the_default_limit(read_api_server):
    response, rows = get_csv(read_api_server, "/fixtures/big.csv", {"_stream": "1"})
    assert "CSV contains more than" not in response.text
    assert rows[-1][0] == "1001"


# -- query, canned query and row CSV --------------------------------------------------------


def test_query_csv_quoting(read_api_server):
    sql = (
        "select 'a,b' as comma, 'say \"hi\"' as quote, 'line1' || char(10) || 'line2' as newline, "
        "null as missing, 1.5 as number, '' as empty"
    )
    response, rows = get_csv(read_api_server, "/fixtures.csv", {"sql": sql})
    assert response.headers["content-type"] == CSV_PLAIN
    assert response.content == (
        b'comma,quote,newline,missing,number,empty\r\n"a,b","say ""hi""","line1\nline2",,1.5,\r\n'
    )
    assert rows == [
        ["comma", "quote", "newline", "missing", "number", "empty"],
        ["a,b", 'say "hi"', "line1\nline2", "", "1.5", ""],
    ]


def test_query_csv_dl_and_header_off(read_api_server):
    response = get(read_api_server, "/fixtures.csv", {"sql": "select 1 as a", "_dl": "1"})
    assert response.headers["content-type"] == CSV_DOWNLOAD
    assert response.headers["content-disposition"] == 'attachment; filename="fixtures.csv"'
    assert response.content == b"a\r\n1\r\n"
    response = get(read_api_server, "/fixtures.csv", {"sql": "select 1 as a", "_header": "off"})
    assert response.content == b"1\r\n"


def test_query_csv_is_one_result_set(read_api_server):
    _, rows = get_csv(read_api_server, "/fixtures.csv", {"sql": "select id from big order by id"})
    assert len(rows) == 1 + 100  # max_returned_rows; no pagination for queries
    assert rows[-1] == ["100"]


def test_query_csv_sql_error_is_not_200(read_api_server):
    response = get(read_api_server, "/fixtures.csv", {"sql": "select * from no_such_table"})
    assert response.status_code == 400


def test_canned_query_csv(read_api_server):
    response = get(
        read_api_server, "/fixtures/neighborhood_search.csv", {"text": "town", "_dl": "1"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == CSV_DOWNLOAD
    assert response.headers["content-disposition"] == (
        'attachment; filename="neighborhood_search.csv"'
    )
    assert response.content == (
        b"neighborhood,state\r\n"
        b"Corktown,MI\r\n"
        b"Downtown,CA\r\n"
        b"Downtown,MI\r\n"
        b"Greektown,MI\r\n"
        b"Koreatown,CA\r\n"
        b"Mexicantown,MI\r\n"
    )


def test_row_csv(read_api_server):
    response = get(read_api_server, "/fixtures/cities/1.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == CSV_PLAIN
    assert response.content == b"id,name,state\r\n1,San Francisco,CA\r\n"
    response = get(read_api_server, "/fixtures/cities/5.csv", {"_dl": "1", "_header": "off"})
    assert response.headers["content-disposition"] == 'attachment; filename="cities.csv"'
    assert response.content == b"5,Nowhere,\r\n"


def test_row_csv_compound_key(read_api_server):
    response = get(read_api_server, "/fixtures/compound_primary_key/a~7Eb,x~2Cy.csv")
    assert response.status_code == 200
    assert parse_csv(response.text) == [
        ["pk1", "pk2", "content"],
        ["a~b", "x,y", "tilde and comma"],
    ]


# -- binary cells and .blob -----------------------------------------------------------------


def test_table_csv_binary_cells_are_absolute_blob_urls(read_api_server):
    response, rows = get_csv(read_api_server, "/fixtures/binary_data.csv")
    base = read_api_server.url
    assert rows == [
        ["rowid", "data"],
        ["1", base + "/fixtures/binary_data/1.blob?_blob_column=data"],
        ["2", base + "/fixtures/binary_data/2.blob?_blob_column=data"],
        ["3", ""],  # NULL, not a link
    ]


@pytest.mark.parametrize("rowid, expected", [("1", b"\xff\x00\xff"), ("2", b"ABC")])
def test_following_a_row_blob_url(read_api_server, rowid, expected):
    _, rows = get_csv(read_api_server, "/fixtures/binary_data.csv")
    url = dict((row[0], row[1]) for row in rows[1:])[rowid]
    response = httpx.get(url, timeout=60)
    assert response.status_code == 200
    assert response.content == expected
    assert response.headers["content-type"] == "application/binary"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="binary_data-{rowid}-data.blob"'
    )


def test_query_csv_binary_cells_link_with_hash(read_api_server):
    sql = "select rowid, data from binary_data order by rowid"
    _, rows = get_csv(read_api_server, "/fixtures.csv", {"sql": sql})
    assert rows[3] == ["3", ""]
    for (_, url), expected in zip(rows[1:3], [b"\xff\x00\xff", b"ABC"]):
        digest = hashlib.sha256(expected).hexdigest()
        parts = urllib.parse.urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == read_api_server.url
        assert parts.path == "/fixtures.blob"
        assert urllib.parse.parse_qsl(parts.query) == [
            ("sql", sql),
            ("_blob_column", "data"),
            ("_blob_hash", digest),
        ]
        response = httpx.get(url, timeout=60)
        assert response.status_code == 200
        assert response.content == expected
        assert response.headers["content-type"] == "application/binary"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-disposition"] == (
            f'attachment; filename="data-{digest[:6]}.blob"'
        )


def test_table_blob_without_hash_serves_the_first_row(read_api_server):
    response = get(read_api_server, "/fixtures/binary_data.blob", {"_blob_column": "data"})
    assert response.status_code == 200
    assert response.content == b"\xff\x00\xff"
    assert response.headers["content-disposition"] == 'attachment; filename="binary_data-data.blob"'


def test_query_blob_without_hash_serves_the_first_row(read_api_server):
    response = get(
        read_api_server,
        "/fixtures.blob",
        {
            "sql": "select data from binary_data where data is not null order by rowid desc",
            "_blob_column": "data",
        },
    )
    assert response.status_code == 200
    assert response.content == b"ABC"
    assert response.headers["content-disposition"] == 'attachment; filename="data.blob"'


def test_blob_requires_blob_column(read_api_server):
    response = get(read_api_server, "/fixtures/binary_data/1.blob")
    assert_error_page(response, 400, "?_blob_column= is required")


def test_blob_unknown_column(read_api_server):
    response = get(read_api_server, "/fixtures/binary_data/1.blob", {"_blob_column": "nope"})
    assert_error_page(response, 400, "nope is not a valid column")


def test_blob_wrong_hash(read_api_server):
    response = get(
        read_api_server,
        "/fixtures.blob",
        {"sql": "select data from binary_data", "_blob_column": "data", "_blob_hash": "0" * 64},
    )
    assert_error_page(response, 400, EXPIRED)


def test_blob_hash_of_changed_query(read_api_server):
    # The hash of row 1's bytes, but the query no longer returns row 1.
    digest = hashlib.sha256(b"\xff\x00\xff").hexdigest()
    response = get(
        read_api_server,
        "/fixtures.blob",
        {
            "sql": "select data from binary_data where rowid = 2",
            "_blob_column": "data",
            "_blob_hash": digest,
        },
    )
    assert_error_page(response, 400, EXPIRED)


def test_blob_urls_with_encoded_text_keys(make_ds, serve_ds, tmp_path):
    path = make_db(
        tmp_path / "files.db",
        "create table docs (name text primary key, content blob);"
        "insert into docs values ('a/b.txt', X'00FF10');",
    )
    ds = make_ds([str(path)])
    with serve_ds(ds) as server:
        _, rows = get_csv(server, "/files/docs.csv")
        url = rows[1][1]
        assert url == server.url + "/files/docs/a~2Fb~2Etxt.blob?_blob_column=content"
        response = httpx.get(url, timeout=60)
    assert response.status_code == 200
    assert response.content == b"\x00\xff\x10"
    assert response.headers["content-disposition"] == (
        'attachment; filename="docs-a~2Fb~2Etxt-content.blob"'
    )


def test_blob_is_not_listed_as_an_export_format(read_api_server):
    response = get(read_api_server, "/fixtures/binary_data.json", {"_extra": "renderers"})
    renderers = response.json()["renderers"]
    assert "blob" not in renderers


# -- CORS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cors_server(read_api_db_path, tmp_path_factory):
    """A `--cors` instance over the fixtures plus an immutable copy for downloads."""
    from datasette.app import Datasette

    from .conftest import ServerThread

    immutable = tmp_path_factory.mktemp("cors") / "frozen.db"
    immutable.write_bytes(read_api_db_path.read_bytes())
    ds = Datasette([str(read_api_db_path)], immutables=[str(immutable)], cors=True)
    with ServerThread(ds) as server:
        yield server
    ds.close()


@pytest.mark.parametrize(
    "path",
    [
        "/fixtures/cities.csv",
        "/fixtures/cities.csv?_dl=1",
        "/fixtures/cities/1.csv",
        "/fixtures.csv?sql=select+1",
        "/frozen.db",
    ],
)
def test_cors_headers_on_csv_and_downloads(cors_server, path):
    response = get(cors_server, path)
    assert response.status_code == 200
    for key, value in CORS_HEADERS.items():
        assert response.headers[key] == value


@pytest.mark.parametrize(
    "path",
    [
        "/fixtures/binary_data/1.blob?_blob_column=data",
        "/fixtures/binary_data.blob?_blob_column=data",
        "/fixtures.blob?sql=select+data+from+binary_data&_blob_column=data",
    ],
)
def test_cors_headers_on_blob(cors_server, path):
    response = get(cors_server, path)
    assert response.status_code == 200
    for key, value in CORS_HEADERS.items():
        assert response.headers[key] == value


def test_no_cors_headers_without_cors(read_api_server):
    for path in ["/fixtures/cities.csv", "/fixtures/binary_data/1.blob?_blob_column=data"]:
        response = get(read_api_server, path)
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers


# -- /db.db downloads -----------------------------------------------------------------------


@pytest.fixture
def immutable_copy(tmp_path, read_api_db_path):
    path = tmp_path / "frozen-copy.db"
    path.write_bytes(read_api_db_path.read_bytes())
    return path


def test_download_of_a_mutable_database_is_forbidden(read_api_server):
    response = get(read_api_server, "/fixtures.db")
    assert response.status_code == 403
    assert "Database download is forbidden" in response.text


def test_download_of_an_immutable_database(make_ds, serve_ds, immutable_copy):
    ds = make_ds(immutables=[str(immutable_copy)])
    expected = immutable_copy.read_bytes()
    digest = hashlib.sha256(expected).hexdigest()
    with serve_ds(ds) as server:
        response = get(server, "/frozen-copy.db")
        assert response.status_code == 200
        assert response.content == expected
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["content-disposition"] == 'attachment; filename="frozen-copy.db"'
        assert response.headers["etag"] == f'"{digest}"'
        assert "cache-control" not in response.headers

        cached = get(server, "/frozen-copy.db", headers={"If-None-Match": f'"{digest}"'})
        assert cached.status_code == 304
        assert cached.content == b""

        stale = get(server, "/frozen-copy.db", headers={"If-None-Match": '"not-the-hash"'})
        assert stale.status_code == 200
        assert stale.content == expected


def test_allow_download_off(make_ds, serve_ds, immutable_copy):
    ds = make_ds(immutables=[str(immutable_copy)], settings={"allow_download": False})
    with serve_ds(ds) as server:
        response = get(server, "/frozen-copy.db")
        assert response.status_code == 403
        assert "Database download is forbidden" in response.text
        # The database itself is still served.
        assert get(server, "/frozen-copy.json").status_code == 200


def test_download_of_memory_database(make_ds, serve_ds):
    ds = make_ds(memory=True)
    with serve_ds(ds) as server:
        response = get(server, "/_memory.db")
    assert_error_page(response, 404, "Cannot download in-memory databases")


def test_download_of_unknown_database(read_api_server):
    response = get(read_api_server, "/no_such_database.db")
    assert_error_page(response, 404, "Invalid database")


# -- row JSON: links from other tables ------------------------------------------------------


def foreign_key_tables(server, path, extras="foreign_key_tables"):
    response = get(server, path, {"_extras": extras})
    assert response.status_code == 200, response.text
    return response.json()["foreign_key_tables"]


def follow_link(server, link):
    """The JSON rows of a `foreign_key_tables` link (an HTML table path plus query)."""
    path, _, query = link.partition("?")
    response = httpx.get(f"{server.url}{path}.json?{query}", timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def test_city_links_from_places(read_api_server):
    tables = foreign_key_tables(read_api_server, "/fixtures/cities/1.json")
    assert tables == [
        {
            "other_table": "places",
            "column": "id",
            "other_column": "city_id",
            "count": 6,
            "link": "/fixtures/places?city_id=1",
        }
    ]
    rows = follow_link(read_api_server, tables[0]["link"])
    assert [row["pk"] for row in rows] == [1, 2, 3, 4, 5, 6]


def test_state_links_from_cities(read_api_server):
    tables = foreign_key_tables(read_api_server, "/fixtures/states/CA.json")
    assert tables == [
        {
            "other_table": "cities",
            "column": "code",
            "other_column": "state",
            "count": 2,
            "link": "/fixtures/cities?state=CA",
        }
    ]
    rows = follow_link(read_api_server, tables[0]["link"])
    assert [row["name"] for row in rows] == ["San Francisco", "Los Angeles"]


def test_links_with_zero_count(read_api_server):
    tables = foreign_key_tables(read_api_server, "/fixtures/states/NY.json")
    assert [(t["other_table"], t["count"]) for t in tables] == [("cities", 0)]


def test_foreign_key_tables_in_a_comma_list(read_api_server):
    tables = foreign_key_tables(
        read_api_server, "/fixtures/cities/2.json", "other,foreign_key_tables"
    )
    assert [(t["other_table"], t["count"]) for t in tables] == [("places", 4)]


def test_compound_keys_have_no_links(read_api_server):
    assert foreign_key_tables(read_api_server, "/fixtures/compound_fk_target/x,1.json") == []


def test_row_json_without_extras_has_no_links(read_api_server):
    data = get(read_api_server, "/fixtures/cities/1.json").json()
    assert "foreign_key_tables" not in data
    assert data["ok"] is True


@pytest.fixture
def links_db(tmp_path):
    return make_db(
        tmp_path / "links.db",
        """
        create table parent (code text primary key, name text);
        insert into parent values ('a b/c', 'odd'), ('plain', 'plain');
        create table child (
            id integer primary key,
            parent_code text references parent(code),
            _owner text references parent(code)
        );
        insert into child values (1, 'a b/c', 'a b/c'), (2, 'a b/c', null), (3, 'plain', 'plain');
        """,
    )


def test_underscore_column_links_use_exact(make_ds, serve_ds, links_db):
    ds = make_ds([str(links_db)])
    with serve_ds(ds) as server:
        tables = foreign_key_tables(server, "/links/parent/plain.json")
        by_column = {t["other_column"]: t for t in tables}
        assert by_column["_owner"]["link"] == "/links/child?_owner__exact=plain"
        assert by_column["parent_code"]["link"] == "/links/child?parent_code=plain"
        assert [row["id"] for row in follow_link(server, by_column["_owner"]["link"])] == [3]


def test_links_for_keys_needing_encoding_select_the_counted_rows(make_ds, serve_ds, links_db):
    ds = make_ds([str(links_db)])
    with serve_ds(ds) as server:
        tables = foreign_key_tables(server, "/links/parent/a+b~2Fc.json")
        assert sorted((t["other_column"], t["count"]) for t in tables) == [
            ("_owner", 1),
            ("parent_code", 2),
        ]
        for table in tables:
            assert len(follow_link(server, table["link"])) == table["count"]

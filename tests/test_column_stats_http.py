"""`/db/table/-/stats.json` and `/db/table/-/suggest.json`: answers, permissions, bad input."""

import sqlite3

import pytest
import pytest_asyncio

from datasette.internal.stats import get_indexer

PRIVATE_SECRET = "launch code 0000"


def make_db(path):
    conn = sqlite3.connect(str(path))
    conn.executescript(
        """
        create table places (id integer primary key, city text, country text, score real, data blob);
        create table secrets (id integer primary key, code text);
        create view cities as select distinct city from places;
        """
    )
    cities = ["Paris"] * 5 + ["Palermo"] * 3 + ["palo alto"] * 2 + ["Pécs", "Berlin", "Bern"]
    conn.executemany(
        "insert into places (city, country, score, data) values (?, ?, ?, ?)",
        [(c, "X", i / 2, b"\x00\x01" if i == 0 else None) for i, c in enumerate(cities)],
    )
    conn.executemany(
        "insert into secrets (code) values (?)", [(PRIVATE_SECRET,), (PRIVATE_SECRET,)]
    )
    conn.commit()
    conn.close()
    return path


METADATA = {"databases": {"data": {"tables": {"secrets": {"allow": {"id": "root"}}}}}}


@pytest_asyncio.fixture
async def ds(make_ds, tmp_path):
    ds = make_ds([str(make_db(tmp_path / "data.db"))], metadata=METADATA)
    await ds.invoke_startup()
    await get_indexer(ds).run_until_idle()
    return ds


def cookies(ds, actor_id):
    return {"ds_actor": ds.client.actor_cookie({"id": actor_id})}


@pytest.mark.asyncio
async def test_stats_json(ds):
    response = await ds.client.get("/data/places/-/stats.json")
    assert response.status_code == 200
    data = response.json()
    assert data["ok"] is True and data["state"] == "done" and data["stale"] is False
    assert data["row_count"] == 13
    columns = {c["name"]: c for c in data["columns"]}
    assert list(columns) == ["id", "city", "country", "score", "data"]
    city = columns["city"]
    assert city["distinct_count"] == 6 and city["distinct_exact"] is True
    assert city["min"] == "Berlin" and city["max"] == "palo alto"
    assert city["types"]["text"] == 13 and city["null_count"] == 0
    assert city["values"][0] == {"value": "Paris", "count": 5}
    assert columns["score"]["min"] == 0.0 and columns["score"]["max"] == 6.0
    assert columns["data"]["null_count"] == 12
    assert columns["data"]["min"] == {"$base64": True, "encoded": "AAE="}
    assert columns["data"]["values"] is None


@pytest.mark.asyncio
async def test_suggest_json_prefix_case_insensitive_most_frequent_first(ds):
    response = await ds.client.get("/data/places/-/suggest.json?column=city&q=PA")
    assert response.status_code == 200
    data = response.json()
    assert data["source"] == "statistics"
    assert data["suggestions"] == [
        {"value": "Paris", "count": 5},
        {"value": "Palermo", "count": 3},
        {"value": "palo alto", "count": 2},
    ]
    response = await ds.client.get("/data/places/-/suggest.json?column=city&q=p%C3%89&_size=1")
    assert response.json()["suggestions"] == [{"value": "Pécs", "count": 1}]
    response = await ds.client.get("/data/places/-/suggest.json?column=city&q=ber")
    assert [s["value"] for s in response.json()["suggestions"]] == ["Berlin", "Bern"]


@pytest.mark.asyncio
async def test_suggest_before_indexing_falls_back_to_a_query(make_ds, tmp_path):
    ds = make_ds([str(make_db(tmp_path / "data.db"))])
    await ds.invoke_startup()
    response = await ds.client.get("/data/places/-/suggest.json?column=city&q=pa")
    data = response.json()
    assert data["source"] == "query"
    assert data["suggestions"][:2] == [
        {"value": "Paris", "count": 5},
        {"value": "Palermo", "count": 3},
    ]
    stats = (await ds.client.get("/data/places/-/stats.json")).json()
    assert stats["state"] == "pending" and stats["columns"] == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "query,message",
    [
        ("", "column= is required: the column to suggest values for"),
        ("?q=pa", "column= is required: the column to suggest values for"),
        ("?column=nope&q=pa", "Unknown column: nope"),
        ("?column=city&q=" + "x" * 101, "q= must be at most 100 characters"),
        ("?column=city&_size=0", "_size= must be a whole number from 1 to 50"),
    ],
)
async def test_suggest_bad_input(ds, query, message):
    response = await ds.client.get("/data/places/-/suggest.json" + query)
    assert response.status_code == 400
    data = response.json()
    assert data["ok"] is False
    assert data["error"] == message


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["stats.json", "suggest.json?column=code&q=l"])
async def test_private_table_is_403_and_leaks_nothing(ds, path):
    anonymous = await ds.client.get(f"/data/secrets/-/{path}")
    assert anonymous.status_code == 403
    assert PRIVATE_SECRET not in anonymous.text
    other = await ds.client.get(f"/data/secrets/-/{path}", cookies=cookies(ds, "someone"))
    assert other.status_code == 403
    assert PRIVATE_SECRET not in other.text
    root = await ds.client.get(f"/data/secrets/-/{path}", cookies=cookies(ds, "root"))
    assert root.status_code == 200
    assert PRIVATE_SECRET in root.text


@pytest.mark.asyncio
async def test_missing_table_and_views(ds):
    assert (await ds.client.get("/data/nothing/-/stats.json")).status_code == 404
    assert (await ds.client.get("/nodb/places/-/suggest.json?column=city")).status_code == 404
    view = await ds.client.get("/data/cities/-/stats.json")
    assert view.status_code == 404
    assert view.json()["error"] == "Statistics are kept for tables, not views: cities"


@pytest.mark.asyncio
async def test_turned_off_by_setting_and_by_metadata(make_ds, tmp_path):
    path = str(make_db(tmp_path / "data.db"))
    off = make_ds([path], settings={"column_stats": False})
    await off.invoke_startup()
    assert (await off.client.get("/data/places/-/stats.json")).json()["state"] == "off"
    per_db = make_ds([path], metadata={"databases": {"data": {"column_stats": False}}})
    await per_db.invoke_startup()
    await get_indexer(per_db).run_until_idle()
    assert (await per_db.client.get("/data/places/-/stats.json")).json()["state"] == "off"
    internal = per_db.get_internal_database()
    count = await internal.execute_fn(
        lambda c: c.execute("select count(*) from stats_tables").fetchone()[0]
    )
    assert count == 0


def make_things_db(path):
    conn = sqlite3.connect(str(path))
    conn.executescript(
        """
        create table kinds (id integer primary key, name text);
        create table things (
            id integer primary key, kind_id integer references kinds(id), day text,
            doc text, label text, note text, free text
        );
        insert into kinds (name) values ('tool'), ('toy');
        """
    )
    conn.executemany(
        "insert into things (kind_id, day, doc, label, note, free) values (?, ?, ?, ?, ?, ?)",
        [
            (
                1 + i % 2,
                f"2024-01-{1 + i:02d}",
                '{"n": %d}' % i,
                ["red", "green", "blue"][i % 3],
                "a long note " * 10,
                f"free text {i}",
            )
            for i in range(25)
        ],
    )
    conn.commit()
    conn.close()
    return path


@pytest.mark.asyncio
async def test_form_json_controls_from_statistics(make_ds, tmp_path):
    ds = make_ds([str(make_things_db(tmp_path / "things.db"))])
    await ds.invoke_startup()
    await get_indexer(ds).run_until_idle()
    anonymous = (await ds.client.get("/things/things/-/form.json")).json()
    assert anonymous["can_insert"] is False and anonymous["can_update"] is False
    root = (await ds.client.get("/things/things/-/form.json", cookies=cookies(ds, "root"))).json()
    assert root["can_insert"] is True and root["can_update"] is True
    assert root["pks"] == ["id"]
    controls = {f["name"]: f["control"] for f in root["fields"]}
    assert controls == {
        "id": "number",
        "kind_id": "foreign-key",
        "day": "date",
        "doc": "textarea",
        "label": "select",
        "note": "textarea",
        "free": "text",
    }
    label = next(f for f in root["fields"] if f["name"] == "label")
    assert label["options"] == ["red", "blue", "green"]  # most frequent first, then by value
    kind = next(f for f in root["fields"] if f["name"] == "kind_id")
    assert kind["references"] == {"table": "kinds", "column": "id"}


@pytest.mark.asyncio
async def test_form_json_before_indexing_uses_declared_types(make_ds, tmp_path):
    ds = make_ds([str(make_things_db(tmp_path / "things.db"))])
    await ds.invoke_startup()
    data = (await ds.client.get("/things/things/-/form.json")).json()
    controls = {f["name"]: f["control"] for f in data["fields"]}
    assert controls["id"] == "number" and controls["kind_id"] == "foreign-key"
    assert controls["day"] == "text" and controls["label"] == "text"


@pytest.mark.asyncio
async def test_form_json_private_table_is_403(ds):
    response = await ds.client.get("/data/secrets/-/form.json")
    assert response.status_code == 403
    assert PRIVATE_SECRET not in response.text


@pytest.mark.asyncio
async def test_edit_page_without_javascript_saves_a_row(make_ds, tmp_path):
    ds = make_ds([str(make_things_db(tmp_path / "things.db"))])
    await ds.invoke_startup()
    await get_indexer(ds).run_until_idle()
    assert (await ds.client.get("/things/things/3/-/edit")).status_code == 403
    root = cookies(ds, "root")
    page = await ds.client.get("/things/things/3/-/edit", cookies=root)
    assert page.status_code == 200
    html = page.text
    # Controls chosen from the statistics; the key is not editable.
    assert '<select id="edit-field-4" name="label">' in html
    assert "<option selected>blue</option>" in html
    assert 'name="day" value="2024-01-03"' in html and 'type="date"' in html
    assert '<textarea id="edit-field-3" name="doc" rows="4">{&#34;n&#34;: 2}</textarea>' in html
    assert 'name="id"' not in html
    token = html.split('name="csrftoken" value="')[1].split('"')[0]
    response = await ds.client.post(
        "/things/things/3/-/edit",
        data={"csrftoken": token, "label": "green", "kind_id": "2", "doc": "", "note": "short"},
        cookies={**root, "ds_csrftoken": page.cookies.get("ds_csrftoken") or token},
    )
    assert response.status_code == 302
    assert response.headers["location"].endswith("/things/things/3")
    row = (await ds.client.get("/things/things/3.json")).json()["rows"][0]
    assert (row["label"], row["kind_id"], row["doc"], row["note"]) == ("green", 2, None, "short")
    assert row["day"] == "2024-01-03"  # not submitted: unchanged


@pytest.mark.asyncio
async def test_insert_page_without_javascript_adds_a_row(make_ds, tmp_path):
    ds = make_ds([str(make_things_db(tmp_path / "things.db"))])
    await ds.invoke_startup()
    await get_indexer(ds).run_until_idle()
    assert (await ds.client.get("/things/things/-/insert-form")).status_code == 403
    root = cookies(ds, "root")
    table_page = await ds.client.get("/things/things", cookies=root)
    assert "/things/things/-/insert-form" in table_page.text  # the no-JavaScript link
    page = await ds.client.get("/things/things/-/insert-form", cookies=root)
    assert page.status_code == 200 and 'name="id"' in page.text
    token = page.text.split('name="csrftoken" value="')[1].split('"')[0]
    form = {"csrftoken": token, "id": "", "label": "red", "day": "2025-02-03", "kind_id": "1"}
    csrf = {**root, "ds_csrftoken": page.cookies.get("ds_csrftoken") or token}
    response = await ds.client.post("/things/things/-/insert-form", data=form, cookies=csrf)
    assert response.status_code == 302
    assert response.headers["location"].endswith("/things/things")
    row = (await ds.client.get("/things/things.json?id=26")).json()["rows"][0]
    assert (row["label"], row["day"], row["kind_id"], row["doc"]) == ("red", "2025-02-03", 1, None)
    # A value SQLite refuses comes back as the form with the write API's error.
    bad = await ds.client.post(
        "/things/things/-/insert-form", data={**form, "id": "1"}, cookies=csrf
    )
    assert bad.status_code == 400
    assert "UNIQUE constraint failed" in bad.text and 'value="2025-02-03"' in bad.text

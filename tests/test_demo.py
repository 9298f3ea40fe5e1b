"""Tests for the embedded demo database, run against real SQLite."""

from __future__ import annotations

import datetime
import json
import re
import sqlite3
import time

import pytest

from datasette.demo import DEMO_AS_OF, DEMO_DATABASE_NAME, build_demo, write_demo_file

EXPECTED_TABLES = {
    "authors",
    "book_branches",
    "books",
    "books_fts",
    "branches",
    "loans",
    "members",
    "opening_hours",
    "reading list",
}
EXPECTED_VIEWS = {"overdue_loans", "popular_books"}
# (child table, child column, parent table, parent column)
EXPECTED_FOREIGN_KEYS = {
    ("books", "author_id", "authors", "id"),
    ("members", "home_branch_id", "branches", "id"),
    ("loans", "book_id", "books", "id"),
    ("loans", "member_id", "members", "id"),
    ("loans", "branch_id", "branches", "id"),
    ("book_branches", "book_id", "books", "id"),
    ("book_branches", "branch_id", "branches", "id"),
    ("opening_hours", "branch_id", "branches", "id"),
    ("reading list", "member_id", "members", "id"),
    ("reading list", "book_id", "books", "id"),
}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@pytest.fixture(scope="module")
def conn():
    connection = sqlite3.connect(":memory:")
    connection.execute("PRAGMA foreign_keys = ON")
    build_demo(connection)
    yield connection
    connection.close()


def user_tables(conn) -> set:
    return {
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not row[0].startswith("sqlite_") and not row[0].startswith("books_fts_")
    }


def test_database_name():
    assert DEMO_DATABASE_NAME == "demo"


def test_schema_has_promised_tables_and_views(conn):
    assert user_tables(conn) == EXPECTED_TABLES
    views = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    assert views == EXPECTED_VIEWS
    fts_sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'books_fts'").fetchone()[0]
    assert "fts5" in fts_sql.lower()
    assert 'content="books"' in fts_sql


def test_primary_keys(conn):
    def pk(table):
        info = conn.execute(f"PRAGMA table_info({q(table)})").fetchall()
        return [row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5])]

    assert pk("book_branches") == ["book_id", "branch_id"]
    assert pk("opening_hours") == []  # a rowid table on purpose
    for table in ("branches", "authors", "books", "members", "loans", "reading list"):
        assert pk(table) == ["id"]
        types = {r[1]: r[2] for r in conn.execute(f"PRAGMA table_info({q(table)})")}
        assert types["id"] == "INTEGER"


def test_names_needing_quoting(conn):
    columns = [r[1] for r in conn.execute('PRAGMA table_info("reading list")')]
    assert "date added" in columns
    sql = 'SELECT count(*) FROM "reading list" WHERE "date added" IS NOT NULL'
    assert conn.execute(sql).fetchone()[0] > 0


def test_row_counts_are_demo_sized(conn):
    counts = {
        table: conn.execute(f"SELECT count(*) FROM {q(table)}").fetchone()[0]
        for table in EXPECTED_TABLES - {"books_fts"}
    }
    assert all(count > 0 for count in counts.values()), counts
    assert 300 <= sum(counts.values()) <= 2500, counts
    assert counts["loans"] > counts["books"] > counts["branches"]


def test_foreign_key_check_is_clean(conn):
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_every_foreign_key_references_existing_rows(conn):
    declared = set()
    for table in EXPECTED_TABLES - {"books_fts"}:
        for fk in conn.execute(f"PRAGMA foreign_key_list({q(table)})"):
            declared.add((table, fk[3], fk[2], fk[4]))
    assert declared == EXPECTED_FOREIGN_KEYS
    for child, column, parent, parent_column in sorted(declared):
        used = conn.execute(
            f"SELECT count(*) FROM {q(child)} WHERE {q(column)} IS NOT NULL"
        ).fetchone()[0]
        orphans = conn.execute(
            f"SELECT count(*) FROM {q(child)} c LEFT JOIN {q(parent)} p "
            f"ON p.{q(parent_column)} = c.{q(column)} "
            f"WHERE c.{q(column)} IS NOT NULL AND p.{q(parent_column)} IS NULL"
        ).fetchone()[0]
        assert used > 0, (child, column)
        assert orphans == 0, (child, column)


def test_full_text_search_finds_lighthouse_books(conn):
    found = {
        row[0]
        for row in conn.execute(
            "SELECT rowid FROM books_fts WHERE books_fts MATCH 'lighthouse'"
        )
    }
    expected = {
        book_id
        for book_id, title, summary in conn.execute("SELECT id, title, summary FROM books")
        if "lighthouse" in re.findall(r"\w+", f"{title} {summary}".lower())
    }
    assert 1 in found  # "The Lighthouse Keeper's Almanac"
    assert len(found) > 5
    assert found == expected


def test_full_text_search_ignores_diacritics_and_joins_back(conn):
    rows = conn.execute(
        "SELECT books.id, books.title FROM books_fts "
        "JOIN books ON books.id = books_fts.rowid "
        "WHERE books_fts MATCH 'cafe' ORDER BY books.id"
    ).fetchall()
    assert rows[0] == (2, "Café Sol, Open Late")
    assert all(
        "café" in (title + summary).lower()
        for title, summary in conn.execute(
            "SELECT title, summary FROM books WHERE id IN (%s)"
            % ",".join(str(r[0]) for r in rows)
        )
    )
    none = "SELECT count(*) FROM books_fts WHERE books_fts MATCH 'zeppelin'"
    assert conn.execute(none).fetchone()[0] == 0


def test_fts_index_follows_edits_to_books():
    connection = sqlite3.connect(":memory:")
    build_demo(connection)
    connection.execute("UPDATE books SET summary = 'A zeppelin over the harbor.' WHERE id = 7")
    search = "SELECT rowid FROM books_fts WHERE books_fts MATCH 'zeppelin'"
    assert connection.execute(search).fetchall() == [(7,)]
    connection.execute("PRAGMA foreign_keys = OFF")
    connection.execute("DELETE FROM books WHERE id = 7")
    assert connection.execute(search).fetchall() == []
    # Raises if the external-content index disagrees with the books table.
    connection.execute("INSERT INTO books_fts(books_fts, rank) VALUES ('integrity-check', 1)")
    connection.close()


def dump(connection) -> list:
    return list(connection.iterdump())


def test_builds_are_deterministic():
    first, second = sqlite3.connect(":memory:"), sqlite3.connect(":memory:")
    build_demo(first)
    build_demo(second)
    first_dump, second_dump = dump(first), dump(second)
    assert len(first_dump) > 1000
    assert first_dump == second_dump


def test_demo_files_are_byte_identical(tmp_path):
    a = write_demo_file(tmp_path / "a.db")
    b = write_demo_file(tmp_path / "b.db")
    assert a.read_bytes() == b.read_bytes()


def test_overdue_loans_view(conn):
    rows = conn.execute("SELECT loan_id, due, days_overdue FROM overdue_loans").fetchall()
    assert len(rows) > 5
    for loan_id, due, days_overdue in rows:
        assert due < DEMO_AS_OF
        assert days_overdue > 0
        returned = conn.execute("SELECT returned FROM loans WHERE id = ?", (loan_id,)).fetchone()[0]
        assert returned is None
    # Loans still out but not yet due are not overdue.
    not_yet_due = conn.execute(
        "SELECT count(*) FROM loans WHERE returned IS NULL AND due >= ?", (DEMO_AS_OF,)
    ).fetchone()[0]
    assert not_yet_due > 0
    assert len(rows) + not_yet_due == conn.execute(
        "SELECT count(*) FROM loans WHERE returned IS NULL"
    ).fetchone()[0]


def test_popular_books_view(conn):
    rows = conn.execute("SELECT book_id, times_borrowed FROM popular_books").fetchall()
    assert len(rows) > 10
    counts = [count for _, count in rows]
    assert counts == sorted(counts, reverse=True)
    top_id, top_count = rows[0]
    assert top_count == conn.execute(
        "SELECT count(*) FROM loans WHERE book_id = ?", (top_id,)
    ).fetchone()[0]
    assert top_count > 3


def test_loan_dates_are_iso_and_consistent(conn):
    as_of = datetime.date.fromisoformat(DEMO_AS_OF)
    rows = conn.execute(
        "SELECT loans.borrowed, loans.due, loans.returned, members.joined FROM loans "
        "JOIN members ON members.id = loans.member_id"
    ).fetchall()
    for borrowed, due, returned, joined in rows:
        assert ISO_DATE.match(borrowed) and ISO_DATE.match(due) and ISO_DATE.match(joined)
        borrowed_day = datetime.date.fromisoformat(borrowed)
        assert borrowed_day <= as_of
        assert joined <= borrowed
        assert datetime.date.fromisoformat(due) - borrowed_day == datetime.timedelta(days=21)
        if returned is not None:
            assert ISO_DATE.match(returned)
            assert borrowed < returned <= DEMO_AS_OF


def test_loans_happen_where_the_book_is_held(conn):
    stray = conn.execute(
        "SELECT count(*) FROM loans WHERE NOT EXISTS (SELECT 1 FROM book_branches bb "
        "WHERE bb.book_id = loans.book_id AND bb.branch_id = loans.branch_id)"
    ).fetchone()[0]
    assert stray == 0


def test_explorable_variety(conn):
    def scalar(sql):
        return conn.execute(sql).fetchone()[0]

    # NULLs worth filtering on.
    assert scalar("SELECT count(*) FROM loans WHERE returned IS NULL") > 0
    assert scalar("SELECT count(*) FROM authors WHERE born IS NULL") > 0
    assert scalar("SELECT count(*) FROM branches WHERE latitude IS NULL") == 1
    assert scalar("SELECT count(*) FROM opening_hours WHERE opens IS NULL") > 0
    # Unicode: accented Latin and at least three non-Latin scripts.
    sql = "SELECT name FROM authors UNION ALL SELECT name FROM members"
    names = [r[0] for r in conn.execute(sql)]
    assert any(re.search(r"[À-ɏ]", n) for n in names)
    assert any(re.search(r"[\u0370-\u03ff]", n) for n in names)  # Greek
    assert any(re.search(r"[\u0400-\u04ff]", n) for n in names)  # Cyrillic
    assert any(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", n) for n in names)  # CJK
    # URL columns.
    for table, column in (("branches", "website"), ("authors", "homepage"), ("books", "cover_url")):
        sql = f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"
        urls = [r[0] for r in conn.execute(sql)]
        assert urls and all(u.startswith("https://") for u in urls)
    # Facets: several genres, JSON array tags.
    assert scalar("SELECT count(DISTINCT genre) FROM books") >= 8
    tag_lists = [json.loads(r[0]) for r in conn.execute("SELECT tags FROM books")]
    assert all(isinstance(t, list) and all(isinstance(x, str) for x in t) for t in tag_lists)
    assert any(len(t) >= 2 for t in tag_lists) and any(t == [] for t in tag_lists)


def test_build_is_fast():
    connection = sqlite3.connect(":memory:")
    start = time.perf_counter()
    build_demo(connection)
    assert time.perf_counter() - start < 1.0
    connection.close()


def test_build_commits_in_autocommit_mode(tmp_path):
    path = tmp_path / "auto.db"
    connection = sqlite3.connect(str(path), isolation_level=None)
    build_demo(connection)
    assert not connection.in_transaction
    connection.close()
    reader = sqlite3.connect(str(path))
    assert reader.execute("SELECT count(*) FROM books").fetchone()[0] > 0
    reader.close()


def test_build_is_one_transaction_that_rolls_back_on_error():
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE loans (x)")
    connection.commit()
    with pytest.raises(sqlite3.OperationalError):
        build_demo(connection)
    assert not connection.in_transaction
    assert user_tables(connection) == {"loans"}
    assert connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 1


def test_write_demo_file_creates_database(tmp_path):
    target = tmp_path / "demo.db"
    result = write_demo_file(str(target))
    assert result == target
    reader = sqlite3.connect(str(result))
    assert reader.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert user_tables(reader) == EXPECTED_TABLES
    assert reader.execute("SELECT count(*) FROM overdue_loans").fetchone()[0] > 0
    reader.close()


def test_write_demo_file_refuses_existing_file(tmp_path):
    target = tmp_path / "taken.db"
    target.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        write_demo_file(target)
    assert target.read_bytes() == b"precious"

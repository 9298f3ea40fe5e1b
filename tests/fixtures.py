"""Data for the tests: SQL and the functions that build real SQLite files from it."""

import sqlite3

SAMPLE_SQL = """
CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE books (
    id INTEGER PRIMARY KEY,
    title TEXT,
    author_id INTEGER REFERENCES authors(id),
    year INTEGER
);
CREATE INDEX books_author ON books(author_id);
CREATE TABLE tags (book_id INTEGER, tag TEXT, PRIMARY KEY (book_id, tag));
CREATE VIEW recent_books AS SELECT * FROM books WHERE year > 2000;
INSERT INTO authors VALUES (1, 'Ada'), (2, 'Grace');
INSERT INTO books VALUES (1, 'Engines', 1, 1843), (2, 'Compilers', 2, 2001), (3, 'Cobol', 2, 2005);
INSERT INTO tags VALUES (1, 'math'), (2, 'code'), (3, 'code');
"""


def make_sample_db(path, sql=SAMPLE_SQL):
    """Create a SQLite file at `path` holding the sample tables; returns the path."""
    conn = sqlite3.connect(str(path))
    try:
        conn.executescript(sql)
    finally:
        conn.close()
    return path


# The read-API fixture: one database holding the shapes that break naive code.
READ_API_SQL = """
CREATE TABLE simple_primary_key (id INTEGER PRIMARY KEY, content TEXT);
INSERT INTO simple_primary_key VALUES (1, 'hello'), (2, 'world'), (3, ''), (4, 'RENDER_CELL_DEMO'), (5, NULL);

CREATE TABLE compound_primary_key (pk1 TEXT, pk2 TEXT, content TEXT, PRIMARY KEY (pk1, pk2));
INSERT INTO compound_primary_key VALUES ('a', 'b', 'c'), ('a/b', '.c-d', 'c'), ('a~b', 'x,y', 'tilde and comma');

CREATE TABLE no_primary_key (content TEXT, a TEXT, b TEXT, c TEXT);
INSERT INTO no_primary_key VALUES ('1', 'a1', 'b1', 'c1'), ('2', 'a2', 'b2', 'c2'), ('3', 'a3', 'b3', 'c3');

CREATE TABLE untyped_pk (id, label);
INSERT INTO untyped_pk VALUES (1, 'one'), (2, 'two'), (10, 'ten'), ('x', 'text key');

CREATE TABLE states (code TEXT PRIMARY KEY, name TEXT);
INSERT INTO states VALUES ('CA', 'California'), ('MI', 'Michigan'), ('NY', 'New York');

CREATE TABLE cities (id INTEGER PRIMARY KEY, name TEXT, state TEXT REFERENCES states(code));
INSERT INTO cities VALUES (1, 'San Francisco', 'CA'), (2, 'Los Angeles', 'CA'), (3, 'Detroit', 'MI'), (4, 'Ann Arbor', 'MI'), (5, 'Nowhere', NULL);

CREATE TABLE places (
    pk INTEGER PRIMARY KEY,
    created TEXT,
    planet_int INTEGER,
    on_earth INTEGER,
    state TEXT,
    city_id INTEGER REFERENCES cities(id),
    neighborhood TEXT,
    tags TEXT,
    complex_array TEXT,
    distinct_some_null TEXT,
    n INTEGER
);
INSERT INTO places VALUES
 (1, '2019-01-14 08:00:00', 1, 1, 'CA', 1, 'Mission', '["tag1", "tag2"]', '[{"foo": "bar"}]', 'one', 1),
 (2, '2019-01-14 08:00:00', 1, 1, 'CA', 1, 'Dogpatch', '["tag1", "tag3"]', '[]', 'two', 1),
 (3, '2019-01-14 08:00:00', 1, 1, 'CA', 1, 'SOMA', '[]', '[]', NULL, 2),
 (4, '2019-01-14 08:00:00', 1, 1, 'CA', 1, 'Tenderloin', '[]', '[]', NULL, 2),
 (5, '2019-01-15 08:00:00', 1, 1, 'CA', 1, 'Bernal Heights', '[]', '[]', NULL, NULL),
 (6, '2019-01-15 08:00:00', 1, 1, 'CA', 1, 'Hayes Valley', '[]', '[]', NULL, NULL),
 (7, '2019-01-15 08:00:00', 1, 1, 'CA', 2, 'Hollywood', '[]', '[]', NULL, 3),
 (8, '2019-01-15 08:00:00', 1, 1, 'CA', 2, 'Downtown', '[]', '[]', NULL, 3),
 (9, '2019-01-16 08:00:00', 1, 1, 'CA', 2, 'Los Feliz', '[]', '[]', NULL, 3),
 (10, '2019-01-16 08:00:00', 1, 1, 'CA', 2, 'Koreatown', '[]', '[]', NULL, NULL),
 (11, '2019-01-16 08:00:00', 1, 1, 'MI', 3, 'Downtown', '[]', '[]', NULL, 4),
 (12, '2019-01-17 08:00:00', 1, 1, 'MI', 3, 'Greektown', '[]', '[]', NULL, 4),
 (13, '2019-01-17 08:00:00', 1, 1, 'MI', 3, 'Corktown', '[]', '[]', NULL, 5),
 (14, '2019-01-17 08:00:00', 1, 1, 'MI', 3, 'Mexicantown', '[]', '[]', NULL, 5),
 (15, '2019-01-17 08:00:00', 2, 0, 'MC', NULL, 'Arcadia Planitia', '[]', '[]', NULL, NULL);

CREATE TABLE compound_fk_target (a TEXT, b TEXT, label TEXT, PRIMARY KEY (a, b));
INSERT INTO compound_fk_target VALUES ('x', '1', 'first'), ('y', '2', 'second');
CREATE TABLE compound_fk_source (
    id INTEGER PRIMARY KEY, a TEXT, b TEXT,
    FOREIGN KEY (a, b) REFERENCES compound_fk_target(a, b)
);
INSERT INTO compound_fk_source VALUES (1, 'x', '1'), (2, 'y', '2');

CREATE TABLE binary_data (data BLOB);
INSERT INTO binary_data VALUES (X'FF00FF'), (X'414243'), (NULL);

CREATE TABLE [table/with/slashes.csv] (pk TEXT PRIMARY KEY, content TEXT);
INSERT INTO [table/with/slashes.csv] VALUES ('3', 'hey');

CREATE TABLE [select] ([group] TEXT, [having] TEXT, [and] TEXT, [json] TEXT);
INSERT INTO [select] VALUES ('group', 'having', 'and', '{"href": "http://example.com/", "label":"Example"}');

CREATE TABLE [unicode ✓ table] (id INTEGER PRIMARY KEY, [név] TEXT);
INSERT INTO [unicode ✓ table] VALUES (1, 'Árvíztűrő'), (2, '日本語');

CREATE TABLE searchable (pk INTEGER PRIMARY KEY, text1 TEXT, text2 TEXT, [name with . and spaces] TEXT);
INSERT INTO searchable VALUES (1, 'barry cat', 'terry dog', 'panther'), (2, 'terry dog', 'sara weasel', 'puma');
CREATE VIRTUAL TABLE searchable_fts USING FTS5 (text1, text2, [name with . and spaces], content="searchable", content_rowid="pk");
INSERT INTO searchable_fts (searchable_fts) VALUES ('rebuild');

CREATE TABLE docs4 (id INTEGER PRIMARY KEY, body TEXT);
INSERT INTO docs4 VALUES (1, 'the quick brown fox'), (2, 'lazy dog sleeps');
CREATE VIRTUAL TABLE docs4_fts USING FTS4 (body, content="docs4");
INSERT INTO docs4_fts (docid, body) SELECT id, body FROM docs4;

CREATE TABLE sortable (
    pk1 TEXT, pk2 TEXT, content TEXT, sortable INTEGER, sortable_with_nulls REAL,
    sortable_with_nulls_2 REAL, text TEXT, PRIMARY KEY (pk1, pk2)
);

CREATE TABLE infinity (value REAL);
INSERT INTO infinity VALUES (1e999), (-1e999), (1.5);

CREATE VIEW simple_view AS SELECT content, upper(content) AS upper_content FROM simple_primary_key;
CREATE VIEW paginated_view AS SELECT * FROM big;

CREATE TABLE big (id INTEGER PRIMARY KEY, value TEXT, category TEXT, score INTEGER);
"""


def _fill_sortable(conn):
    """201 rows with ties and NULLs in the sort columns, as keyset pagination must handle."""
    import random

    rng = random.Random(42)
    rows = []
    for i in range(201):
        pk1 = chr(97 + (i // 26) % 26)
        pk2 = chr(97 + i % 26) + str(i)
        rows.append(
            (
                pk1,
                pk2,
                f"{pk1}{pk2}",
                rng.randint(-5, 20),
                rng.choice([None, rng.randint(0, 30) / 3]),
                rng.choice([None, None, rng.random()]),
                rng.choice(["$null", "a,b", "~", "", "text", None]),
            )
        )
    conn.executemany("INSERT INTO sortable VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def make_read_api_db(path, big_rows=1001):
    """The read-API fixture database at `path`; `big` has `big_rows` rows to paginate."""
    conn = sqlite3.connect(str(path))
    try:
        conn.executescript(READ_API_SQL)
        _fill_sortable(conn)
        conn.executemany(
            "INSERT INTO big VALUES (?, ?, ?, ?)",
            (
                (i, f"value {i}", ["red", "green", "blue", None][i % 4], (i * 7) % 13)
                for i in range(1, big_rows + 1)
            ),
        )
        conn.commit()
    finally:
        conn.close()
    return path


READ_API_METADATA = {
    "title": "Read API fixtures",
    "license": "CC BY 4.0",
    "license_url": "https://creativecommons.org/licenses/by/4.0/",
    "source": "Tests",
    "source_url": "https://example.com/source",
    "databases": {
        "fixtures": {
            "description": "Fixtures for the read API",
            "tables": {
                "simple_primary_key": {"description_html": "Simple <em>primary</em> key"},
                "places": {
                    "title": "Places",
                    "facets": ["state", {"array": "tags"}],
                    "units": {"n": "m"},
                },
                "cities": {"label_column": "name"},
                "sortable": {"sortable_columns": ["sortable", "sortable_with_nulls", "sortable_with_nulls_2", "text"]},
                "big": {"size": 50, "sort_desc": "score"},
                "no_primary_key": {"hidden": True},
                "simple_view": {"description": "A view"},
            },
            "queries": {
                "pragma_cache_size": "PRAGMA cache_size;",
                "neighborhood_search": {
                    "sql": "select neighborhood, state from places where neighborhood like '%' || :text || '%' order by neighborhood",
                    "title": "Search neighborhoods",
                },
                "from_magic": "select :_header_user_agent as ua, :_now_date_utc as today",
                "add_city": {
                    "sql": "insert into cities (name, state) values (:name, :state)",
                    "write": True,
                    "on_success_message": "City added",
                },
            },
        }
    },
}

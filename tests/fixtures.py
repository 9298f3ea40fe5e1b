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

"""The built-in demo database: the lending records of an invented city library.

``datasette --demo`` serves this database, so there is something to explore without
bringing a data file. Everything in it is made up, generated here by code from small
word lists, and it comes out the same every time: the same seed, the same fixed dates.

The library system of the fictional city of Port Alder, as of 30 June 2024:

``branches``
    Eight branches with their neighborhood, opening date, map coordinates and web
    page. The Bookmobile has no fixed address, so its coordinates are NULL.
``authors``
    Authors from many countries, with names in several scripts (accented Latin, Greek,
    Cyrillic, Japanese, Korean, Hebrew, Arabic). Some birth years are unknown (NULL).
``books``
    Titles with genre, year, page count, ISBN, a cover image URL, a ``tags`` column
    holding a JSON array of strings (good for array facets) and a short summary.
``members``
    Library card holders, each with a home branch and a card type.
``loans``
    Who borrowed which book at which branch, when it was due and when it came back.
    ``returned`` is NULL for books still out.
``book_branches``
    How many copies of each book each branch holds; its primary key is the pair
    ``(book_id, branch_id)``.
``opening_hours``
    Weekly hours per branch. This table has no declared primary key, so its rows are
    identified by SQLite's ``rowid``. A branch closed on a day has NULL times.
``reading list``
    Books that members saved for later. Its name contains a space, as does its
    ``date added`` column, so both need quoting in SQL and escaping in URLs.
``books_fts``
    An FTS5 full-text index over book titles and summaries, kept in step with
    ``books`` by triggers. Try searching for ``lighthouse`` or ``cafe``.

Two views answer the usual questions: ``overdue_loans`` (loans not returned by the
demo's reference date, with days overdue) and ``popular_books`` (books ranked by the
number of times borrowed).
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import random
import sqlite3
from typing import Dict, List, Sequence, Tuple, Union

__all__ = [
    "DEMO_DATABASE_NAME",
    "DEMO_AS_OF",
    "build_demo",
    "write_demo_file",
]

DEMO_DATABASE_NAME = "demo"

# The demo's "today": used for overdue calculations instead of the real clock, so
# the data and the views give the same answers whenever they are run.
DEMO_AS_OF = "2024-06-30"

_SEED = 20240630
_AS_OF = datetime.date(2024, 6, 30)
_LOAN_PERIOD_DAYS = 21

_N_AUTHORS = 64
_N_BOOKS = 240
_N_MEMBERS = 200
_N_LOANS = 720
_N_READING_LIST = 90

_SCHEMA: Tuple[str, ...] = (
    """
    CREATE TABLE branches (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        neighborhood TEXT,
        opened TEXT NOT NULL,
        latitude REAL,
        longitude REAL,
        website TEXT
    )
    """,
    """
    CREATE TABLE authors (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        born INTEGER,
        country TEXT NOT NULL,
        homepage TEXT
    )
    """,
    """
    CREATE TABLE books (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        author_id INTEGER NOT NULL REFERENCES authors(id),
        year INTEGER,
        genre TEXT NOT NULL,
        pages INTEGER,
        isbn TEXT,
        cover_url TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        summary TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE members (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        joined TEXT NOT NULL,
        home_branch_id INTEGER NOT NULL REFERENCES branches(id),
        card_type TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE loans (
        id INTEGER PRIMARY KEY,
        book_id INTEGER NOT NULL REFERENCES books(id),
        member_id INTEGER NOT NULL REFERENCES members(id),
        branch_id INTEGER NOT NULL REFERENCES branches(id),
        borrowed TEXT NOT NULL,
        due TEXT NOT NULL,
        returned TEXT
    )
    """,
    """
    CREATE TABLE book_branches (
        book_id INTEGER NOT NULL REFERENCES books(id),
        branch_id INTEGER NOT NULL REFERENCES branches(id),
        copies INTEGER NOT NULL,
        PRIMARY KEY (book_id, branch_id)
    )
    """,
    """
    CREATE TABLE opening_hours (
        branch_id INTEGER NOT NULL REFERENCES branches(id),
        day TEXT NOT NULL,
        opens TEXT,
        closes TEXT
    )
    """,
    """
    CREATE TABLE "reading list" (
        id INTEGER PRIMARY KEY,
        member_id INTEGER NOT NULL REFERENCES members(id),
        book_id INTEGER NOT NULL REFERENCES books(id),
        "date added" TEXT NOT NULL,
        note TEXT
    )
    """,
    # Indexes on the foreign keys keep facet counts and joins fast in the UI.
    "CREATE INDEX idx_books_author_id ON books(author_id)",
    "CREATE INDEX idx_members_home_branch_id ON members(home_branch_id)",
    "CREATE INDEX idx_loans_book_id ON loans(book_id)",
    "CREATE INDEX idx_loans_member_id ON loans(member_id)",
    "CREATE INDEX idx_loans_branch_id ON loans(branch_id)",
    "CREATE INDEX idx_book_branches_branch_id ON book_branches(branch_id)",
    'CREATE INDEX "idx_reading list_member_id" ON "reading list"(member_id)',
    """
    CREATE VIRTUAL TABLE books_fts USING fts5(
        title, summary, content="books", content_rowid="id"
    )
    """,
    f"""
    CREATE VIEW overdue_loans AS
    SELECT
        loans.id AS loan_id,
        books.title AS book,
        members.name AS member,
        branches.name AS branch,
        loans.borrowed,
        loans.due,
        CAST(julianday('{DEMO_AS_OF}') - julianday(loans.due) AS INTEGER) AS days_overdue
    FROM loans
    JOIN books ON books.id = loans.book_id
    JOIN members ON members.id = loans.member_id
    JOIN branches ON branches.id = loans.branch_id
    WHERE loans.returned IS NULL AND loans.due < '{DEMO_AS_OF}'
    ORDER BY days_overdue DESC, loans.id
    """,
    """
    CREATE VIEW popular_books AS
    SELECT
        books.id AS book_id,
        books.title,
        authors.name AS author,
        books.genre,
        COUNT(loans.id) AS times_borrowed,
        MAX(loans.borrowed) AS last_borrowed
    FROM books
    JOIN authors ON authors.id = books.author_id
    JOIN loans ON loans.book_id = books.id
    GROUP BY books.id
    ORDER BY times_borrowed DESC, books.id
    """,
)

# Created after the bulk load, so the initial index is built once by 'rebuild'.
_TRIGGERS: Tuple[str, ...] = (
    # An external-content index goes stale silently when its table changes; these
    # triggers keep it correct if anyone edits the demo through a writable instance.
    """
    CREATE TRIGGER books_fts_ai AFTER INSERT ON books BEGIN
        INSERT INTO books_fts(rowid, title, summary)
        VALUES (new.id, new.title, new.summary);
    END
    """,
    """
    CREATE TRIGGER books_fts_ad AFTER DELETE ON books BEGIN
        INSERT INTO books_fts(books_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
    END
    """,
    """
    CREATE TRIGGER books_fts_au AFTER UPDATE ON books BEGIN
        INSERT INTO books_fts(books_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
        INSERT INTO books_fts(rowid, title, summary)
        VALUES (new.id, new.title, new.summary);
    END
    """,
)

# --- Word lists. All invented for this demo. ---------------------------------------

_BRANCHES: Tuple[Tuple[str, str, str, float, float], ...] = (
    # name, neighborhood, opened, latitude, longitude
    ("Central Library", "Old Harbor", "1908-04-14", 47.6062, -122.3321),
    ("Millbrook Branch", "Millbrook", "1954-09-01", 47.6615, -122.3137),
    ("Eastgate Branch", "Eastgate", "1967-03-20", 47.5801, -122.2890),
    ("Juniper Hill Branch", "Juniper Hill", "1972-11-05", 47.6390, -122.3890),
    ("Canal Street Branch", "Canal District", "1989-06-17", 47.6205, -122.3493),
    ("Bibliothèque Saint-Amand", "Saint-Amand Quarter", "2001-02-10", 47.5560, -122.3720),
    ("Northfield Branch", "Northfield", "2016-08-27", 47.7010, -122.3250),
)
_BOOKMOBILE = ("Bookmobile", None, "2019-05-04", None, None)

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# (country, given names, family names) for Latin-script names built by combination.
_NAME_POOLS: Tuple[Tuple[str, Tuple[str, ...], Tuple[str, ...]], ...] = (
    (
        "France",
        ("Hélène", "Étienne", "Margaux", "Loïc", "Céline"),
        ("Desrosiers", "Lefèvre", "Garnier", "Morel"),
    ),
    ("Spain", ("Inés", "Joaquín", "Lucía", "Álvaro"), ("Núñez", "Ortega", "Ibáñez", "Castillo")),
    (
        "Brazil",
        ("João", "Luíza", "Thiago", "Bárbara"),
        ("Gonçalves", "Araújo", "Figueiredo", "Brandão"),
    ),
    ("Vietnam", ("Lan", "Minh", "Thảo", "Quang"), ("Nguyễn", "Trần", "Phạm", "Lê")),
    ("Türkiye", ("Ayşe", "Emre", "Gülşen", "Barış"), ("Yılmaz", "Öztürk", "Çelik", "Aydın")),
    ("Norway", ("Sølvi", "Håkon", "Åse", "Bjørn"), ("Løvås", "Ødegård", "Haugen", "Strand")),
    (
        "Poland",
        ("Zofia", "Łukasz", "Małgorzata", "Paweł"),
        ("Wiśniewska", "Kowalczyk", "Zieliński", "Dąbrowski"),
    ),
    ("Nigeria", ("Chidinma", "Tunde", "Ngozi", "Emeka"), ("Okafor", "Adeyemi", "Eze", "Balogun")),
    (
        "Kenya",
        ("Wanjiru", "Otieno", "Akinyi", "Kamau"),
        ("Mwangi", "Odhiambo", "Njoroge", "Wambui"),
    ),
    ("India", ("Priya", "Arjun", "Kavya", "Rohan"), ("Raghavan", "Deshpande", "Iyer", "Malhotra")),
    (
        "Mexico",
        ("Ximena", "Rodrigo", "Guadalupe", "Iñaki"),
        ("Zúñiga", "Villaseñor", "Treviño", "Ramírez"),
    ),
    (
        "Ireland",
        ("Siobhán", "Ciarán", "Aoife", "Pádraig"),
        ("Ó Briain", "Mac Giolla", "Kavanagh", "Doyle"),
    ),
    (
        "United States",
        ("Maya", "Caleb", "Rosa", "Dwight"),
        ("Whitfield", "Brennan", "Holloway", "Park"),
    ),
    (
        "Canada",
        ("Geneviève", "Liam", "Noémie", "Tyler"),
        ("Tremblay", "Gagnon", "MacLeod", "Bouchard"),
    ),
)

# Whole names in non-Latin scripts, written in each language's usual order.
_NON_LATIN_AUTHORS: Tuple[Tuple[str, str], ...] = (
    ("山本 美咲", "Japan"),
    ("中村 健太", "Japan"),
    ("Σοφία Παππά", "Greece"),
    ("Νίκος Αντωνίου", "Greece"),
    ("Ольга Смирнова", "Russia"),
    ("Дмитрий Орлов", "Russia"),
    ("김지은", "South Korea"),
    ("נועה לוי", "Israel"),
    ("ليلى حداد", "Lebanon"),
)

_NON_LATIN_MEMBERS: Tuple[str, ...] = (
    "佐藤 陽菜",
    "王芳",
    "Ελένη Γεωργίου",
    "Анна Кузнецова",
    "박민준",
    "أحمد منصور",
    "יונתן כץ",
)

_GENRES: Tuple[str, ...] = (
    "Mystery",
    "Science Fiction",
    "Fantasy",
    "Literary Fiction",
    "Romance",
    "Historical Fiction",
    "Children's",
    "Poetry",
    "History",
    "Science",
    "Cookery",
    "Travel",
)

_TAGS: Tuple[str, ...] = (
    "award-winner",
    "book-club",
    "debut",
    "graphic",
    "large-print",
    "local-author",
    "series",
    "staff-pick",
    "translated",
)

_TITLE_ADJECTIVES: Tuple[str, ...] = (
    "Silent", "Crimson", "Hollow", "Borrowed", "Last", "Paper", "Winter", "Hidden",
    "Quiet", "Restless", "Amber", "Northern", "Salt", "Glass", "Velvet", "Distant",
    "Broken", "Golden", "Small", "Wandering",
)
_TITLE_NOUNS: Tuple[str, ...] = (
    "Harbor", "Orchard", "Lantern", "Archive", "Garden", "River", "Atlas", "Clockmaker",
    "Cartographer", "Kitchen", "Engine", "Meadow", "Observatory", "Ferry", "Tide",
    "Signal", "Map", "Bridge", "Island", "Letters",
)
_TITLE_PLACES: Tuple[str, ...] = (
    "Port Alder", "the Canal", "Juniper Hill", "the North Shore", "Saint-Amand",
    "the Salt Flats", "Old Harbor", "the Lower Town",
)
# Non-fiction genres and the subjects their titles and summaries are drawn from.
_NONFICTION_TOPICS: Dict[str, Tuple[str, ...]] = {
    "History": (
        "the spice trade",
        "river trade",
        "coastal railways",
        "mapmaking",
        "the harbor strikes",
    ),
    "Science": (
        "tidal ecology",
        "night skies",
        "bridge engineering",
        "urban beekeeping",
        "glassblowing",
    ),
    "Cookery": ("fermentation", "bread baking", "wild mushrooms", "street food", "preserving"),
    "Travel": (
        "the North Shore",
        "the salt flats",
        "island ferries",
        "mountain towns",
        "night trains",
    ),
}

_CHARACTERS: Tuple[str, ...] = (
    "a retired ferry pilot", "two estranged sisters", "a young beekeeper",
    "an apprentice cartographer", "a night-shift nurse", "a disgraced chef",
    "a stubborn botanist", "a teenage radio operator", "a widowed clockmaker",
    "an exiled poet", "a failed magician", "a small-town detective",
)
_PLOTS: Tuple[str, ...] = (
    "searches for a missing brother", "inherits a crumbling house",
    "uncovers a forged map", "keeps a promise made decades ago",
    "tries to save a failing bakery", "follows a trail of unsigned letters",
    "builds a boat from salvaged timber", "records the songs of a vanishing village",
    "solves a theft nobody reported", "falls for a rival",
)
_SETTINGS: Tuple[str, ...] = (
    "on a windswept island", "in a lighthouse at the edge of the map",
    "during the great flood of the river city", "in a mountain town cut off by snow",
    "along the old canal", "in a café that never closes", "aboard a night train",
    "in a crowded market quarter",
)
_CLOSERS: Tuple[str, ...] = (
    "A story about memory and second chances.",
    "Funny, tender and quietly devastating.",
    "Told in alternating voices.",
    "Includes maps and a glossary.",
    "The first in a planned trilogy.",
    "Short chapters, perfect for reading aloud.",
    "",
)
_NONFICTION_ANGLES: Tuple[str, ...] = (
    "A practical guide to", "An illustrated history of", "A field notebook on",
    "Essays about", "A beginner's introduction to",
)
_NONFICTION_DETAILS: Tuple[str, ...] = (
    "with photographs from the city archive.",
    "drawing on interviews with people who have spent their lives on it.",
    "written for curious readers of every age.",
    "from a lighthouse keeper's journal to modern laboratory notes.",
    "with a chapter on the café culture of the old port.",
)

_CARD_TYPES: Tuple[Tuple[str, int], ...] = (
    # card type, relative weight
    ("adult", 60),
    ("child", 15),
    ("student", 15),
    ("senior", 10),
)

_READING_NOTES: Tuple[str, ...] = (
    "recommended by a friend",
    "for book club",
    "saw it on the staff-pick shelf",
    "gift idea",
    "read before the author talk",
)

# A handful of hand-written books so the docs and tests have stable rows to point at.
_FIXED_BOOKS: Tuple[Tuple[str, str, str], ...] = (
    # title, genre, summary
    (
        "The Lighthouse Keeper's Almanac",
        "Literary Fiction",
        "A year in the life of the last lighthouse keeper of Port Alder, told through "
        "tide tables, weather notes and letters never sent.",
    ),
    (
        "Café Sol, Open Late",
        "Romance",
        "Two rival bakers share a café kitchen on the Canal Street night shift.",
    ),
    (
        "Port Alder: A Civic History",
        "History",
        "How a fishing village became a city of canals, ferries and public libraries.",
    ),
)


# --- Generation ----------------------------------------------------------------------


def _iso(day: datetime.date) -> str:
    return day.isoformat()


def _random_date(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randint(0, (end - start).days))


def _branch_rows() -> List[tuple]:
    rows = []
    for branch_id, (name, hood, opened, lat, lon) in enumerate(_BRANCHES + (_BOOKMOBILE,), 1):
        slug = "bookmobile" if hood is None else hood.lower().replace(" ", "-")
        website = f"https://library.example.org/branches/{slug}"
        rows.append((branch_id, name, hood, opened, lat, lon, website))
    return rows


def _latin_name(rng: random.Random) -> Tuple[str, str]:
    country, given, family = rng.choice(_NAME_POOLS)
    return f"{rng.choice(given)} {rng.choice(family)}", country


def _author_rows(rng: random.Random) -> List[tuple]:
    people: List[Tuple[str, str]] = list(_NON_LATIN_AUTHORS)
    seen = {name for name, _ in people}
    while len(people) < _N_AUTHORS:
        name, country = _latin_name(rng)
        if name not in seen:
            seen.add(name)
            people.append((name, country))
    rng.shuffle(people)
    rows = []
    for author_id, (name, country) in enumerate(people, 1):
        born = None if rng.random() < 0.12 else rng.randint(1921, 1996)
        homepage = (
            f"https://authors.example.org/{author_id}" if rng.random() < 0.6 else None
        )
        rows.append((author_id, name, born, country, homepage))
    return rows


def _title(rng: random.Random, topic: str) -> str:
    if topic:
        small = {"the", "of", "and"}
        subject = " ".join(
            w if (i and w in small) else w.capitalize() for i, w in enumerate(topic.split())
        )
        pattern = rng.randrange(3)
        if pattern == 0:
            return f"{subject}: {rng.choice(_TITLE_ADJECTIVES)} Chapters"
        if subject.startswith("The "):  # mid-title, as in "Notes on the Spice Trade"
            subject = "the" + subject[3:]
        if pattern == 1:
            return f"The {rng.choice(_TITLE_ADJECTIVES)} Guide to {subject}"
        return f"Notes on {subject} from {rng.choice(_TITLE_PLACES)}"
    adjective, noun = rng.choice(_TITLE_ADJECTIVES), rng.choice(_TITLE_NOUNS)
    pattern = rng.randrange(4)
    if pattern == 0:
        return f"The {adjective} {noun}"
    if pattern == 1:
        return f"The {noun} of {rng.choice(_TITLE_PLACES)}"
    if pattern == 2:
        return f"{adjective} {noun}, {rng.choice(_TITLE_ADJECTIVES)} {rng.choice(_TITLE_NOUNS)}"
    return f"A {noun} for the {adjective} Season"


def _summary(rng: random.Random, topic: str) -> str:
    if topic:
        return f"{rng.choice(_NONFICTION_ANGLES)} {topic}, {rng.choice(_NONFICTION_DETAILS)}"
    sentence = (
        f"{rng.choice(_CHARACTERS).capitalize()} {rng.choice(_PLOTS)} "
        f"{rng.choice(_SETTINGS)}."
    )
    closer = rng.choice(_CLOSERS)
    return f"{sentence} {closer}" if closer else sentence


def _isbn13(rng: random.Random) -> str:
    digits = [9, 7, 8] + [rng.randrange(10) for _ in range(9)]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits + [check]))


def _book_rows(rng: random.Random, authors: Sequence[tuple]) -> List[tuple]:
    specs: List[Tuple[str, str, str]] = list(_FIXED_BOOKS)
    titles = {title for title, _, _ in specs}
    while len(specs) < _N_BOOKS:
        genre = rng.choice(_GENRES)
        topic = rng.choice(_NONFICTION_TOPICS[genre]) if genre in _NONFICTION_TOPICS else ""
        title = _title(rng, topic)
        if title in titles:
            continue
        titles.add(title)
        specs.append((title, genre, _summary(rng, topic)))
    # Uneven weights give a few prolific authors, which makes the author facet useful.
    author_ids = [row[0] for row in authors]
    author_weights = [rng.paretovariate(2.0) for _ in authors]
    rows = []
    isbns = set()
    for book_id, (title, genre, summary) in enumerate(specs, 1):
        author_id = rng.choices(author_ids, author_weights)[0]
        born = authors[author_id - 1][2]
        # Nobody publishes before about twenty; unknown birth years get the full range.
        earliest = 1952 if born is None else max(1952, born + 20)
        year = None if rng.random() < 0.03 else rng.randint(earliest, 2024)
        low, high = (24, 64) if genre == "Children's" else (80, 720)
        pages = None if rng.random() < 0.05 else rng.randint(low, high)
        isbn = None
        if year is not None and year >= 1970 and rng.random() < 0.9:
            isbn = _isbn13(rng)
            while isbn in isbns:
                isbn = _isbn13(rng)
            isbns.add(isbn)
        cover = f"https://covers.example.org/{isbn}.jpg" if isbn else None
        tags = sorted(rng.sample(_TAGS, rng.choice((0, 0, 1, 1, 1, 2, 2, 3))))
        if genre == "Children's" and "large-print" in tags:
            tags.remove("large-print")
        rows.append(
            (book_id, title, author_id, year, genre, pages, isbn, cover,
             json.dumps(tags, ensure_ascii=False), summary)
        )
    return rows


def _member_rows(rng: random.Random, n_branches: int) -> List[tuple]:
    card_types = [card for card, _ in _CARD_TYPES]
    weights = [weight for _, weight in _CARD_TYPES]
    # The Bookmobile (last branch) is nobody's home branch: it has no counter.
    fixed_branches = list(range(1, n_branches))
    branch_weights = [5 if b == 1 else 2 for b in fixed_branches]
    rows = []
    for member_id in range(1, _N_MEMBERS + 1):
        if rng.random() < 0.08:
            name = rng.choice(_NON_LATIN_MEMBERS)
        else:
            name = _latin_name(rng)[0]
        joined = _random_date(rng, datetime.date(2008, 1, 1), datetime.date(2024, 5, 31))
        home = rng.choices(fixed_branches, branch_weights)[0]
        card = rng.choices(card_types, weights)[0]
        rows.append((member_id, name, _iso(joined), home, card))
    return rows


def _holding_rows(rng: random.Random, n_books: int, n_branches: int) -> List[tuple]:
    rows = []
    for book_id in range(1, n_books + 1):
        count = rng.choice((1, 1, 2, 2, 2, 3, 3, 4))
        # Most titles have a copy at Central (branch 1); the rest are spread around.
        branches = [1] if rng.random() < 0.7 else []
        branches += rng.sample(range(2, n_branches + 1), count - len(branches))
        for branch_id in sorted(branches):
            rows.append((book_id, branch_id, rng.choice((1, 1, 1, 2, 2, 3))))
    return rows


def _loan_rows(
    rng: random.Random,
    holdings: Sequence[tuple],
    members: Sequence[tuple],
) -> List[tuple]:
    branches_by_book: dict = {}
    for book_id, branch_id, _ in holdings:
        branches_by_book.setdefault(book_id, []).append(branch_id)
    book_ids = sorted(branches_by_book)
    # Some books are far more popular than others, which makes popular_books useful.
    book_weights = [rng.paretovariate(3.0) for _ in book_ids]
    start = datetime.date(2023, 1, 2)
    rows = []
    borrowed_days = sorted(_random_date(rng, start, _AS_OF) for _ in range(_N_LOANS))
    for loan_id, borrowed in enumerate(borrowed_days, 1):
        book_id = rng.choices(book_ids, book_weights)[0]
        member_id, _, joined, home_branch, _ = rng.choice(members)
        while joined > _iso(borrowed):  # nobody borrows before getting a card
            member_id, _, joined, home_branch, _ = rng.choice(members)
        held_at = branches_by_book[book_id]
        branch_id = home_branch if home_branch in held_at else rng.choice(held_at)
        due = borrowed + datetime.timedelta(days=_LOAN_PERIOD_DAYS)
        days_out = int(rng.triangular(1, 45, 14))
        returned_on = borrowed + datetime.timedelta(days=days_out)
        # Still out: anything not back by the reference date, plus a few lost books.
        if returned_on > _AS_OF or rng.random() < 0.02:
            returned = None
        else:
            returned = _iso(returned_on)
        rows.append((loan_id, book_id, member_id, branch_id, _iso(borrowed), _iso(due), returned))
    return rows


def _opening_hour_rows(rng: random.Random, n_branches: int) -> List[tuple]:
    rows = []
    # The Bookmobile keeps no fixed hours, so it gets no rows at all.
    for branch_id in range(1, n_branches):
        closed_day = "Sunday" if branch_id == 1 else rng.choice(("Sunday", "Monday"))
        late_day = rng.choice(_DAYS[:5])
        for day in _DAYS:
            if day == closed_day:
                rows.append((branch_id, day, None, None))
            elif day in ("Saturday", "Sunday"):
                rows.append((branch_id, day, "10:00", "17:00"))
            else:
                closes = "20:00" if day == late_day or branch_id == 1 else "18:00"
                rows.append((branch_id, day, "09:00", closes))
    return rows


def _reading_list_rows(rng: random.Random, members: Sequence[tuple], n_books: int) -> List[tuple]:
    rows = []
    seen = set()
    while len(rows) < _N_READING_LIST:
        member_id, _, joined, _, _ = rng.choice(members)
        book_id = rng.randint(1, n_books)
        if (member_id, book_id) in seen:
            continue
        seen.add((member_id, book_id))
        earliest = max(datetime.date.fromisoformat(joined), datetime.date(2022, 1, 1))
        added = _random_date(rng, earliest, _AS_OF)
        note = rng.choice(_READING_NOTES) if rng.random() < 0.35 else None
        rows.append((len(rows) + 1, member_id, book_id, _iso(added), note))
    return rows


def build_demo(conn: sqlite3.Connection) -> None:
    """Create and fill the demo schema on ``conn``, which should hold no such tables.

    All the work happens in one transaction: on success it is committed, on any
    error nothing is left behind. The output depends only on this module's code,
    never on the clock or on global random state.
    """
    rng = random.Random(_SEED)
    branches = _branch_rows()
    authors = _author_rows(rng)
    books = _book_rows(rng, authors)
    members = _member_rows(rng, len(branches))
    holdings = _holding_rows(rng, len(books), len(branches))
    loans = _loan_rows(rng, holdings, members)
    hours = _opening_hour_rows(rng, len(branches))
    reading = _reading_list_rows(rng, members, len(books))

    # A savepoint opens a transaction whatever the connection's isolation_level, and
    # statements are run one at a time because executescript() would commit early.
    conn.execute("SAVEPOINT build_demo")
    try:
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.executemany("INSERT INTO branches VALUES (?, ?, ?, ?, ?, ?, ?)", branches)
        conn.executemany("INSERT INTO authors VALUES (?, ?, ?, ?, ?)", authors)
        conn.executemany("INSERT INTO books VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", books)
        conn.executemany("INSERT INTO members VALUES (?, ?, ?, ?, ?)", members)
        conn.executemany("INSERT INTO book_branches VALUES (?, ?, ?)", holdings)
        conn.executemany("INSERT INTO loans VALUES (?, ?, ?, ?, ?, ?, ?)", loans)
        conn.executemany("INSERT INTO opening_hours VALUES (?, ?, ?, ?)", hours)
        conn.executemany('INSERT INTO "reading list" VALUES (?, ?, ?, ?, ?)', reading)
        conn.execute("INSERT INTO books_fts(books_fts) VALUES ('rebuild')")
        for statement in _TRIGGERS:
            conn.execute(statement)
    except BaseException:
        # Some errors (a full disk, say) make SQLite roll back everything itself,
        # savepoint included; unwinding it then would hide the original error.
        if conn.in_transaction:
            conn.execute("ROLLBACK TO build_demo")
            conn.execute("RELEASE build_demo")
        raise
    conn.execute("RELEASE build_demo")
    if conn.in_transaction:
        conn.commit()


def write_demo_file(path: Union[str, "os.PathLike[str]"]) -> pathlib.Path:
    """Write the demo database to a new SQLite file at ``path`` and return its path.

    Raises ``FileExistsError`` rather than touching a file that is already there.
    """
    target = pathlib.Path(path)
    # Exclusive creation makes the existence check and the claim on the name one step;
    # SQLite treats the empty file it leaves as an empty database.
    with open(target, "xb"):
        pass
    try:
        conn = sqlite3.connect(str(target))
        try:
            build_demo(conn)
        finally:
            conn.close()
    except BaseException:
        target.unlink()
        raise
    return target

"""datasette.utils text helpers: tilde encoding, CSS, SQL identifiers, FTS, display."""

import pytest

from datasette import utils


@pytest.mark.parametrize(
    "original,expected",
    [
        ("abc", "abc"),
        ("/foo/bar", "~2Ffoo~2Fbar"),
        ("/-/bar", "~2F-~2Fbar"),
        ("-/db-/table.csv", "-~2Fdb-~2Ftable~2Ecsv"),
        ("%~-/", "~25~7E-~2F"),
        ("~25~7E~2D~2F", "~7E25~7E7E~7E2D~7E2F"),
        ("with space", "with+space"),
        ("table/with/slashes.csv", "table~2Fwith~2Fslashes~2Ecsv"),
        ("extra database", "extra+database"),
        ("a,b", "a~2Cb"),
        ("caf\u00e9", "caf~C3~A9"),
        ("Under_score-Dash09", "Under_score-Dash09"),
    ],
)
def test_tilde_encode_and_round_trip(original, expected):
    assert utils.tilde_encode(original) == expected
    assert utils.tilde_decode(expected) == original


@pytest.mark.parametrize(
    "encoded,expected",
    [
        ("a%2Fb", "a%2Fb"),  # a literal percent is not a percent-escape
        ("100%", "100%"),
        ("~20x+y", " x y"),
        ("~E2~82~AC", "\u20ac"),
    ],
)
def test_tilde_decode(encoded, expected):
    assert utils.tilde_decode(encoded) == expected


@pytest.mark.parametrize(
    "name,expected",
    [
        ("shapes", "shapes"),
        ("dc_ward_boundaries", "dc_ward_boundaries"),
        ("sqlite-utils", "sqlite-utils"),
        ("-", "336d5e"),
        ("table/with/slashes.csv", "tablewithslashescsv-fa7563"),
        ("_neighborhood", "neighborhood-b352a7"),
        ("no spaces", "no-spaces-7088d7"),
    ],
)
def test_to_css_class(name, expected):
    assert utils.to_css_class(name) == expected


def test_to_css_class_output_is_a_valid_class():
    result = utils.to_css_class("  9 lives! ")
    assert result.startswith("9-lives-")
    assert len(result) == len("9-lives-") + 6
    assert all(c.isalnum() or c in "_-" for c in result)


@pytest.mark.parametrize(
    "s,expected",
    [
        ("plain text_ok-1", "plain text_ok-1"),
        ('say "hi"', "say \\000022hi\\000022"),
        ("back\\slash", "back\\00005Cslash"),
        ("it's", "it\\000027s"),
        ("line\r\nbreak", "line\\00000Abreak"),
        ("a\rb", "a\\00000Db"),
        ("</style>", "\\00003C\\00002Fstyle\\00003E"),
        ("\u00e9", "\\0000E9"),
    ],
)
def test_escape_css_string(s, expected):
    assert utils.escape_css_string(s) == expected


@pytest.mark.parametrize(
    "identifier,expected",
    [
        ("foo", "foo"),
        ("_foo_1", "_foo_1"),
        ("select", "[select]"),
        ("SELECT", "[SELECT]"),
        ("group", "[group]"),
        ("window", "[window]"),
        ("returning", "[returning]"),
        ("1abc", "[1abc]"),
        ("with space", "[with space]"),
        ("table/with/slashes.csv", "[table/with/slashes.csv]"),
        ("", "[]"),
    ],
)
def test_escape_sqlite(identifier, expected):
    assert utils.escape_sqlite(identifier) == expected


@pytest.mark.parametrize(
    "query,expected",
    [
        ("dog", '"dog"'),
        ("cat,", '"cat,"'),
        ("cat dog", '"cat" "dog"'),
        ('"cat dog"', '"cat dog"'),
        ('"cat dog" fish', '"cat dog" "fish"'),
        ('cat"', '"cat"'),
        ('"cat dog" "fish', '"cat dog" "fish"'),
        ("te* AND do*", '"te*" "AND" "do*"'),
        ('""', ""),
        ("  spaced   out  ", '"spaced" "out"'),
    ],
)
def test_escape_fts(query, expected):
    assert utils.escape_fts(query) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ("http://www.google.com/", True),
        ("https://example.com/", True),
        ("www.google.com", False),
        ("http://www.google.com/ is a search engine", False),
        ("ftp://example.com/", False),
        (None, False),
        (5, False),
    ],
)
def test_is_url(value, expected):
    assert utils.is_url(value) is expected


@pytest.mark.parametrize(
    "size,expected",
    [
        (0, "0 bytes"),
        (120, "120 bytes"),
        (1023, "1023 bytes"),
        (1024, "1.0 KB"),
        (1024 * 1024, "1.0 MB"),
        (1024 * 1024 * 1024, "1.0 GB"),
        (1024 * 1024 * 1024 * 1.3, "1.3 GB"),
        (1024 * 1024 * 1024 * 1024, "1.0 TB"),
        (1024**5, "1024.0 TB"),
    ],
)
def test_format_bytes(size, expected):
    assert utils.format_bytes(size) == expected


@pytest.mark.parametrize(
    "url,length,expected",
    [
        ("https://example.com/", 5, "http\u2026"),
        ("https://example.com/foo/bar", 15, "https://exampl\u2026"),
        ("https://example.com/foo/bar/baz.jpg", 30, "https://example.com/foo/ba\u2026.jpg"),
        ("https://example.com/foo/bar/baz.jpeg2", 30, "https://example.com/foo/bar/b\u2026"),
        ("https://example.com/foo/bar/baz.jpeg2", None, "https://example.com/foo/bar/baz.jpeg2"),
        ("https://example.com/", 100, "https://example.com/"),
    ],
)
def test_truncate_url(url, length, expected):
    assert utils.truncate_url(url, length) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ("on", True),
        ("ON", True),
        ("true", True),
        ("True", True),
        ("1", True),
        ("off", False),
        ("false", False),
        ("FALSE", False),
        ("0", False),
        (True, True),
        (False, False),
    ],
)
def test_value_as_boolean(value, expected):
    assert utils.value_as_boolean(value) is expected


@pytest.mark.parametrize("value", ["yes", "no", "", "2", "onn"])
def test_value_as_boolean_rejects_other_words(value):
    with pytest.raises(ValueError):
        utils.value_as_boolean(value)

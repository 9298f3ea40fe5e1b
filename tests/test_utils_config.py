"""datasette.utils configuration helpers: metadata parsing, secrets, -s pairs."""

import pytest

from datasette import utils
from datasette.utils import BadMetadataError


@pytest.mark.parametrize(
    "content,expected",
    [
        ('{"title": "Hello"}', {"title": "Hello"}),
        ("title: Hello", {"title": "Hello"}),
        ("databases:\n  fixtures:\n    title: F\n", {"databases": {"fixtures": {"title": "F"}}}),
        ("[1, 2]", [1, 2]),
    ],
)
def test_parse_metadata(content, expected):
    assert utils.parse_metadata(content) == expected


@pytest.mark.parametrize("content", ["{{ this should error }}", "a: b: c", "{'a': [}"])
def test_parse_metadata_invalid(content):
    with pytest.raises(BadMetadataError) as e:
        utils.parse_metadata(content)
    assert str(e.value) == "Metadata is not valid JSON or YAML"


def test_resolve_env_secrets(tmp_path):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("file-secret\n")
    config = {
        "plain": "value",
        "from_env": {"$env": "FOO"},
        "missing_env": {"$env": "NOT_SET"},
        "from_file": {"$file": str(secret_file)},
        "nested": {"list": [{"$env": "BAR"}, "x", 3, {"deeper": {"$env": "FOO"}}]},
        "not_a_reference": {"$env": "FOO", "other": 1},
    }
    environ = {"FOO": "foo-secret", "BAR": "bar-secret"}
    resolved = utils.resolve_env_secrets(config, environ)
    assert resolved == {
        "plain": "value",
        "from_env": "foo-secret",
        "missing_env": None,
        "from_file": "file-secret\n",
        "nested": {"list": ["bar-secret", "x", 3, {"deeper": "foo-secret"}]},
        "not_a_reference": {"$env": "FOO", "other": 1},
    }
    # A copy: the input still holds the references
    assert config["from_env"] == {"$env": "FOO"}


def test_resolve_env_secrets_scalars_pass_through():
    assert utils.resolve_env_secrets("x", {}) == "x"
    assert utils.resolve_env_secrets(None, {}) is None
    assert utils.resolve_env_secrets([1, {"$env": "A"}], {"A": "a"}) == [1, "a"]


@pytest.mark.parametrize(
    "pairs,expected",
    [
        ([("a", "b")], {"a": "b"}),
        ([("a.b", "c")], {"a": {"b": "c"}}),
        ([("a.b", "1"), ("a.c", "x")], {"a": {"b": 1, "c": "x"}}),
        ([("a", "1")], {"a": 1}),
        ([("a", "1.1")], {"a": 1.1}),
        ([("a", "true")], {"a": True}),
        ([("a", "null")], {"a": None}),
        ([("a", "[1, 2]")], {"a": [1, 2]}),
        ([("a", '{"foo": "bar"}')], {"a": {"foo": "bar"}}),
        ([("a", '"quoted"')], {"a": "quoted"}),
        ([("a", '{"broken"')], {"a": '{"broken"'}),
        ([("a", "b"), ("a", "c")], {"a": "c"}),
        ([("a.b", "c"), ("a", "d")], {"a": "d"}),
        ([("a", "d"), ("a.b", "c")], {"a": {"b": "c"}}),
        ([("a", '{"x": 1}'), ("a.y", "2")], {"a": {"x": 1, "y": 2}}),
        (
            [("settings.default_page_size", "5"), ("plugins.foo.bar.baz", "on")],
            {"settings": {"default_page_size": 5}, "plugins": {"foo": {"bar": {"baz": "on"}}}},
        ),
        ([], {}),
    ],
)
def test_pairs_to_nested_config(pairs, expected):
    assert utils.pairs_to_nested_config(pairs) == expected

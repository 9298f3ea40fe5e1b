"""Reading configuration: metadata files, `$env`/`$file` secrets, `-s key value` pairs."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Mapping

from datasette.exceptions import BadMetadataError

from .calling import documented

__all__ = ["parse_metadata", "resolve_env_secrets", "pairs_to_nested_config"]


@documented
def parse_metadata(content: str) -> Any:
    """Parse metadata or configuration text that may be JSON or YAML.

    JSON is tried first (it is also YAML, but JSON parsing is stricter and faster); then
    YAML with `safe_load`. Neither -> `BadMetadataError("Metadata is not valid JSON or YAML")`.
    """
    try:
        return json.loads(content)
    except json.JSONDecodeError:
        pass
    import yaml  # only for text that is not JSON: ~10 ms to import, needed by few starts

    try:
        return yaml.safe_load(content)
    except yaml.YAMLError as e:
        raise BadMetadataError("Metadata is not valid JSON or YAML") from e


def _single_key(value: Mapping, key: str) -> bool:
    """True when `value` is a dict whose only key is `key`."""
    return len(value) == 1 and key in value


def resolve_env_secrets(config: Any, environ: Mapping[str, str]) -> Any:
    """A copy of `config` with secret references replaced by the secrets.

    `{"$env": "NAME"}` becomes `environ.get("NAME")` (None when unset) and
    `{"$file": "path"}` the full text of that file. Only dicts with exactly that one key
    are references; other dicts and lists are copied with their contents resolved.
    """
    if isinstance(config, dict):
        if _single_key(config, "$env"):
            return environ.get(config["$env"])
        if _single_key(config, "$file"):
            with open(config["$file"], encoding="utf-8") as fp:
                return fp.read()
        return {key: resolve_env_secrets(value, environ) for key, value in config.items()}
    if isinstance(config, list):
        return [resolve_env_secrets(value, environ) for value in config]
    return config


def _decode_value(value: Any) -> Any:
    """A `-s` value as JSON when it is valid JSON (`5`, `true`, `[1]`), else as given."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def deep_merge(base: dict, update: dict) -> dict:
    """Merge `update` into `base` in place: dicts merge key by key, anything else replaces."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def merge_dicts(values: Iterable[Any], refuse: Callable[[Any], Exception]) -> dict:
    """The dicts among `values` merged in order (later keys win), skipping None.

    Any other value raises `refuse(value)`: the caller says what was expected where.
    """
    merged: dict = {}
    for value in values:
        if value is None:
            continue
        if not isinstance(value, dict):
            raise refuse(value)
        merged.update(value)
    return merged


def pairs_to_nested_config(pairs: Iterable[tuple]) -> dict:
    """Build a config dict from `(dotted.key, value)` pairs, as given by `-s KEY VALUE`.

    `[("a.b", "1"), ("a.c", "x")]` -> `{"a": {"b": 1, "c": "x"}}`. Values are
    JSON-decoded when valid JSON. Later pairs win; a dict value merges into an existing
    dict at the same place rather than replacing it.
    """
    result: dict = {}
    for key, value in pairs:
        *parents, leaf = key.split(".")
        nested: dict = {leaf: _decode_value(value)}
        for parent in reversed(parents):
            nested = {parent: nested}
        deep_merge(result, nested)
    return result

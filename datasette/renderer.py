"""Rows to JSON: `_shape`, `_json` columns, infinities, `_nl`. Data in, `Response` out."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Iterable, Optional

from .utils import CustomJSONEncoder
from .utils.asgi import Response

if TYPE_CHECKING:
    from .app import Datasette
    from .utils.asgi import Request

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


def json_dumps(data: Any, infinity: bool = False) -> str:
    """JSON text of view data (rows, bytes and all).

    Infinite floats become `null` unless `infinity` is set (then `Infinity`). The common
    case, no infinities at all, costs one strict encoding pass; only when that fails is
    the data walked to replace them.
    """
    try:
        return _STRICT_ENCODER.encode(data)
    except ValueError:
        if infinity:
            return _ENCODER.encode(data)
        return _ENCODER.encode(_without_infinities(data))


# Built once: `json.dumps(..., cls=...)` builds an encoder for every call. Encoders keep
# no state between calls, so one instance serves every request.
_STRICT_ENCODER = CustomJSONEncoder(allow_nan=False)
_ENCODER = CustomJSONEncoder()


def _without_infinities(value: Any) -> Any:
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        return None
    if isinstance(value, dict):
        return {k: _without_infinities(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_infinities(v) for v in value]
    return value


def wants_infinity(request: Request) -> bool:
    """`?_json_infinity=on|true|1`: emit infinite floats as `Infinity`."""
    return request is not None and request.args.get("_json_infinity") in ("on", "true", "1")


def _json_decoder(request: Request):
    """A function decoding the `?_json=` columns' string values, or None when none asked."""
    json_columns = set(request.args.getlist("_json"))
    if not json_columns:
        return None

    def convert(column: str, value: Any) -> Any:
        if column in json_columns and isinstance(value, str):
            try:
                return json.loads(value)
            except (ValueError, RecursionError):  # not JSON, or nested past the parser
                return value
        return value

    return convert


def rows_as_objects(columns: list, rows: list, request: Request) -> list:
    """Rows as `{column: value}` dicts, `?_json=` columns decoded."""
    convert = _json_decoder(request)
    if convert is None:
        return [dict(zip(columns, row)) for row in rows]
    return [{c: convert(c, v) for c, v in zip(columns, row)} for row in rows]


def rows_as_arrays(columns: list, rows: list, request: Request) -> list:
    """Rows as lists of values, `?_json=` columns decoded."""
    convert = _json_decoder(request)
    if convert is None:
        return [list(row) for row in rows]
    return [[convert(c, v) for c, v in zip(columns, row)] for row in rows]


def json_response(
    datasette: Datasette,
    body: Any,
    status: int = 200,
    headers: Optional[dict] = None,
    request: Optional[Request] = None,
) -> Response:
    """A JSON `Response` (the router adds CORS headers where the route wants them)."""
    headers = dict(headers or {})
    return Response(
        json_dumps(body, infinity=wants_infinity(request)),
        status=status,
        content_type=JSON_CONTENT_TYPE,
        headers=headers,
    )


def newline_delimited(
    datasette: Datasette, objects: list, headers: Optional[dict] = None, request: Optional[Request] = None
) -> Response:
    """`_shape=array&_nl=on`: one JSON object per line, as text/plain."""
    headers = dict(headers or {})
    text = "\n".join(json_dumps(item, infinity=wants_infinity(request)) for item in objects)
    return Response(text, content_type="text/plain; charset=utf-8", headers=headers)


def list_shape_response(
    datasette: Datasette,
    request: Request,
    shape: str,
    columns: list,
    rows: list,
    headers: Optional[dict] = None,
) -> Optional[Response]:
    """The answer for the list shapes, `arrayfirst` and `array` (`_nl` for one per line);
    None for the other shapes, which each page builds itself."""
    if shape == "arrayfirst":
        return json_response(datasette, [row[0] for row in rows], headers=headers, request=request)
    if shape != "array":
        return None
    objects = rows_as_objects(columns, rows, request)
    if request.args.get("_nl"):
        return newline_delimited(datasette, objects, headers=headers, request=request)
    return json_response(datasette, objects, headers=headers, request=request)


def render_json(
    datasette: Datasette, columns: list, rows: list, request: Request, truncated: bool = False
) -> Response:
    """The built-in JSON renderer: `{"ok": true, "rows": [...], "truncated": ...}`."""
    return json_response(
        datasette,
        {"ok": True, "rows": rows_as_objects(columns, rows, request), "truncated": truncated},
        request=request,
    )


def collect_renderers(hook_results: Iterable) -> dict:
    """`{extension: (render, can_render)}` from the `register_output_renderer` answers,
    later ones replacing earlier.

    The caller runs the hook: this module turns data into responses and does not know
    the plugin manager (whose default plugins answer errors through this module).
    """
    # JSON is built in; views answer `.json` themselves, this entry serves code that
    # looks renderers up by extension.
    renderers: dict = {"json": (render_json, lambda: True)}
    for hook_result in hook_results:
        items = hook_result if isinstance(hook_result, list) else [hook_result]
        for item in items:
            if not item:
                continue
            render = item.get("render") or item.get("callback")
            renderers[item["extension"]] = (render, item.get("can_render") or (lambda: True))
    return renderers

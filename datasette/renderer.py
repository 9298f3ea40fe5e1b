"""Rows to JSON: `_shape`, `_json` columns, infinities, `_nl`. Data in, `Response` out."""

from __future__ import annotations

import json
import math
from typing import Any, Optional

from .utils import CustomJSONEncoder, add_cors_headers
from .utils.asgi import Response

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


def json_dumps(data: Any) -> str:
    """JSON text of view data (rows, bytes and all)."""
    return json.dumps(data, cls=CustomJSONEncoder)


def cell_converter(request: Any):
    """A function `(column, value) -> value` applying `_json=` and `_json_infinity`."""
    json_columns = set(request.args.getlist("_json"))
    infinity = request.args.get("_json_infinity") in ("on", "true", "1")

    def convert(column: str, value: Any) -> Any:
        if json_columns and column in json_columns and isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        if isinstance(value, float) and math.isinf(value) and not infinity:
            return None
        if isinstance(value, dict) and "value" in value and "label" in value:
            return value
        return value

    return convert


def rows_as_objects(columns: list, rows: list, request: Any) -> list:
    convert = cell_converter(request)
    return [{c: convert(c, v) for c, v in zip(columns, row)} for row in rows]


def rows_as_arrays(columns: list, rows: list, request: Any) -> list:
    convert = cell_converter(request)
    return [[convert(c, v) for c, v in zip(columns, row)] for row in rows]


def json_response(
    datasette: Any, body: Any, status: int = 200, headers: Optional[dict] = None
) -> Response:
    """A JSON `Response` with CORS headers when the instance sends them."""
    headers = dict(headers or {})
    if datasette.cors:
        add_cors_headers(headers)
    return Response(json_dumps(body), status=status, content_type=JSON_CONTENT_TYPE, headers=headers)


def newline_delimited(
    datasette: Any, objects: list, headers: Optional[dict] = None
) -> Response:
    """`_shape=array&_nl=on`: one JSON object per line, as text/plain."""
    headers = dict(headers or {})
    if datasette.cors:
        add_cors_headers(headers)
    text = "\n".join(json_dumps(item) for item in objects)
    return Response(text, content_type="text/plain; charset=utf-8", headers=headers)


def collect_renderers(datasette: Any) -> dict:
    """`{extension: (render, can_render)}` from every plugin, later ones replacing earlier."""
    from .plugins import pm

    renderers: dict = {}
    for hook_result in pm.hook.register_output_renderer(datasette=datasette):
        items = hook_result if isinstance(hook_result, list) else [hook_result]
        for item in items:
            if not item:
                continue
            render = item.get("render") or item.get("callback")
            renderers[item["extension"]] = (render, item.get("can_render") or (lambda: True))
    return renderers

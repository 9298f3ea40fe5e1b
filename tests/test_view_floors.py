"""The read views stand in floors (`datasette/views/__init__.py`), read from source with `ast`.

A view module imports other views only from floors below it, so JSON and CSV answers
never load an HTML page module, and no two views import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Set

VIEWS_DIR = Path(__file__).resolve().parent.parent / "datasette" / "views"

FLOORS = {
    "table_args": 1,
    "chrome": 1,
    "cells": 1,
    "renderers": 1,
    "page_data": 2,
    "table_extras": 3,
    "csv": 3,
    "table_html": 4,
    "row_html": 4,
    "query_html": 4,
    "database_html": 4,
    "index_html": 4,
    "query": 5,
    "table": 6,
    "row": 6,
    "database": 6,
    "index": 6,
    "download": 6,
}

HTML_MODULES = {name for name in FLOORS if name.endswith("_html")}


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def view_imports(path: Path) -> Set[str]:
    """Sibling view modules `path` imports anywhere (functions too), TYPE_CHECKING aside."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(child) for node in ast.walk(tree) if _is_type_checking(node) for child in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped or not isinstance(node, ast.ImportFrom) or node.level != 1:
            continue
        if node.module:
            found.add(node.module.split(".")[0])
        else:
            found.update(alias.name for alias in node.names)
    return found


def view_graph() -> Dict[str, Set[str]]:
    return {name: view_imports(VIEWS_DIR / f"{name}.py") for name in FLOORS}


def reachable(graph: Dict[str, Set[str]], start: str) -> Set[str]:
    seen: Set[str] = set()
    todo = [start]
    while todo:
        for target in graph.get(todo.pop(), set()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_every_floor_module_exists():
    missing = [name for name in FLOORS if not (VIEWS_DIR / f"{name}.py").exists()]
    assert missing == []


def test_views_import_only_from_floors_below():
    graph = view_graph()
    upward = [
        f"{source} (floor {FLOORS[source]}) imports {target} (floor {FLOORS[target]})"
        for source, targets in sorted(graph.items())
        for target in sorted(targets)
        if target in FLOORS and FLOORS[target] >= FLOORS[source]
    ]
    assert upward == []


def test_json_and_csv_never_load_an_html_module():
    graph = view_graph()
    for module in ("page_data", "table_extras", "csv", "renderers", "cells", "chrome"):
        assert reachable(graph, module) & HTML_MODULES == set(), module


def test_the_graph_reader_sees_deferred_imports(tmp_path):
    # A deferred import still ties two modules; one under TYPE_CHECKING does not.
    path = tmp_path / "m.py"
    path.write_text(
        "from typing import TYPE_CHECKING\n"
        "from .chrome import render_page\n"
        "if TYPE_CHECKING:\n"
        "    from .table import TablePage\n"
        "def f():\n"
        "    from .row_html import render_row_html\n"
        "    from . import cells\n"
    )
    assert view_imports(path) == {"chrome", "row_html", "cells"}

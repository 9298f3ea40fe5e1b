"""The shape of the `datasette` package, read from its source with `ast` (issue 16).

- No import cycle among its modules. Imports inside functions count (a deferred import
  still ties two modules together); imports under `if TYPE_CHECKING:` do not.
- No function over 80 lines unless its docstring says why ("long because ...").
- Every import inside a function says why it is there, in a comment on its line or on
  the line before.

The first tests check the graph builder itself on a small package written to `tmp_path`.
"""

from __future__ import annotations

import ast
import io
import subprocess
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "datasette"
MAX_FUNCTION_LINES = 80
LONG_REASON = "long because"


# -- reading the package --------------------------------------------------------------------


def module_files(package_dir: Path) -> Dict[str, Path]:
    """`{dotted module name: file}` for every `.py` file below `package_dir`."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def walk_imports(tree: ast.AST) -> Iterator[Tuple[ast.stmt, bool]]:
    """Every import statement as `(node, inside_a_function)`, skipping `if TYPE_CHECKING:`."""

    def visit(node: ast.AST, in_function: bool) -> Iterator[Tuple[ast.stmt, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, in_function
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for orelse in child.orelse:
                    yield from visit(ast.Module(body=[orelse], type_ignores=[]), in_function)
            else:
                nested = in_function or isinstance(
                    child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
                )
                yield from visit(child, nested)

    yield from visit(tree, False)


@dataclass
class ImportGraph:
    """Edges between modules of one package, each with the lines that make it."""

    edges: Dict[str, Set[str]] = field(default_factory=dict)
    lines: Dict[Tuple[str, str], List[int]] = field(default_factory=dict)

    def add(self, source: str, target: str, line: int) -> None:
        if source == target:
            return
        self.edges.setdefault(source, set()).add(target)
        self.lines.setdefault((source, target), []).append(line)


def _known(name: str, modules: Dict[str, Path]) -> Optional[str]:
    """The longest prefix of dotted `name` that is a module of the package."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _import_targets(
    node: ast.stmt, module: str, is_package: bool, modules: Dict[str, Path]
) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            target = _known(alias.name, modules)
            if target:
                yield target
        return
    assert isinstance(node, ast.ImportFrom)
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - (node.level - 1)]
        base = ".".join(anchor + ([base] if base else []))
    for alias in node.names:
        # `from package import module` imports the module; otherwise the name comes
        # from `base` itself
        submodule = f"{base}.{alias.name}" if base else alias.name
        target = submodule if submodule in modules else _known(base, modules)
        if target:
            yield target


def build_import_graph(package_dir: Path) -> ImportGraph:
    """The import graph of the package in `package_dir`, deferred imports included.

    Only import statements count. The plugin manager's loading of the default plugins
    by name (`importlib.import_module`) does not: it runs on the manager's first use,
    after every module has finished importing, as an installed plugin's entry point does.
    """
    modules = module_files(package_dir)
    graph = ImportGraph()
    for module, path in modules.items():
        graph.edges.setdefault(module, set())
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"
        for node, _ in walk_imports(tree):
            for target in _import_targets(node, module, is_package, modules):
                graph.add(module, target, node.lineno)
                for package in _packages_run_first(module, target, modules):
                    graph.add(module, package, node.lineno)
    return graph


def _packages_run_first(module: str, target: str, modules: Dict[str, Path]) -> List[str]:
    """The packages whose `__init__` importing `target` runs before it: its parent
    packages, except those `module` itself sits in (they are already importing)."""
    own = module.split(".")
    parts = target.split(".")
    found = []
    for depth in range(1, len(parts)):
        package = ".".join(parts[:depth])
        if parts[:depth] != own[:depth] and package in modules and package != target:
            found.append(package)
    return found


def strongly_connected(edges: Dict[str, Set[str]]) -> List[List[str]]:
    """Tarjan's algorithm: the groups of modules that import each other, largest first."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    groups: List[List[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return sorted((g for g in groups if len(g) > 1), key=lambda g: (-len(g), g))


def one_cycle(group: List[str], edges: Dict[str, Set[str]]) -> List[str]:
    """A shortest cycle through the first module of a strongly connected `group`."""
    start = group[0]
    members = set(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(edges.get(node, ()) & members):
                if target == start:
                    return paths[node] + [start]
                if target not in paths:
                    paths[target] = paths[node] + [target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"{group} is not a cycle")


def describe_cycles(graph: ImportGraph) -> List[str]:
    """One line per import cycle: the modules in order, each step with its line numbers."""
    described = []
    for group in strongly_connected(graph.edges):
        cycle = one_cycle(group, graph.edges)
        steps = [cycle[0]]
        for source, target in zip(cycle, cycle[1:]):
            where = ",".join(str(n) for n in sorted(set(graph.lines[(source, target)])))
            steps.append(f"-(line {where})-> {target}")
        extra = f" [{len(group)} modules tied: {', '.join(group)}]" if len(group) > 2 else ""
        described.append(" ".join(steps) + extra)
    return described


# -- functions and their imports ----------------------------------------------------------


@dataclass
class FunctionInfo:
    module_path: Path
    name: str
    line: int
    length: int
    docstring: str


def functions(path: Path) -> Iterator[FunctionInfo]:
    """Every function and method in `path`, nested ones too, with its qualified name."""
    tree = ast.parse(path.read_text(), str(path))

    def visit(node: ast.AST, prefix: str) -> Iterator[FunctionInfo]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                assert child.end_lineno is not None
                yield FunctionInfo(
                    path,
                    name,
                    child.lineno,
                    child.end_lineno - child.lineno + 1,
                    ast.get_docstring(child) or "",
                )
                yield from visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.")
            else:
                yield from visit(child, prefix)

    yield from visit(tree, "")


def long_functions(package_dir: Path) -> List[str]:
    """`file:line name (N lines)` for each function over the limit without a reason."""
    found = []
    for path in module_files(package_dir).values():
        for info in functions(path):
            if info.length > MAX_FUNCTION_LINES and LONG_REASON not in info.docstring.lower():
                where = path.relative_to(package_dir.parent)
                found.append(f"{where}:{info.line} {info.name} ({info.length} lines)")
    return found


def comment_lines(source: str) -> Set[int]:
    """Line numbers that hold a `#` comment."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {token.start[0] for token in tokens if token.type == tokenize.COMMENT}


def unexplained_deferred_imports(package_dir: Path) -> List[str]:
    """`file:line import ...` for each import inside a function with no comment beside it."""
    found = []
    for path in module_files(package_dir).values():
        source = path.read_text()
        commented = comment_lines(source)
        tree = ast.parse(source, str(path))
        for node, in_function in walk_imports(tree):
            if in_function and not commented & {node.lineno, node.lineno - 1}:
                where = path.relative_to(package_dir.parent)
                found.append(f"{where}:{node.lineno} {ast.unparse(node)}")
    return found


# -- the builder on a package whose shape is known ----------------------------------------


@pytest.fixture
def toy_package(tmp_path):
    """`toy/`: a -> b -> c -> a (c's import deferred), d only under TYPE_CHECKING;
    `e` loads d by name through `importlib`, which is not an import statement."""
    root = tmp_path / "toy"
    (root / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from . import b\nimport os\n",
        "b.py": "from .sub.c import thing\n",
        "sub/__init__.py": "",
        "sub/c.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from ..d import D\n"
            "def thing():\n"
            "    from toy.a import x\n"
            "    return x\n"
        ),
        "d.py": "import toy.sub.c\n",
        "e.py": (
            "import importlib\n"
            "NAMES = ('toy.d',)\n"
            "def load():\n"
            "    return [importlib.import_module(n) for n in NAMES]\n"
        ),
    }
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_graph_resolves_relative_absolute_and_package_imports(toy_package):
    graph = build_import_graph(toy_package)
    assert graph.edges["toy.a"] == {"toy.b"}  # `from . import b` is the module b
    # `from .sub.c import thing` runs toy/sub/__init__.py first
    assert graph.edges["toy.b"] == {"toy.sub.c", "toy.sub"}
    assert graph.edges["toy.sub.c"] == {"toy.a"}  # deferred import counts; d does not
    assert graph.edges["toy.d"] == {"toy.sub.c", "toy.sub"}
    assert graph.edges["toy.e"] == set()  # loading by name is not an import statement
    assert graph.lines[("toy.sub.c", "toy.a")] == [5]


def test_a_package_init_on_the_way_is_part_of_the_graph(tmp_path):
    # a -> pkg.leaf runs pkg/__init__.py, which imports pkg.service, which imports a:
    # `import a` first fails although no module imports another in a circle directly
    root = tmp_path / "top"
    (root / "pkg").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from .pkg.leaf import X\nthing = 1\n",
        "pkg/__init__.py": "from .service import S\n",
        "pkg/leaf.py": "X = 1\n",
        "pkg/service.py": "from ..a import thing\nS = thing\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    graph = build_import_graph(root)
    assert graph.edges["top.a"] == {"top.pkg.leaf", "top.pkg"}
    assert graph.edges["top.pkg.service"] == {"top.a"}  # its own package is already running
    assert strongly_connected(graph.edges) == [["top.a", "top.pkg", "top.pkg.service"]]


def test_graph_reports_the_cycle_with_its_lines(toy_package):
    graph = build_import_graph(toy_package)
    assert strongly_connected(graph.edges) == [["toy.a", "toy.b", "toy.sub.c"]]
    assert describe_cycles(graph) == [
        "toy.a -(line 1)-> toy.b -(line 1)-> toy.sub.c -(line 5)-> toy.a "
        "[3 modules tied: toy.a, toy.b, toy.sub.c]"
    ]


def test_long_and_unexplained_finders(tmp_path):
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    body = "".join(f"    x{i} = {i}\n" for i in range(80))
    (root / "m.py").write_text(
        f"def too_long():\n{body}\n"
        f'def explained():\n    """Long because it lists every case."""\n{body}\n'
        "def short():\n    import json  # only this path needs it\n    # a reason\n"
        "    import os\n    import re\n"
    )
    assert long_functions(root) == ["pkg/m.py:1 too_long (81 lines)"]
    assert unexplained_deferred_imports(root) == ["pkg/m.py:170 import re"]


# -- the package itself ---------------------------------------------------------------------


def test_no_import_cycles():
    cycles = describe_cycles(build_import_graph(PACKAGE_DIR))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_function_over_80_lines_without_a_reason():
    found = long_functions(PACKAGE_DIR)
    assert not found, (
        f"functions over {MAX_FUNCTION_LINES} lines whose docstring does not say "
        f"'{LONG_REASON}':\n" + "\n".join(found)
    )


def test_every_deferred_import_says_why():
    found = unexplained_deferred_imports(PACKAGE_DIR)
    assert not found, (
        "imports inside functions without a comment on their line or the line before:\n"
        + "\n".join(found)
    )


def test_views_never_import_the_app():
    # Views are handed `datasette` and `request`; importing datasette.app would tie every
    # page to the whole application and, through it, to every other view.
    graph = build_import_graph(PACKAGE_DIR)
    offenders = [
        f"{module} (line {','.join(map(str, graph.lines[(module, 'datasette.app')]))})"
        for module, targets in sorted(graph.edges.items())
        if module.startswith("datasette.views") and "datasette.app" in targets
    ]
    assert not offenders, "views importing datasette.app: " + ", ".join(offenders)


def test_importing_the_app_leaves_httpx_unloaded():
    """httpx is most of `import datasette.app`'s time under Pyodide and only
    `datasette.client` (and the Litestream metrics fetch) need it, so nothing imports it
    at module level."""
    code = "import sys, datasette.app, datasette.routes; print('httpx' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"

"""Every example in docs/*.md runs, and every setting, permission and hook has its docs.

Two kinds of example are extracted from the Markdown, strictly (one the extractor cannot
read is a failing test, never a skip):

- Shell lines `datasette ... --get PATH` in fenced (```bash, ```sh, ```shell, ```console
  or bare ```) or indented code blocks. Each runs through click's CliRunner, in a
  folder holding the files the doc created before it (fenced blocks with a `file=NAME`
  attribute: ```json file=metadata.json). Exit code 0 is required; when the next code
  block is a plain ```json block, the output must match it, and when it is a ```csv block
  or ```output block the output must be exactly its lines.
- JSON request/response pairs: a ```http block (`METHOD /path`, optional headers, a blank
  line, an optional body) followed by a ```json block (optionally ```json status=201).
  Each runs through `datasette.client` against a writable copy of the demo database,
  after replaying the doc's earlier requests on that copy, with `$TOKEN` standing for a
  root API token. ```http metadata=NAME serves the doc's file block NAME as metadata.

Matching is a subset match: every key of an expected object must be in the actual one
with a matching value; lists match element by element, in full, unless the expected
list ends with the string "...", which lets the actual list go on.

A line with `# not run` is skipped: only for commands that cannot run offline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import pathlib
import re
import shlex
import shutil
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import pytest
from click.testing import CliRunner

from datasette import hookspecs, settings
from datasette.app import Datasette
from datasette.cli import cli
from datasette.default_permissions import ROOT_ACTIONS
from datasette.internal.public.rules import PUBLIC_EDIT
from datasette.demo import write_demo_file
from datasette.permissions import Permission
from datasette.plugins import pm

DOCS = pathlib.Path(__file__).parent.parent / "docs"
SHELL_LANGS = {"", "bash", "sh", "shell", "console"}
SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "&"}
NOT_RUN = "# not run"


class ExampleError(Exception):
    """An example the extractor cannot read."""


@dataclass
class Block:
    """One code block: its language, `key=value` attributes, text and first line."""

    doc: str
    line: int
    lang: str
    attrs: Dict[str, str]
    text: str


@dataclass
class Example:
    """One runnable example; `error` is set when it could not be parsed."""

    kind: str  # "cli" or "http"
    doc: str
    line: int
    block_index: int
    args: List[str] = field(default_factory=list)
    request: Optional[dict] = None
    expected: Any = None
    has_expected: bool = False
    status: Optional[int] = None
    expected_csv: Optional[str] = None
    error: Optional[str] = None

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


# --- Extraction ---------------------------------------------------------------------


def parse_info(info: str, doc: str, line: int) -> tuple:
    """`(lang, attrs)` from a fence's info string such as `json status=201`."""
    words = info.split()
    lang = words[0].lower() if words else ""
    attrs = {}
    for word in words[1:]:
        if "=" not in word:
            raise ExampleError(f"{doc}:{line}: fence attribute {word!r} is not key=value")
        key, value = word.split("=", 1)
        attrs[key] = value
    return lang, attrs


def code_blocks(doc: str, text: str) -> List[Block]:
    """Fenced and indented code blocks of a Markdown text, in order."""
    blocks: List[Block] = []
    lines = text.split("\n")
    i = 0
    previous_blank = True
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^(\s*)(```+|~~~+)(.*)$", line)
        if fence:
            indent, marker, info = fence.groups()
            lang, attrs = parse_info(info.strip(), doc, i + 1)
            body = []
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(marker):
                body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
                j += 1
            if j == len(lines):
                raise ExampleError(f"{doc}:{i + 1}: code fence never closed")
            blocks.append(Block(doc, i + 1, lang, attrs, "\n".join(body)))
            i = j + 1
            previous_blank = False
            continue
        if previous_blank and line.startswith("    ") and line.strip():
            body = []
            start = i
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            # Numbered like a fence: the line before the code, so code line k is line + 1 + k.
            blocks.append(Block(doc, start, "indented", {}, "\n".join(body).rstrip("\n")))
            previous_blank = True
            continue
        previous_blank = not line.strip()
        i += 1
    return blocks


def shell_commands(block: Block) -> List[tuple]:
    """`(line, text)` of each `datasette ... --get` command in a shell block, with
    backslash continuations joined; lines marked `# not run` are left out."""
    if block.lang not in SHELL_LANGS | {"indented"}:
        return []
    commands = []
    lines = block.text.split("\n")
    i = 0
    while i < len(lines):
        start = i
        text = lines[i].strip()
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1] + " " + lines[i].strip()
        i += 1
        if text.startswith("$ "):
            text = text[2:]
        if not text.startswith("datasette ") or "--get" not in text or NOT_RUN in text:
            continue
        commands.append((block.line + 1 + start, text))
    return commands


def parse_command(text: str) -> List[str]:
    """The arguments after `datasette`; shell features a CliRunner cannot run are errors."""
    try:
        words = shlex.split(text, comments=True)
    except ValueError as e:
        raise ExampleError(f"cannot split shell line: {e}") from e
    for word in words:
        if word in SHELL_OPERATORS or word.startswith("$") or "$(" in word or "`" in word:
            raise ExampleError(f"shell feature {word!r} cannot be run here")
    if "--get" not in words:
        raise ExampleError("--get is not an option of its own on this line")
    return words[1:]


def parse_request(block: Block) -> dict:
    """`{"method", "path", "headers", "body", "metadata"}` from a ```http block."""
    lines = block.text.split("\n")
    match = re.match(r"^([A-Z]+) (/\S*)(?: HTTP/[\d.]+)?$", lines[0].strip() if lines else "")
    if not match:
        raise ExampleError("the first line of an http block must be `METHOD /path`")
    headers = {}
    i = 1
    while i < len(lines) and lines[i].strip():
        name, sep, value = lines[i].partition(":")
        if not sep or not name.strip() or " " in name.strip():
            raise ExampleError(f"not a header line: {lines[i]!r}")
        headers[name.strip()] = value.strip()
        i += 1
    body = "\n".join(lines[i + 1 :]).strip()
    if body and headers.get("Content-Type", "").startswith("application/json"):
        try:
            json.loads(body)
        except ValueError as e:
            raise ExampleError(f"request body is not JSON: {e}") from e
    unknown = set(block.attrs) - {"metadata"}
    if unknown:
        raise ExampleError(f"unknown http block attributes: {sorted(unknown)}")
    return {
        "method": match.group(1),
        "path": match.group(2),
        "headers": headers,
        "body": body,
        "metadata": block.attrs.get("metadata"),
    }


def expected_json(block: Block) -> tuple:
    """`(value, status)` of a ```json block used as an expected answer."""
    unknown = set(block.attrs) - {"status"}
    if unknown:
        raise ExampleError(f"unknown json block attributes: {sorted(unknown)}")
    try:
        value = json.loads(block.text)
    except ValueError as e:
        raise ExampleError(f"expected JSON does not parse: {e}") from e
    status = block.attrs.get("status")
    if status is not None and not status.isdigit():
        raise ExampleError(f"status={status} is not a number")
    return value, int(status) if status else None


def is_answer(block: Optional[Block]) -> bool:
    return block is not None and block.lang == "json" and "file" not in block.attrs


def is_csv_answer(block: Optional[Block]) -> bool:
    return block is not None and block.lang in ("csv", "output") and "file" not in block.attrs


def examples_in(doc: str, blocks: List[Block]) -> List[Example]:
    """The runnable examples of one doc's blocks."""
    examples = []
    for index, block in enumerate(blocks):
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if block.lang == "http":
            example = Example("http", doc, block.line, index)
            try:
                example.request = parse_request(block)
                if not is_answer(following):
                    raise ExampleError("an http block must be followed by a ```json block")
                example.expected, example.status = expected_json(following)
                example.has_expected = True
            except ExampleError as e:
                example.error = str(e)
            examples.append(example)
            continue
        commands = shell_commands(block)
        for line, text in commands:
            example = Example("cli", doc, line, index)
            try:
                example.args = parse_command(text)
                if is_csv_answer(following):
                    if len(commands) > 1:
                        raise ExampleError(
                            "a block answered by ```csv or ```output must hold one command"
                        )
                    example.expected_csv = following.text.strip("\n")
                elif is_answer(following):
                    if len(commands) > 1:
                        raise ExampleError("a block answered by ```json must hold one command")
                    example.expected, example.status = expected_json(following)
                    example.has_expected = True
                    if example.status is not None:
                        raise ExampleError("status= only applies to http examples")
            except ExampleError as e:
                example.error = str(e)
            examples.append(example)
    return examples


def load_docs() -> tuple:
    """`(examples, blocks by doc, errors)` for every docs/*.md."""
    examples: List[Example] = []
    blocks_by_doc: Dict[str, List[Block]] = {}
    errors = []
    for path in sorted(DOCS.glob("*.md")):
        try:
            blocks = code_blocks(path.name, path.read_text(encoding="utf-8"))
        except ExampleError as e:
            errors.append(str(e))
            continue
        blocks_by_doc[path.name] = blocks
        examples.extend(examples_in(path.name, blocks))
    return examples, blocks_by_doc, errors


EXAMPLES, BLOCKS, DOC_ERRORS = load_docs()


# --- Matching -----------------------------------------------------------------------


def mismatches(expected: Any, actual: Any, where: str = "$") -> List[str]:
    """Differences between an expected value and the actual one (subset match)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{where}: missing key {key!r}")
            else:
                problems.extend(mismatches(value, actual[key], f"{where}.{key}"))
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {actual!r}"]
        open_ended = bool(expected) and expected[-1] == "..."
        items = expected[:-1] if open_ended else expected
        if len(actual) < len(items) or (not open_ended and len(actual) != len(items)):
            return [f"{where}: expected {len(items)} items, got {len(actual)}: {actual!r}"]
        problems = []
        for i, item in enumerate(items):
            problems.extend(mismatches(item, actual[i], f"{where}[{i}]"))
        return problems
    if type(expected) is bool or type(actual) is bool:
        same = type(expected) is type(actual) and expected == actual
    else:
        same = expected == actual
    return [] if same else [f"{where}: expected {expected!r}, got {actual!r}"]


# --- Running ------------------------------------------------------------------------


def files_before(doc: str, block_index: int) -> Dict[str, str]:
    """The files a doc created (```LANG file=NAME blocks) before block `block_index`."""
    return {
        block.attrs["file"]: block.text + "\n"
        for block in BLOCKS[doc][:block_index]
        if "file" in block.attrs
    }


@contextlib.contextmanager
def plugins_restored():
    """Unregister plugins an example loaded (--plugins-dir), so later tests never see them."""
    before = set(pm.get_plugins())
    try:
        yield
    finally:
        for plugin in set(pm.get_plugins()) - before:
            pm.unregister(plugin)


def run_cli(example: Example, folder: pathlib.Path) -> str:
    """Run a CLI example in `folder` (the working directory) with the doc's files
    written there; return its standard output."""
    for name, text in files_before(example.doc, example.block_index).items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    with plugins_restored():
        result = CliRunner().invoke(cli, example.args, catch_exceptions=False)
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    return result.stdout


async def send(ds: Datasette, request: dict, token: str):
    headers = {name: value.replace("$TOKEN", token) for name, value in request["headers"].items()}
    return await ds.client.request(
        request["method"],
        request["path"],
        headers=headers,
        content=request["body"].encode("utf-8") if request["body"] else None,
    )


def http_instance(example: Example, db_path: pathlib.Path) -> Datasette:
    metadata = None
    name = example.request["metadata"]
    if name:
        files = files_before(example.doc, example.block_index)
        assert name in files, f"metadata={name} names no earlier file block"
        metadata = json.loads(files[name])
    return Datasette([str(db_path)], metadata=metadata)


async def run_http(example: Example, db_path: pathlib.Path):
    """Replay the doc's earlier requests on a fresh copy, then send this one."""
    ds = http_instance(example, db_path)
    try:
        await ds.invoke_startup()
        token = ds.create_token("root")
        earlier = [
            e
            for e in EXAMPLES
            if e.kind == "http" and e.doc == example.doc and e.line < example.line
        ]
        for previous in earlier:
            if previous.error is None:
                await send(ds, previous.request, token)
        return await send(ds, example.request, token)
    finally:
        ds.close()


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    """The demo database, written once; each HTTP example gets its own copy."""
    return write_demo_file(tmp_path_factory.mktemp("docs_demo") / "demo.db")


def test_every_doc_parses():
    assert DOC_ERRORS == []


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "cli"], ids=lambda e: e.id)
def test_cli_example(example, tmp_path, monkeypatch):
    assert example.error is None, f"{example.id}: {example.error}"
    monkeypatch.chdir(tmp_path)
    output = run_cli(example, tmp_path)
    if example.expected_csv is not None:
        actual_lines = output.replace("\r\n", "\n").strip("\n").split("\n")
        assert actual_lines == example.expected_csv.split("\n")
    if example.has_expected:
        try:
            actual = json.loads(output)
        except ValueError:
            pytest.fail(f"{example.id}: output is not JSON: {output[:500]}")
        assert mismatches(example.expected, actual) == []


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind == "http"], ids=lambda e: e.id)
def test_http_example(example, tmp_path, demo_file):
    assert example.error is None, f"{example.id}: {example.error}"
    db_path = tmp_path / "demo.db"
    shutil.copy(demo_file, db_path)
    response = asyncio.run(run_http(example, db_path))
    if example.status is not None:
        assert response.status_code == example.status, response.text
    try:
        actual = response.json()
    except ValueError:
        pytest.fail(f"{example.id}: response is not JSON: {response.text[:500]}")
    assert mismatches(example.expected, actual) == []


# --- The extractor's own rules ------------------------------------------------------


def test_extractor_is_strict_about_http_pairs():
    blocks = code_blocks("x.md", "```http\nPOST /demo/books/-/insert\n\n{}\n```\n\ntext\n")
    (example,) = examples_in("x.md", blocks)
    assert example.error == "an http block must be followed by a ```json block"
    blocks = code_blocks("x.md", "```http\nGET demo\n```\n```json\n{}\n```\n")
    assert examples_in("x.md", blocks)[0].error.startswith("the first line of an http block")


def test_extractor_reads_commands_and_answers():
    text = (
        "Try:\n\n    datasette --demo --get '/demo.json?sql=select+1'\n\n"
        '```json\n{"ok": true}\n```\n\n'
        "```bash\ndatasette --demo \\\n  --get /-/versions.json | jq .\n"
        "datasette publish cloudrun demo.db --get x  # not run\n```\n"
    )
    first, second = examples_in("x.md", code_blocks("x.md", text))
    assert first.args == ["--demo", "--get", "/demo.json?sql=select+1"]
    assert first.expected == {"ok": True} and first.error is None
    assert second.error == "shell feature '|' cannot be run here"
    assert (first.line, second.line) == (3, 10)


def test_subset_matching():
    assert mismatches({"a": [1, "..."]}, {"a": [1, 2, 3], "b": 0}) == []
    assert mismatches({"a": [1]}, {"a": [1, 2]}) != []
    assert mismatches({"a": {"b": 1}}, {"a": {"b": 2}}) == ["$.a.b: expected 1, got 2"]
    assert mismatches(True, 1) != []


# --- Reference pages cover everything registered -------------------------------------


def mentioned(page: str, names) -> List[str]:
    """The names not written as `name` anywhere in docs/PAGE."""
    text = (DOCS / page).read_text(encoding="utf-8")
    return sorted(name for name in names if f"`{name}`" not in text)


def test_every_setting_is_documented():
    names = set()
    for value in vars(settings).values():
        if (
            isinstance(value, tuple)
            and value
            and all(isinstance(item, settings.Setting) for item in value)
        ):
            names.update(item.name for item in value)
    assert "default_page_size" in names and "default_deny" in names
    assert mentioned("settings.md", names) == []


def builtin_actions() -> set:
    """Actions registered by datasette's own modules, and the ones root is granted."""
    names = set(ROOT_ACTIONS) | {PUBLIC_EDIT}
    for impl in pm.hook.register_permissions.get_hookimpls():
        module = getattr(impl.plugin, "__name__", "")
        if not module.startswith("datasette."):
            continue
        result = impl.function(**{name: None for name in impl.argnames})
        names.update(p.name for p in result or [] if isinstance(p, Permission))
    return names


def test_every_permission_is_documented():
    names = builtin_actions()
    assert {"view-instance", "insert-row", "public-edit"} <= names
    assert mentioned("permissions.md", names) == []


def test_every_hook_has_a_section():
    hooks = [name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "datasette_spec")]
    assert len(hooks) >= 28
    text = (DOCS / "plugin-hooks.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^#+ `(\w+)", text, re.M))
    assert sorted(set(hooks) - headings) == []


def test_index_links_every_page():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    pages = sorted(p.name for p in DOCS.glob("*.md") if p.name != "index.md")
    assert [p for p in pages if f"]({p})" not in index] == []

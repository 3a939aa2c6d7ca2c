"""The house: the folder shows the pipeline, nothing imports in a circle (imports inside functions count),
the pure parts import no I/O, each module is small and says what it holds, the main classes and the store's
records are documented, and the README's module table names every module as it is."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
MAX_LINES = 450
#: Modules whose text is generated or fixed in form (Alembic's migration files).
EXEMPT = ("bot/store/migrations/versions/",)


def modules() -> dict[str, Path]:
    """Every module of bot/, by dotted name."""
    found = {}
    for path in sorted(BOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """The modules of bot/ a module imports (at the top or inside a function), with the line."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:  # `from bot.store import schema`: the submodule
                    yield sub, node.lineno
                elif base in known:
                    yield base, node.lineno


def graph() -> dict[str, set[str]]:
    """Who imports whom. Importing ``bot.a.b`` runs the package ``bot.a`` first: that counts as an import of
    ``bot.a`` too, unless the importer is inside ``bot.a`` (whose package is then already being run)."""
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for target, _ in imports(name, path, known):
            targets.add(target)
            parent = target.rpartition(".")[0]
            while parent and parent in known and not (name == parent or name.startswith(parent + ".")):
                targets.add(parent)
                parent = parent.rpartition(".")[0]
        edges[name] = targets - {name}
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                return [*stack[stack.index(m):], m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(edges):
        if n not in state and (found := visit(n)):
            return found
    return None


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for m in edges.get(todo.pop(), ()):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def test_the_cycle_finder_finds_a_cycle() -> None:  # so that the test below can fail
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_bot_counting_imports_inside_functions() -> None:
    edges = graph()
    assert len(edges) > 40
    assert _cycle(edges) is None, " → ".join(_cycle(edges) or [])


def test_the_folder_shows_the_pipeline() -> None:
    for package in ("feeds", "compose", "store", "config", "platforms", "operations"):
        assert (BOT / package / "__init__.py").is_file(), package
    for stage in ("fetch", "parse", "prescan", "poll", "wordpress", "pages"):
        assert (BOT / "feeds" / f"{stage}.py").is_file(), stage
    for part in ("tables", "schema", "records", "engine", "feeds", "outbox", "accounts", "caches"):
        assert (BOT / "store" / f"{part}.py").is_file(), part


#: What the pure composing code may import from bot/.
PURE = {"bot.models", "bot.errors"}
#: Libraries that do I/O (network, files, databases, processes).
IO_LIBRARIES = {"requests", "urllib3", "socket", "http", "sqlalchemy", "feedparser", "tweepy", "mastodon",
                "atproto", "subprocess", "shutil", "tempfile", "urllib.request", "httpx", "aiohttp"}


def test_compose_does_no_io() -> None:
    edges = graph()
    for name in [n for n in edges if n == "bot.compose" or n.startswith("bot.compose.")]:
        outside = {m for m in reachable(edges, name) if not m.startswith("bot.compose")} - PURE
        assert not outside, f"{name} reaches {sorted(outside)}"
        tree = ast.parse(modules()[name].read_text())
        libraries = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names} | {
            n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level}
        io = {lib for lib in libraries if lib in IO_LIBRARIES or lib.split(".")[0] in IO_LIBRARIES}
        assert not io, f"{name} imports {sorted(io)}"
        assert "open(" not in modules()[name].read_text(), f"{name} opens a file"


def test_config_does_not_import_the_store() -> None:
    edges = graph()
    for name in [n for n in edges if n == "bot.config" or n.startswith("bot.config.")]:
        reached = reachable(edges, name)
        assert not {m for m in reached if m == "bot.store" or m.startswith("bot.store.")}, name


def test_only_the_operations_and_the_daemon_stand_between_the_cli_and_the_store() -> None:
    tree = ast.parse((BOT / "cli.py").read_text())
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not [c for c in calls if ".store." in c], "the CLI calls the store directly"
    reached = graph()["bot.cli"]
    assert not [m for m in reached if m == "bot.store" or m.startswith("bot.store.")], "the CLI imports the store"
    assert "operator_set" not in "".join(p.read_text() for p in BOT.rglob("*.py")), "raw column writes are back"


def _source_modules() -> list[Path]:
    return [p for p in modules().values() if not str(p.relative_to(ROOT)).startswith(EXEMPT)]


@pytest.mark.parametrize("path", _source_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_each_module_is_small_and_says_what_it_holds(path: Path) -> None:
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_LINES, f"{path.name}: {len(text.splitlines())} lines"
    assert ast.get_docstring(ast.parse(text)), f"{path} has no docstring"


def _classes() -> dict[str, ast.ClassDef]:
    found = {}
    for path in _source_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                found[f"{path.relative_to(ROOT)}:{node.name}"] = node
    return found


def test_the_main_classes_have_docstrings() -> None:
    classes = _classes()
    for main in ("bot/store/__init__.py:Store", "bot/core.py:Bot", "bot/dispatch.py:Dispatcher",
                 "bot/daemon.py:Daemon", "bot/platforms/base.py:Publisher", "bot/config/models.py:BotConfig",
                 "bot/operations/__init__.py:Operations"):
        assert main in classes, main
        assert ast.get_docstring(classes[main]), main
    undocumented = [name for name, node in classes.items() if not ast.get_docstring(node)]
    assert not undocumented, undocumented


def test_the_records_at_the_stores_edge_comment_each_field() -> None:
    path = BOT / "store" / "records.py"
    lines = path.read_text().splitlines()
    tree = ast.parse(path.read_text())
    records = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert len(records) >= 8
    for record in records:
        for field in record.body:
            if isinstance(field, ast.AnnAssign):
                name = ast.unparse(field.target)
                line = lines[field.lineno - 1]
                # a field whose name says it all may go without (sent_at, created_at, at, held_at)
                assert "#:" in line or re.fullmatch(r"(\w+_)?at|account_id", name), f"{record.name}.{name}"


def test_the_readme_names_every_module_as_it_now_is() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Architecture"):]
    section = section[: section.index("\n## ", 4)]
    named = set(re.findall(r"`(bot/[\w/.]+)`", section))
    missing = [str(p.relative_to(ROOT)) for p in _source_modules() if str(p.relative_to(ROOT)) not in named
               and not (p.name == "__init__.py" and f"{p.parent.relative_to(ROOT)}/" in named)]
    assert not missing, f"the README's architecture section does not name {missing}"
    gone = [n for n in named if not (ROOT / n).exists()]
    assert not gone, f"the README names modules that do not exist: {gone}"


def test_conftest_holds_fixtures_only_and_tests_import_helpers_from_the_kit() -> None:
    tests = ROOT / "tests"
    conftest = ast.parse((tests / "conftest.py").read_text())
    for node in conftest.body:
        if isinstance(node, ast.ClassDef):
            raise AssertionError(f"conftest.py defines a class: {node.name}")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
            assert fixture or node.name.startswith("pytest_"), f"conftest.py defines a helper: {node.name}"
    for path in sorted(tests.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                assert "conftest" not in module, f"{path.name} imports from conftest"
                assert not re.search(r"(^|\.)test_\w+$", module), f"{path.name} imports from another test file"
    helpers = [p.name for p in tests.glob("*.py") if not p.name.startswith("test_")]
    assert sorted(helpers) == ["__init__.py", "conftest.py"], f"helpers among the test files: {helpers}"

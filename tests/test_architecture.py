"""The modules of the apps import each other top-down: no cycle, deferred imports included,
and no import inside a function without a comment saying why."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("fraudops", "scoring", "rules", "cases")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imported(node: ast.AST, name: str, is_package: bool) -> list[str]:
    """The modules an import names, relative ones resolved against the importing module
    ``name``; ``importlib.import_module("x")`` and ``__import__("x")`` with a literal count."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = name.split(".") if is_package else name.split(".")[:-1]
            parent = parts[: len(parts) - (node.level - 1)]
            base = ".".join(p for p in (*parent, base) if p)
        return [base, *(f"{base}.{alias.name}" for alias in node.names)] if base else []
    if (
        isinstance(node, ast.Call)
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            or (isinstance(node.func, ast.Name) and node.func.id in {"import_module", "__import__"})
        )
    ):
        return [node.args[0].value]
    return []


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            for target in _imported(node, name, is_package):
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    """A path start → … → start, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph[node]):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_no_module_of_the_apps_imports_itself_back_through_others():
    graph = _graph(_modules())

    cycles = [cycle for name in graph if (cycle := _cycle_from(name, graph))]

    assert not cycles, " | ".join(" → ".join(cycle) for cycle in cycles[:5])


# Comments for tools, not for readers: they say nothing of why an import is deferred.
TOOL_COMMENT = re.compile(r"^#\s*(noqa|type:|fmt:|pragma|pyright)", re.IGNORECASE)


def _reason(line: str) -> bool:
    """A comment on ``line`` that is written for a reader."""
    _, hash_, comment = line.partition("#")
    return bool(hash_) and not TOOL_COMMENT.match("#" + comment.strip()) and len(comment) > 8


def _explained(lines: list[str], index: int) -> bool:
    """A reader's comment on the import's line, or right above the block of imports it
    belongs to."""
    if _reason(lines[index]):
        return True
    above = index - 1
    while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#") and _reason(lines[above])


def test_an_import_inside_a_function_says_why_in_a_comment():
    unexplained = []
    for path in _modules().values():
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if not isinstance(inner, ast.Import | ast.ImportFrom):
                    continue
                if not _explained(lines, inner.lineno - 1):
                    unexplained.append(f"{path.relative_to(ROOT)}:{inner.lineno}")

    assert not unexplained, unexplained


def test_the_walk_finds_the_imports_it_judges():
    graph = _graph(_modules())

    assert "scoring.models" in graph["scoring.decisions"]
    assert "scoring.labels" in graph["cases.services"]


def test_the_walk_sees_relative_deferred_and_importlib_imports(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from . import b  # noqa: F401\n")
    (package / "b.py").write_text("import importlib\nimportlib.import_module('pkg.c')\n")
    (package / "c.py").write_text("from .a import f\n")
    modules = {f"pkg.{p.stem}": p for p in package.glob("?.py")}

    graph = _graph(modules)

    assert _cycle_from("pkg.a", graph) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]
    lines = (package / "a.py").read_text().splitlines()
    assert not _explained(lines, 1)  # a linter's comment is not a reason
    assert _explained(["def f():", "    # the app registry is not ready here", "    import x"], 2)

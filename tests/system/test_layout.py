"""The layers hold: the kernel (``finpulse``) imports no part and not the application layer
(``system``), no part imports ``system``, a part reaches another only through ``store``, and
no module-level imports go round in a cycle."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO

pytestmark = pytest.mark.unit

KERNEL = "finpulse"
PARTS = ("ingest", "classifier", "store", "alerts", "dashboard", "api")
APPLICATION = "system"
PACKAGES = (KERNEL, APPLICATION, *PARTS)

IMPORT_THE_KERNEL = f"""
import importlib, json, pkgutil, sys
import {KERNEL}
names = [m.name for m in pkgutil.walk_packages({KERNEL}.__path__, "{KERNEL}.")]
for name in names:
    importlib.import_module(name)
outside = {{n: getattr(m, "__file__", None) for n, m in sys.modules.items()
           if n.split(".")[0] in {[*PARTS, APPLICATION]!r}}}
print(json.dumps({{"imported": names, "outside": outside}}))
"""


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    """Every module of the scanned packages, by dotted name."""
    return {module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def module_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports that run when the module is imported: not those inside functions, nor those
    under ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
        else:
            stack.extend(c for c in ast.iter_child_nodes(node)
                         if isinstance(c, ast.stmt | ast.excepthandler | ast.match_case))


def all_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, wherever it is (a function's too)."""
    return (n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom))


def imported_modules(name: str, path: Path, node: ast.Import | ast.ImportFrom,
                     known: set[str]) -> set[str]:
    """The known modules ``node`` (in module ``name``) imports: the most specific one each
    imported name resolves to (``from finpulse import kafka`` is ``finpulse.kafka``)."""

    def longest_known(dotted: str) -> str | None:
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            if ".".join(parts[:end]) in known:
                return ".".join(parts[:end])
        return None

    if isinstance(node, ast.Import):
        targets = [longest_known(alias.name) for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = name if path.name == "__init__.py" else name.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        targets = [longest_known(f"{base}.{alias.name}") or longest_known(base) for alias in node.names]
    return {t for t in targets if t is not None and t != name}


def import_graph(walker) -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = set().union(*(imported_modules(name, path, node, known) for node in walker(tree)))
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that returns to its start) per strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_within(graph, component) for component in components]


def _cycle_within(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside the component."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & component):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle in {component}")  # a component of 2+ always has one


def test_the_kernel_imports_no_part_and_not_the_application() -> None:
    done = subprocess.run([sys.executable, "-c", IMPORT_THE_KERNEL], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    expected = {n for n in modules() if n.split(".")[0] == KERNEL and n != KERNEL}
    assert set(report["imported"]) == expected
    ours = {n: f for n, f in report["outside"].items() if f is None or Path(f).is_relative_to(REPO)}
    assert not ours, f"importing the kernel imported {sorted(ours)}"


def test_no_part_imports_the_application_layer() -> None:
    graph = import_graph(all_imports)
    offenders = {name: sorted(t for t in targets if t.split(".")[0] == APPLICATION)
                 for name, targets in graph.items() if name.split(".")[0] in PARTS}
    assert not {n: t for n, t in offenders.items() if t}


def test_a_part_reaches_another_only_through_store() -> None:
    # ARCHITECTURE.md: parts talk through Kafka topics, store's query functions or the kernel.
    graph = import_graph(all_imports)
    def foreign(name: str, target: str) -> bool:
        part, other = name.split(".")[0], target.split(".")[0]
        return other in PARTS and other not in {part, "store"}

    offenders = {name: sorted(t for t in targets if foreign(name, t))
                 for name, targets in graph.items() if name.split(".")[0] in PARTS}
    assert not {n: t for n, t in offenders.items() if t}


def test_module_level_imports_have_no_cycle() -> None:
    cycles = find_cycles(import_graph(module_level_imports))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_checks_see_what_they_look_for() -> None:
    tree = ast.parse("import a\nif TYPE_CHECKING:\n    import b\nelse:\n    import c\n"
                     "try:\n    import d\nexcept ImportError:\n    import e\n"
                     "def f():\n    import g\nclass K:\n    import h\n")
    assert sorted(a.name for n in module_level_imports(tree) for a in n.names) == list("acdeh")
    assert len(list(all_imports(tree))) == 7
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []

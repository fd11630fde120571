"""The import layering of ARCHITECTURE.md, read from the code's own imports (every import, also inside functions)."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "console", "monitor", "demo", "processors", "intake", "outbox", "parsers", "mail", "core")
# (importer, imported module or package, why): an import of the module or anything under it breaks the rule.
FORBIDDEN = [
    *[("core", other, "the kernel imports no other package of the project") for other in PACKAGES if other != "core"],
    *[("parsers", other, "parsers import nothing but the kernel") for other in PACKAGES if other not in ("parsers", "core")],
    *[("mail", other, "reading a message needs only the kernel") for other in PACKAGES if other not in ("mail", "core")],
    *[(stage, "app", "nothing imports the composition root") for stage in PACKAGES if stage != "app"],
    ("processors", "intake", "processors talk no IMAP"),
    ("processors", "outbox.sender", "processors compose notices, never send them"),
    ("processors", "outbox.transport", "processors compose notices, never send them"),
    *[("processors", other, "processors know no web page, monitor or demo") for other in ("console", "monitor", "demo")],
    *[("intake", other, "intake decides and sends nothing") for other in ("processors", "outbox", "console", "monitor", "demo", "parsers")],
    *[
        ("outbox", other, "sending decides and reads nothing")
        for other in ("processors", "intake", "parsers", "mail", "console", "monitor", "demo")
    ],
    ("console", "intake", "the console talks no IMAP"),
    ("console", "outbox.sender", "the console never sends"),
    ("console", "outbox.transport", "the console never sends"),
    ("monitor", "outbox.sender", "the monitor never sends"),
    ("demo", "outbox.sender", "the demo's pieces never send"),
]
# The monitor reads the folder's STATUS over IMAP, and nothing else of intake.
ALLOWED_EXCEPTIONS = {("monitor", "intake.connection")}


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in PACKAGES}


IMPORTS = {module: imports_of(path) for module, path in modules()}
KNOWN = set(IMPORTS)


def resolve(name: str) -> str:
    """The project module an import names (`from a.b import c` may name module a.b.c or object c of a.b)."""
    while name not in KNOWN and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_every_package_exists() -> None:
    assert all((ROOT / package / "__init__.py").is_file() for package in PACKAGES)


@pytest.mark.parametrize("importer,imported,why", FORBIDDEN, ids=[f"{a}-not-{b}" for a, b, _ in FORBIDDEN])
def test_layering_rule(importer: str, imported: str, why: str) -> None:
    broken = sorted(
        f"{module} -> {name}"
        for module, names in IMPORTS.items()
        if under(module, importer)
        for name in names
        if under(name, imported) and (importer, resolve(name)) not in ALLOWED_EXCEPTIONS
    )
    assert broken == [], why


def test_the_monitor_uses_only_the_connection_of_intake() -> None:
    used = {resolve(name) for module, names in IMPORTS.items() if under(module, "monitor") for name in names if under(name, "intake")}
    assert used <= {"intake.connection"}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk (one per back edge)."""
    found, state, path = [], dict.fromkeys(graph, 0), []

    def visit(node: str) -> None:
        state[node], path[len(path) :] = 1, [node]
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif state.get(target) == 0:
                visit(target)
        state[node] = 2
        path.pop()

    for node in sorted(graph):
        if state[node] == 0:
            visit(node)
    return found


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, names in IMPORTS.items():
        graph[module.split(".")[0]] |= {name.split(".")[0] for name in names} - {module.split(".")[0]}
    assert cycles({package: graph[package] for package in PACKAGES}) == []


def test_no_cycle_between_modules() -> None:
    graph = {module: {resolve(name) for name in names} - {module} for module, names in IMPORTS.items()}
    # a package's __init__ importing its own modules is how a package presents them, not a cycle
    graph = {module: {t for t in targets if not under(module, t)} for module, targets in graph.items()}
    assert cycles(graph) == []

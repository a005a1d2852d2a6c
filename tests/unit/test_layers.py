"""The front ends are thin: the bridge imports nothing of the REPL, and nothing below them touches the terminal.

The module graph is read with ``ast`` from the source files (every import,
at module level or inside a function), so a lazy import cannot hide an edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import lime_repl

ROOT = Path(lime_repl.__file__).parent


def _imports(path: Path) -> set[str]:
    """The lime_repl modules ``path`` imports (absolute names)."""
    module = "lime_repl." + ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("lime_repl"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name.startswith("lime_repl"):
                found.add(name)
                found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_bridge_imports_nothing_from_the_repl() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(i for i in _imports(path) if i.startswith("lime_repl.repl"))
        for path in _modules("bridge")
    }
    assert _modules("bridge") and not {k: v for k, v in offenders.items() if v}


def test_the_runtime_imports_no_front_end() -> None:
    for path in _modules("runtime"):
        imports = _imports(path)
        assert not [i for i in imports if i.startswith(("lime_repl.repl", "lime_repl.bridge", "lime_repl.cli"))], path


def test_nothing_below_the_front_ends_prints_or_reads_the_terminal() -> None:
    front = {"repl", "bridge", "cli"}
    below = [p for p in ROOT.rglob("*.py") if p.relative_to(ROOT).parts[0] not in front]
    assert any(p.parts[-2] == "runtime" for p in below)
    for path in below:
        tree = ast.parse(path.read_text())
        calls = {
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert not calls & {"print", "input"}, path
        assert "sys.stdout" not in path.read_text() and "isatty" not in path.read_text(), path


def test_no_front_end_subclasses_another() -> None:
    for package in ("repl", "bridge"):
        for path in _modules(package):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef):
                    bases = {ast.unparse(base) for base in node.bases}
                    assert not bases & {"Controller", "Console", "SessionRuntime", "TerminalSink"}, (path, node.name)


def _graph() -> dict[str, set[str]]:
    """lime's modules and the lime modules each imports (``if TYPE_CHECKING:`` blocks left out)."""
    paths = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()

        def visit(nodes: list[ast.stmt], package: str = package, edges: set[str] = edges) -> None:
            for node in nodes:
                if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                    continue
                if isinstance(node, ast.Import):
                    edges.update(a.name for a in node.names if a.name in paths)
                elif isinstance(node, ast.ImportFrom):
                    base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                    module = ".".join([*base, node.module] if node.module else base) if node.level else node.module
                    for alias in node.names:
                        full = f"{module}.{alias.name}"
                        if full in paths:
                            edges.add(full)
                        elif module in paths:
                            edges.add(str(module))
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        visit([child])

        visit(ast.parse(path.read_text()).body)
        edges.discard(name)
        graph[name] = edges
    return graph


def test_no_import_cycle_between_lime_modules() -> None:
    graph = _graph()
    assert "lime_repl.runtime.session" in graph["lime_repl.repl.controller"]
    state: dict[str, int] = {}  # 1 on the path, 2 done
    cycles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            walk(start, [start])
    assert cycles == []

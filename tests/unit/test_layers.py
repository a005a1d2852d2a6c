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

"""``store`` imports nothing of lime's but ``errors`` and ``paths``; output policies are injected into it."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import lime_repl
from lime_repl.outputs.guard import output_guard
from lime_repl.store.entry_guard import line_budget, structural_guard
from lime_repl.store.session import Session, StoreOptions

PACKAGE = Path(lime_repl.__file__).parent
ALLOWED = {"lime_repl.errors", "lime_repl.paths", "lime_repl.textsafe"}


def _lime_imports(source: str, package: str) -> set[str]:
    """Absolute names of the lime modules ``source`` (a module of ``package``) imports, at any depth."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "lime_repl")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module.split(".")[0] == "lime_repl":
                found.add(module)
    return found


def test_store_imports_only_errors_and_paths() -> None:
    files = sorted((PACKAGE / "store").glob("*.py"))
    assert len(files) > 10
    outside = {
        f"{path.name} imports {module}"
        for path in files
        for module in _lime_imports(path.read_text(encoding="utf-8"), "lime_repl.store")
        if not module.startswith("lime_repl.store") and module not in ALLOWED
    }
    assert outside == set()


def test_the_import_scan_sees_relative_and_nested_imports() -> None:
    source = "import json\ndef f():\n    from ..outputs import capping\n    from . import records\n"
    source += "import lime_repl.agent.loop\nfrom .records import dumps\n"
    assert _lime_imports(source, "lime_repl.store") == {
        "lime_repl.outputs",
        "lime_repl.store",
        "lime_repl.agent.loop",
        "lime_repl.store.records",
    }


def test_store_alone_keeps_lines_whole_and_within_budget(tmp_path: Path) -> None:
    bare = Session.create(tmp_path, str(tmp_path), options=StoreOptions(max_bytes=65_536))
    big = "x" * 100_000
    line = bare.append({"type": "message", "role": "user", "content": [{"type": "text", "text": big}]})
    assert len(json.dumps(line).encode()) <= line_budget(65_536)  # structural bound: a marker, no cap
    small = bare.append(
        {"type": "message", "role": "user", "content": [{"type": "text", "text": "a\udce9" * 3}]}
    )
    assert small["content"][0]["text"] == "a\ufffd" * 3
    secret = "sk-" + "A1b2C3d4" * 6
    kept = bare.append({"type": "message", "role": "user", "content": [{"type": "text", "text": secret}]})
    assert kept["content"][0]["text"] == secret  # no policy injected: redaction is not the store's
    bare.close()


def test_injected_output_guard_redacts_and_caps(tmp_path: Path) -> None:
    calls: list[int] = []

    def counting(entry: dict, segment_bytes: int, redact):  # the store calls the policy it was given
        calls.append(segment_bytes)
        return output_guard(entry, segment_bytes, redact)

    session = Session.create(tmp_path, str(tmp_path), options=StoreOptions(guard=counting))
    session.redact = lambda text: text.replace("hunter2", "[REDACTED]")
    out = session.append(
        {"type": "message", "role": "user", "content": [{"type": "text", "text": "pw hunter2"}]}
    )
    assert out["content"][0]["text"] == "pw [REDACTED]" and calls == [262_144]
    big = session.append(
        {"type": "message", "role": "user", "content": [{"type": "text", "text": "y" * 100_000}]}
    )
    assert "bytes" in big["content"][0]["text"] and len(big["content"][0]["text"]) < 40_000  # capped, not cut
    session.close()
    reopened = Session.open(session.path, options=StoreOptions(guard=counting))
    assert reopened.output_guard is counting
    reopened.close()
    assert Session.ephemeral(str(tmp_path), guard=counting).output_guard is counting


def test_structural_guard_returns_the_same_entry_when_nothing_changes() -> None:
    entry = {"type": "message", "content": [{"type": "text", "text": "fine"}]}
    assert structural_guard(entry, segment_bytes=262_144) is entry
    label = structural_guard({"type": "label", "label": "l" * 300}, segment_bytes=262_144)
    assert len(label["label"]) == 200

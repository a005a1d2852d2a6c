"""One implementation of each record concept: bash tags, triple roles and tool names in ``store.records``,
the tree's display rows in ``views.tree``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lime_repl
from lime_repl.exchange import view as exchange_view
from lime_repl.store import tree as store_tree
from lime_repl.store.records import bash_triple, tool_names, triple_part, triple_role, unwrap_tag
from lime_repl.store.session import Session
from lime_repl.store.tree import build_tree, place
from lime_repl.views.tree import flatten, prefix_of, preview, session_rows

PACKAGE = Path(lime_repl.__file__).parent

#: Modules that read bash triples: each goes through store.records, none parses the tags itself.
READERS = [
    "store/extract.py",
    "store/tree.py",
    "context/transcript.py",
    "context/summary.py",
    "context/microcompact.py",
    "context/rotation.py",
    "context/compaction.py",
    "views/tree.py",
    "exchange/view.py",
    "exchange/export_walk.py",
    "exchange/html.py",
    "exchange/markdown.py",
]


def _triple(command: str = "ls", stdout: str = "a\n", stderr: str = "") -> list[dict]:
    return bash_triple(
        command, stdout, stderr, exit_code=0, duration_ms=1, truncated_bytes={}, cwd="/", exchange="x1"
    )


def test_triple_parts_and_roles() -> None:
    entries = _triple("echo <hi>", " out \n", "warn")
    assert [triple_part(e) for e in entries] == [
        ("input", "echo <hi>"),
        ("stdout", " out \n"),
        ("stderr", "warn"),
    ]
    assert [triple_role(e) for e in entries] == ["input", "stdout", "stderr"]
    plain = {
        "type": "message",
        "role": "user",
        "content": [{"type": "text", "text": "<bash-input>x</bash-input>"}],
    }
    assert triple_role(plain) is None  # no shell facts: a user typing tags is not a triple
    untagged = dict(entries[1], content=[{"type": "text", "text": "raw"}])
    assert triple_part(untagged) is None
    assert unwrap_tag("  <t>body</t>\n", "t") == "body" and unwrap_tag("<t>body", "t") is None
    assert unwrap_tag("<t></t>", "t") == ""


def test_tool_names_over_entries() -> None:
    entries = [
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "c1", "name": "read"}],
        },
        {"type": "message", "role": "assistant", "content": [{"type": "tool_use", "id": 7, "name": "odd"}]},
        {"type": "compaction", "content": [{"type": "tool_use", "id": "c2", "name": "not a message"}]},
    ]
    assert tool_names(entries) == {"c1": "read"}


def _string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


@pytest.mark.parametrize("module", READERS)
def test_no_reader_parses_bash_tags_itself(module: str) -> None:
    assert [s for s in _string_constants(PACKAGE / module) if "bash-" in s] == []


def test_one_tree_flattener_and_one_preview() -> None:
    for gone in ("Row", "preview", "flatten"):
        assert not hasattr(store_tree, gone)
    for gone in ("Row", "preview", "tree_rows"):
        assert not hasattr(exchange_view, gone)


def _forked(tmp_path: Path) -> Session:
    session = Session.ephemeral(str(tmp_path))
    first = session.append(
        {"type": "message", "role": "user", "content": [{"type": "text", "text": "first"}]}
    )
    session.append(
        {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "old answer"}]}
    )
    session.set_leaf(first["id"])
    session.append(
        {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "new answer"}]}
    )
    session.append_bash("pwd", "/tmp\n", "", exit_code=0, duration_ms=1, truncated_bytes={}, cwd="/tmp")
    return session


def test_rows_draw_connectors_only_at_forks(tmp_path: Path) -> None:
    session = _forked(tmp_path)
    rows = flatten(build_tree(session.entries, session.leaf_id, session.labels))
    assert [(r.prefix, r.text) for r in rows] == [
        ("", "user: first"),
        ("├─ ", "assistant: new answer"),
        ("│  ", "$ pwd"),
        ("└─ ", "assistant: old answer"),
    ]
    assert [r.depth for r in rows] == [0, 1, 1, 1]
    assert rows[2].is_leaf and rows[2].kind == "bash"
    placed = place(build_tree(session.entries, session.leaf_id, session.labels))
    assert [prefix_of(p) for p in placed] == [r.prefix for r in rows]
    assert all(p.entry is session.entries[p.id] for p in placed)


def test_the_export_tree_is_the_same_rows(tmp_path: Path) -> None:
    session = _forked(tmp_path)
    rows = session_rows(session)
    assert [r.text for r in rows] == [
        "user: first",
        "assistant: new answer",
        "$ pwd",
        "assistant: old answer",
    ]
    with pytest.raises(ValueError):
        flatten(build_tree(session.entries, None), "no-such-mode")


def test_preview_of_bash_members_uses_the_record_helpers() -> None:
    command, stdout, stderr = _triple("make  test", "ok\n", "boom")
    command["shell"] = dict(command["shell"], exitCode=2)
    assert preview(command) == "$ make test  [exit 2]"
    assert preview(stdout) == "stdout: ok"
    assert preview(stderr) == "stderr: boom"


def test_record_shapes_load_at_first_use() -> None:
    # The TypedDicts are named by records and defined in record_types, loaded when first asked for.
    from lime_repl.store import record_types, records

    for name in record_types.__all__:
        assert getattr(records, name) is getattr(record_types, name)
    assert records.ShellFields.__required_keys__ >= {"exchange", "exitCode", "cwd"}
    with pytest.raises(AttributeError):
        records.NoSuchShape  # noqa: B018

"""The tree builder behind /tree: branching, labels, the persisted leaf, filter modes, folds, jumps."""

from __future__ import annotations

from pathlib import Path

import pytest

from lime_repl.repl.picker import filter_sessions
from lime_repl.store.catalog import SessionInfo
from lime_repl.store.session import Session
from lime_repl.store.tree import FILTER_MODES, build_tree, plan_jump
from lime_repl.views.tree import flatten


def _user(session: Session, text: str, parent: object = ...) -> str:
    entry = {"type": "message", "role": "user", "content": [{"type": "text", "text": text}]}
    return (session.append(entry) if parent is ... else session.append(entry, parent_id=parent))["id"]


def _assistant(session: Session, text: str) -> str:
    return session.append(
        {"type": "message", "role": "assistant", "content": [{"type": "text", "text": text}]}
    )["id"]


def _tool_turn(session: Session) -> tuple[str, str]:
    call = session.append(
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "call_1", "name": "read", "input": {"path": "a.txt"}}],
        }
    )
    result = session.append(
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "hello", "is_error": False}
            ],
        }
    )
    return call["id"], result["id"]


@pytest.fixture
def branched(tmp_path: Path) -> tuple[Session, dict[str, str]]:
    """model_change, q1, a1, [tool call, tool result], a1b, q2, a2 -- then a branch q2' from a1b, a2'."""
    s = Session.create(tmp_path / "s", "/work")
    ids: dict[str, str] = {}
    ids["model"] = s.append({"type": "model_change", "provider": "openai", "model": "gpt-5.4"})["id"]
    ids["q1"] = _user(s, "first question")
    ids["a1"] = _assistant(s, "first answer")
    ids["call"], ids["result"] = _tool_turn(s)
    ids["a1b"] = _assistant(s, "read it")
    ids["q2"] = _user(s, "second question")
    ids["a2"] = _assistant(s, "second answer")
    s.append_bash("echo hi", "hi\n", "", exit_code=0, duration_ms=1, truncated_bytes={}, cwd="/work")
    s.set_leaf(ids["a1b"])
    ids["q2b"] = _user(s, "second question, edited")
    ids["a2b"] = _assistant(s, "edited answer")
    s.label(ids["q1"], "start")
    yield s, ids
    s.close()


def test_branching_puts_the_active_branch_first_with_connectors(branched) -> None:
    s, ids = branched
    rows = flatten(build_tree(s.entries, s.leaf_id, s.labels))
    texts = [r.text for r in rows]
    assert texts == [
        "user: first question",
        "assistant: first answer",
        "result read: hello",
        "assistant: read it",
        "user: second question, edited",
        "assistant: edited answer",
        "user: second question",
        "assistant: second answer",
        "$ echo hi",
    ]
    by_id = {r.id: r for r in rows}
    assert by_id[ids["a1b"]].children == 2 and by_id[ids["a1b"]].prefix == ""
    assert by_id[ids["q2b"]].prefix == "├─ " and by_id[ids["a2b"]].prefix == "│  "
    assert by_id[ids["q2"]].prefix == "└─ " and by_id[ids["a2"]].prefix == "   "
    assert by_id[ids["a2b"]].is_leaf and by_id[ids["a2b"]].on_path
    assert not by_id[ids["q2"]].on_path and not by_id[ids["a2"]].is_leaf
    assert by_id[ids["q1"]].label == "start" and by_id[ids["q1"]].label_time


def test_leaf_is_persisted_and_replayed(branched, tmp_path: Path) -> None:
    s, ids = branched
    s.set_leaf(ids["a2"])
    reread = Session.load(s.path)
    assert reread.leaf_id == ids["a2"]
    rows = flatten(build_tree(reread.entries, reread.leaf_id, reread.labels))
    assert [r.id for r in rows if r.is_leaf] == [ids["a2"]]
    # the branch holding the leaf is now listed first
    assert rows[4].id == ids["q2"] and rows[4].prefix == "├─ "


def test_labels_set_clear_and_label_times(branched) -> None:
    s, ids = branched
    s.label(ids["a2"], "old idea")
    s.label(ids["q1"], None)
    tree = build_tree(s.entries, s.leaf_id, s.labels)
    assert tree.labels == {ids["a2"]: "old idea"}
    assert set(tree.label_times) == {ids["a2"]}
    labeled = flatten(tree, "labeled-only")
    # the leaf is always shown, the labeled entry too; nothing else
    assert [r.id for r in labeled] == [ids["a2b"], ids["a2"]]
    assert Session.load(s.path).labels == {ids["a2"]: "old idea"}


def test_filter_modes(branched) -> None:
    s, ids = branched
    tree = build_tree(s.entries, s.leaf_id, s.labels)
    by_mode = {mode: [r.id for r in flatten(tree, mode)] for mode in FILTER_MODES}
    assert ids["model"] not in by_mode["default"] and ids["call"] not in by_mode["default"]
    assert ids["result"] in by_mode["default"]
    assert ids["result"] not in by_mode["no-tools"] and ids["a1b"] in by_mode["no-tools"]
    assert by_mode["user-only"] == [ids["q1"], ids["q2b"], ids["a2b"], ids["q2"]]  # + the leaf
    assert by_mode["labeled-only"] == [ids["q1"], ids["a2b"]]
    everything = by_mode["all"]
    assert ids["model"] in everything and ids["call"] in everything
    kinds = {r.kind for r in flatten(tree, "all")}
    assert {"leaf", "label", "bash_output", "model_change", "tool_call"} <= kinds
    assert len(everything) == len(s.entries)
    # hidden entries lift their children: in user-only the prompts still branch from one point
    user_rows = {r.id: r for r in flatten(tree, "user-only")}
    assert user_rows[ids["q2b"]].prefix == "├─ " and user_rows[ids["q2"]].prefix == "└─ "
    with pytest.raises(ValueError):
        flatten(tree, "bogus")


def test_folding_hides_descendants_and_counts_them(branched) -> None:
    s, ids = branched
    tree = build_tree(s.entries, s.leaf_id, s.labels)
    rows = flatten(tree, folded={ids["a1b"]})
    assert [r.id for r in rows][-1] == ids["a1b"]
    assert rows[-1].hidden == 5


def test_bash_triple_shows_as_one_row_and_marks_the_leaf(tmp_path: Path) -> None:
    s = Session.create(tmp_path / "s", "/work")
    triple = s.append_bash("false", "", "", exit_code=1, duration_ms=1, truncated_bytes={}, cwd="/work")
    rows = flatten(build_tree(s.entries, s.leaf_id, s.labels))
    assert [(r.text, r.is_leaf) for r in rows] == [("$ false  [exit 1]", True)]
    plan = plan_jump(s.entries, s.leaf_id, triple[0]["id"])
    assert plan.new_leaf == triple[2]["id"] and not plan.moves
    s.close()


def test_plan_jump_user_message_branches_from_its_parent(branched) -> None:
    s, ids = branched
    plan = plan_jump(s.entries, s.leaf_id, ids["q2b"])
    assert plan.new_leaf == ids["a1b"] and plan.prefill == "second question, edited"
    assert [e["id"] for e in plan.abandoned] == [ids["q2b"], ids["a2b"]]
    assert plan.from_id == ids["a2b"] and plan.moves
    other = plan_jump(s.entries, s.leaf_id, ids["a2"])
    assert other.new_leaf == ids["a2"] and other.prefill is None
    assert [e["id"] for e in other.abandoned] == [ids["q2b"], ids["a2b"]]
    first = plan_jump(s.entries, s.leaf_id, ids["q1"])
    assert first.new_leaf == ids["model"]
    with pytest.raises(KeyError):
        plan_jump(s.entries, s.leaf_id, "00000000")


def test_deep_linear_session_flattens_without_recursion(tmp_path: Path) -> None:
    s = Session.create(tmp_path / "s", "/work")
    for i in range(3000):
        _user(s, f"q{i}")
    rows = flatten(build_tree(s.entries, s.leaf_id, s.labels))
    assert len(rows) == 3000 and all(r.prefix == "" for r in rows) and rows[-1].is_leaf
    s.close()


def _info(sid: str, title: str | None, first: str | None) -> SessionInfo:
    return SessionInfo(id=sid, path=Path(f"/x/{sid}.jsonl"), scope="global", title=title, first_message=first)


def test_picker_filter_search_named_and_sort() -> None:
    infos = [
        _info("aa" * 16, None, "fix the parser bug"),
        _info("bb" * 16, "Zebra release", "ship it"),
        _info("cc" * 16, "alpha notes", "Parser ideas"),
    ]
    assert [i.id[:2] for i in filter_sessions(infos, "PARSER")] == ["aa", "cc"]
    assert [i.id[:2] for i in filter_sessions(infos, "parser ideas")] == ["cc"]
    assert [i.id[:2] for i in filter_sessions(infos, "bbbb")] == ["bb"]
    assert [i.id[:2] for i in filter_sessions(infos, named_only=True)] == ["bb", "cc"]
    # titled sessions by title, then the untitled ones in their recent order
    assert [i.id[:2] for i in filter_sessions(infos, sort="name")] == ["cc", "bb", "aa"]
    with pytest.raises(ValueError):
        filter_sessions(infos, sort="size")

"""Empty sessions are removed only when this process made them; display titles never show bash-triple markup."""

from __future__ import annotations

from pathlib import Path

import pytest

from lime_repl.store.empty import has_entries, remove_session_files
from lime_repl.store.session import Session
from lime_repl.store.titles import display_title, first_prompt


def test_a_new_session_left_empty_is_removed_with_its_lock(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w")
    assert session.path.exists() and session.discardable
    session.close()
    assert session.removed and list(tmp_path.iterdir()) == []


def test_resumed_imported_or_used_sessions_are_kept(tmp_path: Path) -> None:
    kept = Session.create(tmp_path / "a", "/w")
    kept.close(remove_if_empty=False)
    resumed = Session.open(kept.path)
    assert not resumed.discardable
    resumed.close()
    assert kept.path.exists() and not resumed.removed
    imported = Session.create(tmp_path / "b", "/w", imported_from={"tool": "pi", "path": "/x.jsonl"})
    imported.close()
    assert imported.path.exists() and not imported.removed
    used = Session.create(tmp_path / "c", "/w")
    used.rename("named")
    used.close()
    assert used.path.exists() and not used.removed


def test_only_header_lines_count_as_empty_and_a_symlink_is_never_removed(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w")
    session.close(remove_if_empty=False)
    assert not has_entries(session.path)
    link = tmp_path / ("f" * 32 + ".jsonl")
    link.symlink_to(session.path)
    assert has_entries(link) and not remove_session_files(link) and link.is_symlink()
    assert remove_session_files(session.path) and not session.path.exists()


def test_display_title_prefers_the_title_then_the_first_prompt() -> None:
    bash_in = {"type": "message", "role": "user", "content": [{"type": "text", "text": "<bash-input>echo second</bash-input>"}]}
    bash_out = {"type": "message", "role": "user", "content": [{"type": "text", "text": "<bash-stdout>row15-1</bash-stdout>"}]}
    assert first_prompt(bash_in) == "!echo second" and first_prompt(bash_out) is None
    assert first_prompt({"type": "message", "role": "assistant", "content": "hi"}) is None
    assert display_title("Named", "!echo second") == "Named"
    assert display_title(None, "<bash-input>ls -l</bash-input>") == "!ls -l"  # an index written by an older lime
    assert display_title(None, "<bash-stdout>row15-1</bash-stdout>") is None
    assert display_title(None, "two\nlines") == "two lines" and display_title(None, None) is None


@pytest.mark.parametrize(
    "first",
    [
        "word " * 60,
        "a" + " " * 150 + "b" * 40,  # the start is mostly spaces: the joined start is too short
        "long\tline\nwith  runs   of\r\nspace " * 8,
        "é" * 120,  # not ASCII: the full title
        "x" * 95 + "\x1b[31m" + "y" * 80,  # a control inside the start: the full title
        "!echo " + "z" * 150,
        "<bash-input>" + "ls -la " * 30 + "</bash-input>",
        "short one",
        "q" * 97 + " " + "r" * 50,
    ],
)
def test_a_title_cut_for_a_column_starts_the_full_one(first: str) -> None:
    full = display_title(None, first)
    assert full is not None
    cut = display_title(None, first, least=48)
    assert cut is not None and full.startswith(cut)
    assert cut == full or (len(cut) > 48 and cut.isascii() and cut.isprintable())
    assert display_title("Set", first, least=48) == "Set"

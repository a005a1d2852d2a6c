"""Large Claude Code and Codex logs are read line by line with the same result as the whole-file reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.exchange_helpers import FOREIGN

from lime_repl.exchange.guard import ImportRefused
from lime_repl.exchange.import_ import read_bytes
from lime_repl.exchange.stream import read_streamed

FILES = [
    FOREIGN / "claude-code/sample_session.jsonl",
    *sorted((FOREIGN / "codex").glob("*.jsonl")),
]
STAMP = "2026-01-01T00:00:00.000Z"


def _shape(entries: list[dict]) -> list[tuple]:
    """Entries without their ids (the readers give fresh ones to non-hex source ids)."""
    drop = {"id", "parentId", "timestamp"}
    return [tuple(sorted((k, repr(v)) for k, v in e.items() if k not in drop)) for e in entries]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.parent.name)
def test_streamed_read_equals_the_whole_file_read(path: Path, tmp_path: Path) -> None:
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes() + b"not json\n")
    streamed = read_streamed(copy, 1 << 30, fallback=STAMP)
    whole = read_bytes(copy.read_bytes(), str(copy), cap=1 << 30, fallback=STAMP)
    assert streamed is not None and streamed.tool == whole.tool
    assert _shape(streamed.entries) == _shape(whole.entries) and len(whole.entries) > 3
    assert streamed.title == whole.title and streamed.warnings == whole.warnings
    assert any("skipped a line that is not JSON" in w for w in streamed.warnings)


def test_other_content_is_left_to_the_whole_file_reader(tmp_path: Path) -> None:
    pi_log = next((FOREIGN / "pi").glob("*.jsonl"))
    assert read_streamed(pi_log, 1 << 30, fallback=STAMP) is None
    big = tmp_path / "big.jsonl"
    big.write_bytes((FOREIGN / "claude-code/sample_session.jsonl").read_bytes())
    assert read_streamed(big, 100, fallback=STAMP) is None  # over the cap: the whole-file reader refuses it
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(big.read_bytes() + b'{"type":"user","message":{"content":"\xff"}}\n')
    with pytest.raises(ImportRefused, match="invalid UTF-8 on line"):
        read_streamed(bad, 1 << 30, fallback=STAMP)

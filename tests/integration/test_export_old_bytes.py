"""A log written by an old version, with the bytes ED B3 A9 (a lone surrogate) in a line, exports as valid UTF-8.

Old versions wrote an undecodable byte of a command's output as its
``surrogateescape`` code point U+DCE9, encoded with ``surrogatepass``. Every
export format, the foreign ones included, must repair that to U+FFFD.
"""

from __future__ import annotations

import pytest
from support.lime_env import LimeEnv

OLD = b"caf\xed\xb3\xa9"  # U+DCE9 as an old version encoded it: not UTF-8


@pytest.fixture
def old_log(lime_env: LimeEnv) -> str:
    ran = lime_env.run(input="!echo cafe-marker\n")
    assert ran.returncode == 0, ran.stderr
    [log] = lime_env.session_files()
    data = log.read_bytes()
    assert data.count(b"cafe-marker") == 2  # the command line and its stdout
    log.write_bytes(data.replace(b"cafe-marker", OLD))
    with pytest.raises(UnicodeDecodeError):
        log.read_bytes().decode("utf-8")
    return log.name.split(".")[0]


@pytest.mark.parametrize("fmt", ["pi", "claude", "codex", "jsonl", "json", "md", "html"])
def test_every_export_of_an_old_log_is_valid_utf8(lime_env: LimeEnv, old_log: str, fmt: str) -> None:
    ran = lime_env.run("export", old_log[:8], "--format", fmt, "-o", "-")
    assert ran.returncode == 0, ran.stderr
    text = ran.stdout.decode("utf-8")  # strict: raises on ED B3 A9
    assert "caf\ufffd" in text.replace("\\ufffd", "\ufffd")
    assert b"\xed\xb3\xa9" not in ran.stdout

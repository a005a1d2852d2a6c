"""A streamed import writes exactly what ``json`` would, where orjson reads or writes a value otherwise.

The values orjson and ``json`` treat differently (floats under 10^-4, integers
over 64 bits, ``NaN``, a lone surrogate) are put into real Claude Code logs,
imported by the real ``lime import``; every line written must be the line
lime's ``json`` serializer gives for it, and every value must come through as
``json`` reads it.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

from support.exchange_helpers import FOREIGN

from lime_repl.exchange.codec import SLOW, LineCodec
from lime_repl.outputs.redact import Redactor
from lime_repl.outputs.redact_batch import batchable
from lime_repl.store.records import dumps

REAL = Path(__file__).resolve().parents[1] / "data" / "real" / "claude-code"
BIG = 12345678901234567890123


def _log(tmp_path: Path, name: str, extra: list[str]) -> Path:
    """The Claude Code fixture followed by ``extra`` lines (records on its chain, as text)."""
    fixture = (FOREIGN / "claude-code/sample_session.jsonl").read_text(encoding="utf-8")
    path = tmp_path / f"{name}.jsonl"
    path.write_text(fixture + "".join(line + "\n" for line in extra), encoding="utf-8")
    return path


def _record(n: int, data_text: str) -> str:
    """A ``progress`` record on the fixture's chain whose ``data`` is the JSON text ``data_text``."""
    parent = "msg-007" if n == 0 else f"extra-{n - 1}"
    return (
        f'{{"parentUuid":"{parent}","type":"progress","uuid":"extra-{n}","sessionId":"test-session-id",'
        f'"timestamp":"2025-12-24T11:{n // 60:02d}:{n % 60:02d}.000Z","data":{data_text}}}'
    )


def _import(tmp_path: Path, source: Path, **env: str) -> list[bytes]:
    home = tmp_path / f"home-{source.stem}"
    done = subprocess.run(
        [sys.executable, "-m", "lime_repl", "import", str(source)],
        env=dict(os.environ, LIME_HOME=str(home), **env), cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (path,) = home.glob("sessions/*/*.jsonl")
    return path.read_bytes().splitlines()


def _written_as_json(lines: list[bytes]) -> list[dict[str, Any]]:
    """Every line parsed, after checking it is byte for byte what lime's ``json`` serializer writes for it."""
    entries = []
    for line in lines:
        entry = json.loads(line)
        assert dumps(entry) == line + b"\n", line
        entries.append(entry)
    return entries


def _data(entries: list[dict[str, Any]]) -> list[Any]:
    return [e["data"]["data"] for e in entries if e.get("customType") == "claude-code:progress"]


def test_floats_orjson_writes_otherwise_are_written_as_json_writes_them(tmp_path: Path) -> None:
    values = ["1e-05", "1.5e-07", "0.00001234", "-3e-09", "2.5", "1e+16", "123456.789", "0.0001"]
    extra = [
        _record(0, "[" + ",".join(values) + "]"),
        _record(1, '{"uuid":"19ce63f6-320e-4f40","cost":1e-05,"nested":[[{"x":7e-06}]]}'),
        _record(2, '{"text":"caf\\u00e9 \\u2028 \\"q\\" \\\\ \\t","ok":true,"n":-0}'),
    ]
    entries = _written_as_json(_import(tmp_path, _log(tmp_path, "floats", extra)))
    data = _data(entries)
    assert data[0] == [float(v) for v in values]
    assert data[1] == {"uuid": "19ce63f6-320e-4f40", "cost": 1e-05, "nested": [[{"x": 7e-06}]]}
    assert data[2] == {"text": "café \u2028 \"q\" \\ \t", "ok": True, "n": 0}
    assert b"0.00001" not in b"".join(_import(tmp_path, _log(tmp_path, "floats2", extra[:1])))


def test_an_integer_over_64_bits_keeps_every_digit(tmp_path: Path) -> None:
    extra = [_record(0, f'{{"big":{BIG},"neg":-{BIG},"edge":18446744073709551616}}'), _record(1, '{"after":1}')]
    entries = _written_as_json(_import(tmp_path, _log(tmp_path, "bigint", extra)))
    assert _data(entries) == [{"big": BIG, "neg": -BIG, "edge": 18446744073709551616}, {"after": 1}]


def test_nan_and_infinity_stay_nan_and_infinity_in_every_later_entry(tmp_path: Path) -> None:
    extra = [_record(0, '{"x":NaN}'), _record(1, '{"y":Infinity,"z":-Infinity}'), _record(2, '{"w":1e999}')]
    lines = _import(tmp_path, _log(tmp_path, "nan", extra))
    entries = _written_as_json(lines)
    first, second, third = _data(entries)
    assert math.isnan(first["x"])
    assert second == {"y": math.inf, "z": -math.inf}
    assert third == {"w": math.inf}
    assert b"null" not in b"".join(line for line in lines if b"claude-code:progress" in line)


def test_a_lone_surrogate_is_repaired_as_before(tmp_path: Path) -> None:
    extra = [_record(0, '{"text":"bad \\udcff byte","pair":"\\ud83d\\ude00"}')]
    entries = _written_as_json(_import(tmp_path, _log(tmp_path, "surrogate", extra)))
    assert _data(entries) == [{"text": "bad \ufffd byte", "pair": "\U0001f600"}]


def test_the_codec_gives_json_s_bytes_or_leaves_the_value_to_json() -> None:
    codec = LineCodec()
    rng = random.Random(7)
    values: list[float] = []
    for exponent in range(-12, 20):
        values += [rng.random() * 10.0**exponent for _ in range(300)]
    for _ in range(20000):
        value = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        if math.isfinite(value):
            values.append(value)
    left = 0
    for value in values:
        entry = {"type": "custom", "data": [value, {"v": -value}]}
        line = codec.dump(entry)
        if line is None:
            left += 1
        else:
            assert line + b"\n" == dumps(entry), value
    assert left < len(values) // 10  # most floats are written by orjson
    assert codec.parse(b'{"n":1234567890123456789}') is SLOW  # 19 digits: read by json
    assert codec.dump({"a": 1}) is None  # and from then on, json writes every entry


def _lines() -> list[bytes]:
    """Every line of the real Claude Code logs, serialized as lime writes entries, plus lines with secrets."""
    lines = []
    for path in sorted(REAL.rglob("*.jsonl")):
        for raw in path.read_bytes().splitlines():
            if raw.strip():
                lines.append(dumps(json.loads(raw)).rstrip(b"\n"))
    secrets = [
        "AKIAABCDEFGHIJKLMNOP", "ghp_" + "a" * 36, "M" + "a" * 23 + "." + "b" * 6 + "." + "c" * 27,
        "123456789:" + "A" * 35, "password = 'hunter2hunter2'", "xoxb-1234-5678-abcdefg", "Zq7Wk2mPx9Lr4Tn8Vb3",
    ]  # fmt: skip
    for n, secret in enumerate(secrets):
        lines.insert(n * 7 % len(lines), dumps({"type": "message", "text": f"before {secret} after"}).rstrip(b"\n"))
    return lines


def test_a_quiet_line_is_one_for_json_leaves_alone() -> None:
    redactor = Redactor({"MY_API_TOKEN": "Zq7Wk2mPx9Lr4Tn8Vb3"})
    lines = _lines()
    quiet_count = alone = 0
    for start in range(0, len(lines), 256):
        batch: list[bytes | None] = list(lines[start : start + 256])
        quiet = redactor.quiet_lines(batch)
        for line, said in zip(batch, quiet, strict=True):
            assert line is not None
            per_line = redactor.for_json(line.decode("utf-8"), line) is None
            assert per_line or not said, line[:200]  # never quiet where a rule may apply
            quiet_count += said
            alone += per_line and line.isascii()
    # A line with a gate literal is left to for_json (which may still find no rule applies): most are quiet.
    assert quiet_count > alone * 3 // 4
    secret_lines = [line for line in lines if line.startswith(b'{"type":"message","text":"before ')]
    assert len(secret_lines) == 7 and not any(redactor.quiet_lines(list(secret_lines)))


def test_only_patterns_that_cannot_see_past_their_line_are_searched_over_a_batch() -> None:
    assert batchable(re.compile(r"\.[a-zA-Z\d_-]{6}\."))
    assert batchable(re.compile(":[0-9A-Za-z_-]{35}"))
    for unsafe in [r"a.b", r"^x", r"x$", r"[^a]b", r"\bkey", r"(?i)key", r"(?<=a)b", r"a\sb", r"a\nb", r"\x41"]:
        assert not batchable(re.compile(unsafe)), unsafe
    assert not batchable(re.compile("ab", re.MULTILINE))


def test_a_streamed_import_of_many_entries_is_stored_redacted(tmp_path: Path) -> None:
    # Far more entries than one batch of the redactor's scan, the secrets in the middle of a batch.
    token, value = "ghp_" + "a" * 36, "Zq7Wk2mPx9Lr4Tn8Vb3"
    extra = [_record(n, json.dumps({"n": n, "text": "plain progress text"})) for n in range(600)]
    extra[300] = _record(300, json.dumps({"text": f"key AKIAABCDEFGHIJKLMNOP and {token}"}))
    extra[301] = _record(301, json.dumps({"text": f"the value {value} here"}))
    lines = _import(tmp_path, _log(tmp_path, "secrets", extra), MY_API_TOKEN=value)
    written = b"\n".join(lines)
    for secret in (b"AKIAABCDEFGHIJKLMNOP", token.encode(), value.encode()):
        assert secret not in written
    data = _data(_written_as_json(lines))
    assert len(data) == 600 and data[0] == {"n": 0, "text": "plain progress text"}
    assert data[300]["text"].count("[REDACTED]") == 2 and data[301] == {"text": "the value [REDACTED] here"}

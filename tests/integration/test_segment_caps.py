"""No segment ever exceeds ``session.max_bytes`` (262,144 bytes), whatever wrote the entries.

Each kind of oversized input goes through the real ``lime``: a 300 KB
``/rename`` and ``/label``, a 300 KB ``!`` command line, huge command output,
and ``lime import`` of a file with a 15 MB line and of a message whose many
large blocks only fit once the entry as a whole is capped. Every segment file
is then measured, and the entries are checked to have survived rotation.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.lime_env import LimeEnv

MAX_BYTES = 262_144
BIG = 300_000


def segments(lime_env: LimeEnv) -> list[Path]:
    return sorted(
        p for p in lime_env.home.glob("sessions/*/*.jsonl*") if not p.name.endswith((".lock", ".torn"))
    )


def entries(paths: list[Path]) -> list[dict]:
    return [json.loads(line) for p in paths for line in p.read_bytes().splitlines()]


def assert_every_segment_fits(paths: list[Path]) -> None:
    assert paths
    sizes = {p.name: p.stat().st_size for p in paths}
    assert all(size <= MAX_BYTES for size in sizes.values()), sizes


def test_oversized_titles_labels_commands_and_outputs_keep_segments_small(lime_env: LimeEnv) -> None:
    lines = [f"/rename {'T' * BIG}", "!echo first", f"/label {'L' * BIG}"]
    lines += [f"!: {chr(ord('a') + n) * BIG}; echo long-line-{n}" for n in range(3)]
    lines += [f"!head -c 3000000 /dev/zero | tr '\\0' x; echo; echo big-{n}" for n in range(6)]
    lines += [f"!echo small-{n}" for n in range(40)]
    ran = lime_env.run(input="\n".join(lines) + "\n", timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert b"Traceback" not in ran.stderr

    paths = segments(lime_env)
    assert len(paths) >= 2, "the workload must rotate at least once"
    assert_every_segment_fits(paths)
    found = entries(paths)
    # Every entry survived rotation (three rotated copies are kept): 50 commands, as triples.
    inputs = [e for e in found if e["type"] == "message" and "<bash-input>" in e["content"][0]["text"]]
    assert len(inputs) == 50
    assert [t["title"] for t in found if t["type"] == "title"] == ["T" * 199 + "…"]
    assert [t["label"] for t in found if t["type"] == "label"] == ["L" * 199 + "…"]
    checkpoints = [e for e in found if e["type"] == "checkpoint"]
    assert checkpoints and all(c["title"] == "T" * 199 + "…" for c in checkpoints)
    assert all(len(v) <= 200 for c in checkpoints for v in c["labels"].values())
    longest = max(len(json.dumps(e, ensure_ascii=False).encode()) for e in found)
    assert longest <= MAX_BYTES // 4, longest
    # The 300 KB command line is kept at both ends with the cut marked in bytes.
    first = next(e["content"][0]["text"] for e in inputs if "long-line-0" in e["content"][0]["text"])
    assert first.startswith("<bash-input>: aaaa") and "bytes truncated …]" in first
    out = [
        e["content"][0]["text"]
        for e in found
        if e["type"] == "message" and "big-0" in e["content"][0]["text"]
    ]
    assert len(out) == 2 and "bytes truncated …]" in out[1]  # the command, then its capped output
    # The session still resumes and lists with every entry.
    listed = lime_env.run("session", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    resumed = lime_env.run("-r", "latest", input="!echo after\n")
    assert resumed.returncode == 0 and b"rotation dropped" not in resumed.stderr, resumed.stderr
    assert_every_segment_fits(segments(lime_env))


def _pi_file(path: Path, blocks: list[str]) -> None:
    header = {"type": "session", "id": "s1", "timestamp": "2026-04-06T04:00:00.000Z", "cwd": "/tmp/x"}
    ask = {
        "type": "message",
        "timestamp": "2026-04-06T04:00:00.100Z",
        "message": {"role": "user", "content": [{"type": "text", "text": "read it"}], "timestamp": 1},
    }
    big = {
        "type": "message",
        "timestamp": "2026-04-06T04:00:00.200Z",
        "message": {
            "role": "assistant",
            "content": [{"type": "text", "text": b} for b in blocks],
            "timestamp": 2,
        },
    }
    after = {
        "type": "message",
        "timestamp": "2026-04-06T04:00:00.300Z",
        "message": {"role": "user", "content": [{"type": "text", "text": "thanks"}], "timestamp": 3},
    }
    path.write_text("".join(json.dumps(r) + "\n" for r in (header, ask, big, after)))


def test_import_of_a_15_mb_line_writes_no_oversized_segment(lime_env: LimeEnv) -> None:
    source = lime_env.cwd / "huge.jsonl"
    _pi_file(source, ["H" * 7_000_000 + "middle" + "E" * 8_000_000])
    assert source.stat().st_size > 15_000_000
    imported = lime_env.run("import", str(source), timeout=120)
    assert imported.returncode == 0, imported.stderr
    paths = segments(lime_env)
    assert_every_segment_fits(paths)
    texts = [b["text"] for e in entries(paths) if e["type"] == "message" for b in e["content"]]
    assert "read it" in texts and "thanks" in texts  # every entry kept
    [capped] = [t for t in texts if t.startswith("HHHH")]
    assert capped.endswith("EEEE") and "bytes truncated …]" in capped and "middle" not in capped


def test_an_entry_of_many_large_fields_is_capped_as_a_whole(lime_env: LimeEnv) -> None:
    source = lime_env.cwd / "wide.jsonl"
    _pi_file(source, [chr(ord("A") + n) * 100_000 for n in range(20)])  # 20 blocks of 100 KB
    imported = lime_env.run("import", str(source), timeout=120)
    assert imported.returncode == 0, imported.stderr
    paths = segments(lime_env)
    assert_every_segment_fits(paths)
    found = entries(paths)
    [wide] = [e for e in found if e["type"] == "message" and len(e["content"]) == 20]
    assert len(json.dumps(wide, ensure_ascii=False).encode()) <= MAX_BYTES // 4
    assert all(b["text"][0] == chr(ord("A") + n) for n, b in enumerate(wide["content"]))  # each block kept

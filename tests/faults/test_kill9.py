"""``kill -9`` at seeded random points while line-mode lime appends entries.

Each round resumes the same session (``lime -r ID``), feeds it ``!echo ack-N``
lines and SIGKILLs it after a number of outputs plus a seeded delay of 0 to 4
ms. The number of outputs runs through 0 to 9 in a seeded order, each once in
every ten rounds, so kills land in start-up, resume, torn-tail repair, appends,
fsync and rotation (the segments are tiny, and ``backups = 0`` keeps them all, so
nothing may be missing). Output ``ack-(N+1)`` on stdout proves that line N was
handled whole: recorded and fsynced at the end of its turn, i.e. acknowledged.

Some rounds also append a cut-off line to the active file after the kill, as a
power cut would leave it (onto whole lines only: lime never writes after a torn
line it has not moved away). The next round (the *next open*) must move it to
``<id>.jsonl.torn``, print no traceback, and lose no acknowledged entry.

``LIME_FAULT_KILLS`` sets the number of rounds (25 in the suite: each round
starts a real lime, which is most of its cost; the benchmark run uses 1,000)
and ``LIME_FAULT_SEED`` the seed. With the default seed, 25 rounds kill three
times before any output and repair about ten torn tails.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from fault_support import bash_inputs, send, session_entries, spawn, whole_lines
from support.lime_env import LimeEnv

from lime_repl.store.segments import segment_paths
from lime_repl.store.session import Session

ROUNDS = int(os.environ.get("LIME_FAULT_KILLS", "25"))
SEED = int(os.environ.get("LIME_FAULT_SEED", "20261121"))
LINES_PER_ROUND = 10
SMALL = {"LIME_SESSION_MAX_BYTES": "3000", "LIME_SESSION_BACKUPS": "0"}


def _ends_whole(path: Path) -> bool:
    """``path`` exists and is empty or ends with a whole line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return False
    return not data or data.endswith(b"\n")


def _read_acks(stdout: bytes) -> list[int]:
    return [int(line[4:]) for line in stdout.split(b"\n") if line.startswith(b"ack-") and line[4:].isdigit()]


@pytest.mark.timeout(
    60 + ROUNDS
)  # about a quarter of a second a round; 1,000 rounds need more than the default
def test_kill9_never_loses_an_acknowledged_entry(lime_env: LimeEnv) -> None:
    rng = random.Random(SEED)
    first = spawn(lime_env, extra=SMALL)
    out, err = first.communicate(b"!echo ack-0\n", timeout=60)
    assert first.returncode == 0, err
    [active] = lime_env.session_files()
    sid = active.name[:8]
    acknowledged = ["echo ack-0"]
    injected: list[bytes] = []
    counter = 1
    kills_before_output = 0
    kill_points: list[int] = []

    for _round in range(ROUNDS):
        commands = [f"echo ack-{counter + i}" for i in range(LINES_PER_ROUND)]
        counter += LINES_PER_ROUND
        proc = spawn(lime_env, "-r", sid, extra=SMALL)
        send(proc, *(f"!{c}" for c in commands))
        assert proc.stdout is not None
        if not kill_points:  # every number of outputs before the kill once in each ten rounds
            kill_points = list(range(LINES_PER_ROUND))
            rng.shuffle(kill_points)
        wanted = kill_points.pop()
        printed: list[int] = []
        while len(printed) < wanted:
            line = proc.stdout.readline()
            if not line:
                break
            printed.extend(_read_acks(line))
        time.sleep(rng.uniform(0, 0.004))
        proc.kill()
        rest, err = proc.communicate(timeout=30)
        assert b"Traceback" not in err, err.decode(errors="replace")
        printed.extend(_read_acks(rest))
        if not printed:
            kills_before_output += 1
        else:
            # Line i was handled whole (recorded, fsynced) once line i+1 printed its output.
            first_of_round = counter - LINES_PER_ROUND
            acknowledged.extend(f"echo ack-{n}" for n in range(first_of_round, max(printed)))

        recorded = bash_inputs(session_entries(active))  # every whole line is valid JSON
        _assert_in_order(acknowledged, recorded)

        if rng.random() < 0.3 and _ends_whole(active):
            # What a power cut leaves: the start of a line whose end never reached the disk. Only onto
            # whole lines (or an empty file): lime moves a torn line away before it writes again, so a
            # torn line never follows another one. (A round killed in start-up wrote nothing, and two
            # fragments in a row made a file that begins like no lime log, which lime rightly refuses.)
            line = f'{{"type":"message","id":"{rng.getrandbits(32):08x}","role":"user","content":[]}}'
            fragment = line.encode()[: rng.randrange(1, len(line))]
            with open(active, "ab") as fh:
                fh.write(fragment)
            injected.append(fragment)

    final = spawn(lime_env, "-r", sid, extra=SMALL)
    out, err = final.communicate(b"!echo final\n", timeout=60)
    assert final.returncode == 0, err
    assert b"Traceback" not in err
    assert out == b"final\n"
    session = Session.load(active)
    assert not [w for w in session.warnings if "skipped" in w or "torn" in w], session.warnings
    recorded = bash_inputs(session_entries(active))
    _assert_in_order([*acknowledged, "echo final"], recorded)
    for path in segment_paths(active):
        assert whole_lines(path)[1] == b"", f"{path} still ends in a torn line"
    torn_file = Path(f"{active}.torn")
    if injected:
        kept = torn_file.read_bytes()
        for fragment in injected:
            assert fragment in kept
    print(
        f"kill -9: {ROUNDS} rounds (seed {SEED}), {len(acknowledged)} acknowledged entries kept, "
        f"{kills_before_output} kills before any output, {len(injected)} torn tails repaired, "
        f"{len(segment_paths(active))} segments"
    )
    assert len(segment_paths(active)) > 3, "the rounds must rotate the log"
    assert kills_before_output < ROUNDS, "some kills must land after output began"
    if ROUNDS >= LINES_PER_ROUND:
        assert kills_before_output > 0, "some kills must land in start-up, before any output"


def _assert_in_order(acknowledged: list[str], recorded: list[str]) -> None:
    """Every acknowledged command is recorded exactly once, and in the order it was sent."""
    positions = {}
    for index, command in enumerate(recorded):
        assert command not in positions, f"{command} recorded twice"
        positions[command] = index
    missing = [c for c in acknowledged if c not in positions]
    assert not missing, f"acknowledged but lost: {missing[:5]}"
    order = [positions[c] for c in acknowledged]
    assert order == sorted(order)

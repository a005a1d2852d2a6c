"""A ``!`` command's output through a :class:`DirectOutput`: the middle of a long stream is spliced.

Real bash, real descriptors (files, pipes): the bytes that reach the output
are the command's, byte for byte, and the capping buffer keeps the same head,
tail and truncated count as a buffer fed every byte.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lime_repl.outputs.capping import HeadTailBuffer
from lime_repl.runtime.shell import PersistentShell
from lime_repl.runtime.shell_io import SPLICE_MIN, DirectOutput

#: About 16 MB of distinct lines: far more than the head and tail kept, and than one pipe holds.
COMMAND = "seq 1 2000000"


@pytest.fixture(scope="module")
def expected() -> bytes:
    return subprocess.run(COMMAND.split(), capture_output=True, check=True).stdout


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[PersistentShell]:
    with PersistentShell(tmp_path) as sh:
        yield sh


class CountingOutput(DirectOutput):
    """A DirectOutput that also counts the bytes it was handed by splice."""

    def __init__(self, fd: int) -> None:
        super().__init__(fd)
        self.spliced = 0

    def splice_from(self, fd: int, count: int) -> int:
        moved = super().splice_from(fd, count)
        self.spliced += moved
        return moved


def whole(data: bytes) -> HeadTailBuffer:
    buf = HeadTailBuffer()
    buf.feed(data)
    return buf


def test_a_long_stream_to_a_file_is_spliced_and_recorded_the_same(
    shell: PersistentShell, tmp_path: Path, expected: bytes
) -> None:
    target = tmp_path / "out.bin"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        direct = CountingOutput(fd)
        result = shell.run(COMMAND, on_stdout=direct)
    finally:
        os.close(fd)
    assert result.exit_code == 0
    assert target.read_bytes() == expected
    assert direct.spliced > len(expected) // 2  # most of it never passed through Python
    reference = whole(expected)
    assert result.stdout.total == len(expected)
    assert result.stdout.truncated == reference.truncated
    assert result.stdout.text() == reference.text()
    assert result.stdout.text(str.upper) == reference.text(str.upper)


def test_an_append_only_output_refuses_splice_and_gets_every_byte(
    shell: PersistentShell, tmp_path: Path, expected: bytes
) -> None:
    target = tmp_path / "appended.bin"
    target.write_bytes(b"before\n")
    fd = os.open(target, os.O_WRONLY | os.O_APPEND)
    try:
        direct = CountingOutput(fd)
        result = shell.run(COMMAND, on_stdout=direct)
    finally:
        os.close(fd)
    assert direct.splicing is False and direct.spliced == 0  # EINVAL: O_APPEND cannot be spliced to
    assert target.read_bytes() == b"before\n" + expected
    assert result.stdout.text() == whole(expected).text()


def test_a_slow_reader_of_a_pipe_gets_every_byte_in_order(shell: PersistentShell, expected: bytes) -> None:
    read_end, write_end = os.pipe()
    got = bytearray()

    def slow_reader() -> None:
        while chunk := os.read(read_end, 65536):
            got.extend(chunk)
            time.sleep(0.0005)  # the output pipe fills: lime waits for it, as a write would

    reader = threading.Thread(target=slow_reader)
    reader.start()
    try:
        result = shell.run(COMMAND, on_stdout=DirectOutput(write_end))
    finally:
        os.close(write_end)
        reader.join(timeout=60)
        os.close(read_end)
    assert bytes(got) == expected
    assert result.stdout.text() == whole(expected).text()


def test_the_tail_ends_the_stream_when_its_last_write_is_small(
    shell: PersistentShell, tmp_path: Path, expected: bytes
) -> None:
    data = expected[: (3 << 20) + 100]  # three 1 MiB writes, then 100 bytes: the splice must leave the tail
    (tmp_path / "source").write_bytes(data)
    target = tmp_path / "copy"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        direct = CountingOutput(fd)
        result = shell.run("dd if=source bs=1M status=none", on_stdout=direct)
    finally:
        os.close(fd)
    assert target.read_bytes() == data and direct.spliced > 0
    assert result.stdout.text() == whole(data).text()


def test_a_gone_reader_cancels_the_command_and_the_shell_stays_usable(shell: PersistentShell) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    with pytest.raises(BrokenPipeError):
        shell.run("head -c 50000000 /dev/zero", on_stdout=DirectOutput(write_end))
    os.close(write_end)
    assert shell.run("echo still here").stdout.text() == "still here\n"


def test_short_output_is_never_spliced(shell: PersistentShell, tmp_path: Path) -> None:
    fd = os.open(tmp_path / "small", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        direct = CountingOutput(fd)
        result = shell.run(f"head -c {SPLICE_MIN} /dev/zero | tr '\\0' x", on_stdout=direct)
    finally:
        os.close(fd)
    assert direct.spliced == 0  # the head and tail are read: there is no middle worth a splice
    assert (tmp_path / "small").read_bytes() == b"x" * SPLICE_MIN
    assert result.stdout.total == SPLICE_MIN


def test_prepare_runs_once_before_the_first_byte(shell: PersistentShell, tmp_path: Path) -> None:
    target = tmp_path / "prepared"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
    calls: list[int] = []
    try:
        direct = DirectOutput(fd, prepare=lambda: calls.append(os.fstat(fd).st_size))
        shell.run("echo one; echo two", on_stdout=direct)
        shell.run("echo three", on_stdout=direct)
    finally:
        os.close(fd)
    assert calls == [0]
    assert target.read_bytes() == b"one\ntwo\nthree\n"

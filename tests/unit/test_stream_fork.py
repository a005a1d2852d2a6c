"""When a large import is read by a forked child (``exchange/stream_fork.can_fork``): size, cores, threads."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from lime_repl.exchange.stream_fork import MIN_FORK_BYTES, can_fork

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity")


@pytest.fixture
def cores() -> Iterator[set[int]]:
    mine = os.sched_getaffinity(0)
    if len(mine) < 2:
        pytest.skip("needs two cores")
    yield mine
    os.sched_setaffinity(0, mine)


def test_a_large_file_on_two_cores_is_read_by_a_child(cores: set[int]) -> None:
    assert can_fork(MIN_FORK_BYTES)
    assert not can_fork(MIN_FORK_BYTES - 1), "a smaller file is read in one process"


def test_one_core_reads_in_one_process(cores: set[int]) -> None:
    os.sched_setaffinity(0, {min(cores)})
    assert not can_fork(MIN_FORK_BYTES * 4)


def test_a_process_running_other_threads_does_not_fork(cores: set[int]) -> None:
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        assert not can_fork(MIN_FORK_BYTES * 4)
    finally:
        release.set()
        worker.join()
    assert can_fork(MIN_FORK_BYTES * 4)

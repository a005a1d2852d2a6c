"""A large streamed import read in a forked child process while this one writes: two cores for one import.

Source: the import figure of DESIGN.md section 8 (``import_large``). A streamed
import (:mod:`.stream`) does two kinds of work per record: reading (the line
parsed, the record mapped onto a lime entry, the entry serialized) and writing
(the redaction scan, the entry guard, the segment writes and the session's
tree). Each is about half of a large import's time, and neither needs the other's
state, so :class:`ForkedBatches` forks once, before the session is created,
and the child does the reading while the parent writes. Nothing of the
session (its log, lock or index) exists in the child, which never writes a file.

The child sends each batch down a pipe as one pickle, framed by its length
(8 bytes, little-endian): the entries' lines as the codec serialized them
(:meth:`~.codec.LineCodec.dump_many`, its small-float test left to the parent,
:func:`~.codec.exact`), and each entry the codec could not serialize as itself.
The pipe's buffer is widened (``F_SETPIPE_SZ``: 4 MiB, else Linux's unprivileged
limit of 1 MiB), so the child works ahead by a few batches instead of taking
turns with the parent. The parent decodes each line with orjson, which
gives back the same entry (orjson writes each value so that it reads back
equal; a line it could not write came as the entry itself), so what the
parent writes is byte for byte what the one-process import writes. After the
last batch the child sends ``("done", value of finish())``; an exception in the
child comes back as ``("error", class name, message)`` and is raised here again
(as its own class when it is one of ``refusals``, else as ``RuntimeError`` holding the child's
traceback: a bug, whose traceback goes to the program log), and a child that ends without a word
(killed) as a :class:`~lime_repl.errors.LimeError` naming how it ended.

The child ignores SIGINT (Ctrl-C stops the parent, which kills the child), and
ends with :func:`os._exit`, running no exit handler of the parent's. Where
:func:`os.fork` does not exist, for a file under :data:`MIN_FORK_BYTES`, where the process may run
on one core only (its CPU affinity), and in a process running other threads (whose locks a child
could find held forever), the import reads in one process as before (:func:`can_fork`).
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

from ..errors import LimeError
from ..store.records import Entry

__all__ = ["MIN_FORK_BYTES", "ForkedBatches", "Lined", "can_fork"]

#: The smallest file read in a child (bytes): below it, forking costs more than it gives.
MIN_FORK_BYTES = 8 << 20
_FRAME = struct.Struct("<Q")
_PIPE_BYTES = 4 << 20  # the pipe's buffer, where the system allows it: several batches


def can_fork(size: int) -> bool:
    """True when a file of ``size`` bytes is read in a child: it is large, and this process can fork,
    runs no other thread, and may run on two cores or more (its CPU affinity, else the machine's count)."""
    if size < MIN_FORK_BYTES or not hasattr(os, "fork"):
        return False
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return False  # a child forked beside other threads may find their locks held forever
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return cores >= 2


class Lined(list):  # type: ignore[type-arg]
    """A batch of entries (a ``list``) with ``lines``: each entry's serialized line, or None."""

    __slots__ = ("lines",)

    def __init__(self, entries: Iterable[Entry], lines: list[bytes | None]) -> None:
        super().__init__(entries)
        self.lines = lines


class ForkedBatches:
    """The batches ``produce()`` makes in a forked child, read here as :class:`Lined` batches.

    ``serialize`` (in the child) gives each batch's lines; ``finish()`` (in the child, after the last
    batch) gives :attr:`result`.
    The child starts when this is made, and ``started`` gets this object before SIGINT can come
    through; iterate it once, and :meth:`close` it in every case (which stops a child still running),
    also when the interrupt came before the constructor returned. Raises what the child raised (see the module docstring) while it is
    iterated, :class:`~lime_repl.errors.LimeError` when the child ends without a word, and ``OSError``
    when it cannot fork.
    """

    def __init__(
        self,
        produce: Callable[[], Iterable[list[Entry]]],
        serialize: Callable[[Sequence[Entry]], list[bytes | None]],
        finish: Callable[[], Any],
        refusals: Sequence[type[Exception]],
        started: Callable[[ForkedBatches], None] = lambda child: None,
    ) -> None:
        self.result: Any = None
        self._refusals = {kind.__name__: kind for kind in refusals}
        self._pid: int | None = None
        read_end, write_end = os.pipe()
        _widen(write_end)
        # SIGINT waits until both sides are ready for it: the child ignoring it, this side holding the
        # child's pid (``started``), so an interrupt at any moment leaves no child behind.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pid = os.fork()
            if pid == 0:  # the child: it never returns from here
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
                os.close(read_end)
                _child(os.fdopen(write_end, "wb", buffering=1 << 20), produce, serialize, finish)
            self._pid = pid
            self._input: IO[bytes] = os.fdopen(read_end, "rb", buffering=1 << 20)
            started(self)
        except BaseException:
            os.close(read_end)
            raise
        finally:
            if self._pid != 0:
                os.close(write_end)
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    @property
    def pid(self) -> int | None:
        """The child's process id while it is not reaped."""
        return self._pid

    def __iter__(self) -> Iterator[Lined]:
        import orjson

        loads, read = orjson.loads, self._input.read
        while True:
            head = read(_FRAME.size)
            body = read(_FRAME.unpack(head)[0]) if len(head) == _FRAME.size else b""
            if not body:
                raise LimeError(f"cannot import: its reading process stopped before the end of the file{self._ended()}")
            message = pickle.loads(body)
            if message[0] == "batch":
                _, lines, whole = message
                yield Lined(
                    [loads(line) if line is not None else whole[i] for i, line in enumerate(lines)], lines
                )
            elif message[0] == "done":
                self.result = message[1]
                self._reap()
                return
            else:
                _, kind, text = message
                self._reap()
                raise self._refusals.get(kind, RuntimeError)(text)

    def _ended(self) -> str:
        """How the child ended (reaped now), as the end of a sentence: '' or ' (killed by signal 9)'."""
        if self._pid is None:
            return ""
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        if os.WIFSIGNALED(status):
            return f" (killed by signal {os.WTERMSIG(status)})"
        return f" (exit status {os.WEXITSTATUS(status)})" if os.WIFEXITED(status) else ""

    def close(self) -> None:
        """Stop the child if it still runs, reap it, and close the pipe."""
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()
        if hasattr(self, "_input"):
            self._input.close()

    def _reap(self) -> None:
        if self._pid is not None:
            os.waitpid(self._pid, 0)
            self._pid = None


def _child(
    out: IO[bytes],
    produce: Callable[[], Iterable[list[Entry]]],
    serialize: Callable[[Sequence[Entry]], list[bytes | None]],
    finish: Callable[[], Any],
) -> None:
    status = 0
    try:
        gc.disable()  # what the parent's writer does (:func:`~.import_write.write_imported`): no cycles here
        for batch in produce():
            lines = serialize(batch)
            whole = {i: batch[i] for i, line in enumerate(lines) if line is None}
            _send(out, ("batch", lines, whole))
        _send(out, ("done", finish()))
    except BaseException as exc:  # every failure goes to the parent, which decides
        status = 1
        import traceback

        # A refusal's message as it is; anything else (a bug) with the child's traceback, for the program log.
        text = str(exc) if isinstance(exc, Exception) and str(exc) else "".join(traceback.format_exception(exc))
        try:
            _send(out, ("error", type(exc).__name__, text))
        except BaseException:
            pass
    finally:
        try:
            out.flush()
        except BaseException:
            status = 1
        os._exit(status)


def _widen(fd: int) -> None:
    """Give the pipe a buffer of :data:`_PIPE_BYTES` where the system allows (Linux ``F_SETPIPE_SZ``).

    With the default 64 KiB, less than one batch, the child waits for the parent at every batch and
    the two take turns instead of working at once.
    """
    import fcntl

    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setpipe is None:
        return
    for size in (_PIPE_BYTES, _PIPE_BYTES // 4):
        try:
            fcntl.fcntl(fd, setpipe, size)
            return
        except OSError:
            continue


def _send(out: IO[bytes], message: tuple[Any, ...]) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_FRAME.pack(len(body)))
    out.write(body)

"""Output capping: keep the head and the tail of a byte stream, count what was cut.

The rule comes from DESIGN.md section 3 ("Outputs are capped before they are
logged"): of each stream (stdout, stderr, a tool's output) the first and the
last 16 KiB are kept, and the cut between them is marked with the number of
bytes left out, so that no log line outgrows a segment.

:class:`HeadTailBuffer` applies the rule to a stream fed in chunks, in memory
bounded by the limit however much is fed; :func:`cap_text` applies it to a
whole value at once.

This module imports nothing from lime (``store`` depends on nothing of ours).
"""

from __future__ import annotations

__all__ = ["DEFAULT_LIMIT", "HeadTailBuffer", "cap_text", "truncation_marker"]

DEFAULT_LIMIT = 16384
"""Bytes kept at the head and, separately, at the tail of a stream (16 KiB)."""


def truncation_marker(truncated: int) -> str:
    """Return the marker put where *truncated* bytes were cut, e.g. ``[… 1024 bytes truncated …]``.

    The marker stands on a line of its own in :meth:`HeadTailBuffer.text`.
    """
    return f"[… {truncated} bytes truncated …]"


def _partial_char_at_end(data: bytes | bytearray) -> int:
    """Length (0..3) of an incomplete UTF-8 sequence at the end of *data*."""
    n = len(data)
    for back in range(1, min(4, n) + 1):
        byte = data[n - back]
        if byte < 0x80:
            return 0
        if byte < 0xC0:  # continuation byte: keep looking for the lead byte
            continue
        need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
        return back if back < need else 0
    return 0


def _continuations_at_start(data: bytes | bytearray) -> int:
    """Number (0..3) of UTF-8 continuation bytes that open *data*."""
    count = 0
    while count < 3 and count < len(data) and 0x80 <= data[count] < 0xC0:
        count += 1
    return count


class HeadTailBuffer:
    """Keep the first and the last *limit* bytes of a stream fed in chunks.

    ``feed`` is amortised O(len(chunk)) and memory stays O(limit): the head
    holds at most *limit* bytes and the tail at most ``2 * limit`` (it is
    trimmed back to *limit* whenever it grows past that). Nothing is cut while
    the stream is at most ``2 * limit`` bytes long.

    Args:
        limit: bytes kept at the head and, separately, at the tail; ``>= 0``.

    Raises:
        ValueError: *limit* is negative.
    """

    __slots__ = ("_head", "_limit", "_tail", "_total")

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit}")
        self._limit = limit
        self._head = bytearray()
        self._tail = bytearray()
        self._total = 0

    def __repr__(self) -> str:
        return f"HeadTailBuffer(limit={self._limit}, total={self._total}, truncated={self.truncated})"

    @property
    def limit(self) -> int:
        """Bytes kept at the head and at the tail."""
        return self._limit

    @property
    def total(self) -> int:
        """Bytes fed so far."""
        return self._total

    @property
    def truncated(self) -> int:
        """Bytes of the stream that :meth:`text` leaves out (0 when nothing was cut).

        This is the number shown in the marker: the bytes dropped between head
        and tail, plus the at most 3 + 3 bytes of a UTF-8 character split by
        the cut, which are dropped too rather than shown as replacement
        characters.
        """
        return self._parts()[2]

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append *data* to the stream."""
        n = len(data)
        if not n:
            return
        self._total += n
        limit = self._limit
        room = limit - len(self._head)
        if room > 0:
            if n <= room:
                self._head += data
                return
            view = memoryview(data)
            self._head += view[:room]
            data = view[room:]
            n -= room
        if n >= limit:
            # The chunk alone fills the tail: whatever the tail held is dropped.
            self._tail[:] = memoryview(data)[n - limit :]
            return
        tail = self._tail
        tail += data
        if len(tail) > 2 * limit:
            del tail[: len(tail) - limit]

    def _parts(self) -> tuple[bytes, bytes, int]:
        """Return (head bytes, tail bytes, bytes left out between them)."""
        head = bytes(self._head)
        tail = bytes(self._tail[-self._limit :]) if self._limit else b""
        cut = self._total - len(head) - len(tail)
        if cut == 0:
            return head, tail, 0
        end = _partial_char_at_end(head)
        start = _continuations_at_start(tail)
        return head[: len(head) - end], tail[start:], cut + end + start

    def text(self) -> str:
        """Decode the kept bytes as UTF-8 (``errors="replace"``) with the cut marked.

        Returns the whole stream when nothing was cut; otherwise
        ``head + "\\n[… N bytes truncated …]\\n" + tail``, where the newline
        before the marker is left out when the head already ends a line, and
        ``N`` equals :attr:`truncated`.
        """
        head, tail, cut = self._parts()
        if not cut:
            return (head + tail).decode("utf-8", "replace")
        before = head.decode("utf-8", "replace")
        sep = "" if not before or before.endswith("\n") else "\n"
        return f"{before}{sep}{truncation_marker(cut)}\n{tail.decode('utf-8', 'replace')}"


def cap_text(data: bytes | str, limit: int = DEFAULT_LIMIT) -> tuple[str, int]:
    """Cap *data* to its first and last *limit* bytes (of UTF-8), as :class:`HeadTailBuffer`.

    Args:
        data: the whole output; a ``str`` is measured in UTF-8 bytes (lone
            surrogates are encoded as such and come back as U+FFFD if cut).
        limit: bytes kept at the head and at the tail.

    Returns:
        ``(text, truncated)``: the capped text with the cut marked, and the
        number of bytes left out (0 when nothing was cut; a ``str`` is then
        returned unchanged).
    """
    if isinstance(data, str):
        if len(data) * 4 <= 2 * limit:  # fast path: cannot exceed the cap
            return data, 0
        raw = data.encode("utf-8", "surrogatepass")
        if len(raw) <= 2 * limit:
            return data, 0
    else:
        raw = data
    buf = HeadTailBuffer(limit)
    buf.feed(raw)
    return buf.text(), buf.truncated

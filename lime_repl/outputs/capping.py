"""Output capping: keep the head and the tail of a byte stream, count what was cut.

The rule comes from DESIGN.md section 3 ("Outputs are capped before they are
logged"): of each stream (stdout, stderr, a tool's output) the first and the
last 16 KiB are kept, and the cut between them is marked with the number of
bytes left out, so that no log line outgrows a segment.

:class:`HeadTailBuffer` applies the rule to a stream fed in chunks, in memory
bounded by the limit however much is fed; :func:`cap_text` applies it to a
whole value at once.

An output policy (issue "One session runtime under every front end"): it lives outside ``store``,
which receives the entry guard built from it as an injected callable. This module imports nothing from lime.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["DEFAULT_LIMIT", "REDACT_MARGIN", "HeadTailBuffer", "cap_text", "truncation_marker"]

DEFAULT_LIMIT = 16384
"""Bytes kept at the head and, separately, at the tail of a stream (16 KiB)."""

REDACT_MARGIN = 8192
"""Bytes kept beyond each cut so that redaction sees a secret that straddles it whole (8 KiB).

Longer than any credential shape redacted (a 4096-bit PEM private key block is about 3.3 KB).
"""

Redact = Callable[[str], str]


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

    ``feed`` is amortised O(len(chunk)) and memory stays O(limit): with
    ``keep = limit + REDACT_MARGIN``, the head holds at most *keep* bytes and
    the tail at most ``2 * keep`` (it is trimmed back to *keep* whenever it
    grows past that); the margin lets :meth:`text` redact before it cuts. Nothing is cut while
    the stream is at most ``2 * limit`` bytes long.

    Args:
        limit: bytes kept at the head and, separately, at the tail; ``>= 0``.

    Raises:
        ValueError: *limit* is negative.
    """

    __slots__ = ("_head", "_keep", "_limit", "_tail", "_total")

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit}")
        self._limit = limit
        # Bytes held at each end: the limit plus the redaction margin (see text()).
        self._keep = limit + REDACT_MARGIN if limit else 0
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
        limit = self._keep
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

    @property
    def head_full(self) -> bool:
        """True once the head holds all it keeps (``limit`` plus the redaction margin): from then on
        :meth:`skip` may stand for bytes that are not fed."""
        return len(self._head) >= self._keep

    @property
    def keep(self) -> int:
        """Bytes held at each end: ``limit`` plus :data:`REDACT_MARGIN` (0 for a zero limit)."""
        return self._keep

    def skip(self, count: int) -> None:
        """Count *count* bytes of the stream that went past without being fed (e.g. spliced to their
        destination by the kernel), after the head filled.

        They count in :attr:`total` and :attr:`truncated`; what the tail held came before them, so it
        is dropped, and the tail starts again with the next :meth:`feed`. The caller feeds at least
        :attr:`keep` bytes after its last skip, so the tail still ends the stream.

        Raises:
            ValueError: the head is not full yet, or *count* is negative.
        """
        if count < 0 or (count and not self.head_full):
            raise ValueError("skip() needs a full head and a count >= 0")
        if count:
            self._total += count
            self._tail.clear()

    def _whole(self) -> bytes | None:
        """The whole stream when every byte of it is still held, else None."""
        if self._total == len(self._head) + len(self._tail):
            return bytes(self._head) + bytes(self._tail)
        return None

    def _parts(self) -> tuple[bytes, bytes, int]:
        """Return (head bytes, tail bytes, bytes left out between them)."""
        whole = self._whole()
        if whole is not None and len(whole) <= 2 * self._limit:
            return whole, b"", 0
        if whole is not None:
            head, tail = whole[: self._limit], whole[len(whole) - self._limit :] if self._limit else b""
        else:
            head = bytes(self._head[: self._limit])
            tail = bytes(self._tail[len(self._tail) - self._limit :]) if self._limit else b""
        return _trim(head, tail, self._total - len(head) - len(tail))

    def text(self, redact: Redact | None = None) -> str:
        """Decode the kept bytes as UTF-8 (``errors="replace"``) with the cut marked.

        Returns the whole stream when nothing was cut; otherwise
        ``head + "\\n[… N bytes truncated …]\\n" + tail``, where the newline
        before the marker is left out when the head already ends a line, and
        ``N`` equals :attr:`truncated`.

        With ``redact`` (a ``str -> str`` function), the text is redacted
        *before* it is cut: the held bytes reach :data:`REDACT_MARGIN` beyond
        each cut, they are redacted, and only then cut to *limit* bytes. A
        secret that straddles a cut is so replaced whole rather than kept in
        part. ``N`` still counts bytes of the stream as it was produced.
        """
        if redact is None:
            head, tail, cut = self._parts()
            if not cut:
                return (head + tail).decode("utf-8", "replace")
            return _join(head.decode("utf-8", "replace"), cut, tail.decode("utf-8", "replace"))
        cut = self.truncated
        whole = self._whole()
        if whole is not None:
            clean = redact(whole.decode("utf-8", "replace"))
            data = clean.encode("utf-8", "surrogatepass")
            if not cut or len(data) <= 2 * self._limit:
                return clean
            head, tail = data, data
        else:
            head = redact(bytes(self._head).decode("utf-8", "replace")).encode("utf-8", "surrogatepass")
            tail = redact(bytes(self._tail).decode("utf-8", "replace")).encode("utf-8", "surrogatepass")
        kept_head, kept_tail, _ = _trim(head[: self._limit], tail[len(tail) - self._limit :], 1)
        return _join(kept_head.decode("utf-8", "replace"), cut, kept_tail.decode("utf-8", "replace"))


def _trim(head: bytes, tail: bytes, cut: int) -> tuple[bytes, bytes, int]:
    """Drop the parts of UTF-8 characters split by a cut of ``cut`` bytes; returns them and the new count."""
    if cut == 0:
        return head, tail, 0
    end = _partial_char_at_end(head)
    start = _continuations_at_start(tail)
    return head[: len(head) - end], tail[start:], cut + end + start


def _join(before: str, cut: int, after: str) -> str:
    sep = "" if not before or before.endswith("\n") else "\n"
    return f"{before}{sep}{truncation_marker(cut)}\n{after}"


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

"""Rules that keep hostile input out: size caps, UTF-8, line length, JSON depth, symlinks, zip members.

Every importer reads through these functions, and they all raise
:class:`ImportRefused` (one line, exit 1) *before* anything is written:

* a file or download larger than the import cap is refused; the cap is
  :data:`DEFAULT_MAX_BYTES` (128 MiB) unless ``LIME_IMPORT_MAX_BYTES`` says
  otherwise;
* a zip archive is read member by member, in 1 MiB pieces, and refused as
  soon as a limit is passed, so memory stays bounded whatever it declares:
  its members may unpack to at most the import cap in all (counted both from
  the sizes the archive declares and from the bytes actually inflated, since
  declared sizes can lie), a member larger than 1 MiB may inflate at most
  :data:`ZIP_RATIO` times its compressed size (a zip bomb), and no line of a
  member may pass :data:`MAX_LINE_BYTES`;
* a zip member with an absolute path, a ``..`` component, a backslash, a
  drive letter or a duplicate name (zip slip), a symlink member or an
  encrypted member is refused;
* a line longer than :data:`MAX_LINE_BYTES` (16 MiB) is refused;
* bytes that are not UTF-8 are refused, naming the line;
* JSON nested deeper than :data:`MAX_JSON_DEPTH` levels is refused before it
  is parsed, so no parser or serializer later meets a recursion limit;
* a symbolic link, or anything that is not a regular file, is refused (the
  file is opened with ``O_NOFOLLOW``, so a link swapped in later is refused too).
"""

from __future__ import annotations

import json
import os
import re
import stat
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import LimeError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_LINE_BYTES",
    "ImportRefused",
    "check_lines",
    "decode_text",
    "import_cap",
    "json_depth",
    "loads",
    "read_file",
    "read_zip",
    "split_jsonl",
    "value_depth",
]

DEFAULT_MAX_BYTES = 128 * 1024 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 200
#: How many times its compressed size a zip member may inflate (deflate reaches ~1,000 on a bomb;
#: JSON logs compress 5 to 20 times).
ZIP_RATIO = 100
_RATIO_FLOOR = 1 << 20
_CHUNK = 1 << 20

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")
_DRIVE = re.compile(r"^[A-Za-z]:")


class ImportRefused(LimeError):
    """Input that lime will not import: one line saying why (exit 1); nothing was written."""


def import_cap(env: Mapping[str, str] | None = None) -> int:
    """The import cap in bytes: ``LIME_IMPORT_MAX_BYTES`` (a positive integer) or 128 MiB."""
    env = os.environ if env is None else env
    raw = env.get("LIME_IMPORT_MAX_BYTES", "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value > 0:
            return value
    return DEFAULT_MAX_BYTES


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def read_file(path: Path, cap: int) -> bytes:
    """The bytes of the regular file ``path`` (at most ``cap``).

    Raises :class:`ImportRefused` for a symlink, a non-regular file or one
    over the cap; ``FileNotFoundError``/``PermissionError`` pass through.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if os.path.islink(path):
            raise ImportRefused(f"refusing {path}: it is a symbolic link") from None
        raise exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ImportRefused(f"refusing {path}: not a regular file")
        if st.st_size > cap:
            raise ImportRefused(
                f"refusing {path}: {_size(st.st_size)} is over the import cap of {_size(cap)} "
                "(LIME_IMPORT_MAX_BYTES raises it)"
            )
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > cap:
                raise ImportRefused(f"refusing {path}: it grew past the import cap of {_size(cap)}")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def decode_text(data: bytes, name: str) -> str:
    """``data`` as UTF-8 text (a leading BOM dropped). Raises :class:`ImportRefused` naming the bad line."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ImportRefused(f"refusing {name}: invalid UTF-8 on line {line} (byte {exc.start})") from None


def json_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in the JSON ``text`` (strings skipped); 0 for a scalar.

    The scan stops early once the depth passes :data:`MAX_JSON_DEPTH`.
    """
    stripped = _STRING.sub("", text) if '"' in text else text
    depth = deepest = 0
    for match in _BRACKET.finditer(stripped):
        if match.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return deepest
        else:
            depth -= 1
    return deepest


def loads(text: str, where: str) -> Any:
    """Parse one JSON value. Raises :class:`ImportRefused` when nested too deeply, ``ValueError`` when malformed."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ImportRefused(f"refusing {where}: JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    # The parsed value's depth is the text's bracket depth; walking it is faster than scanning the text.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and value_depth(value) > MAX_JSON_DEPTH:
        raise ImportRefused(f"refusing {where}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def value_depth(value: Any) -> int:
    """The nesting depth of lists and dicts in a parsed JSON value (0 for a scalar), stopping past the limit."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        if depth > deepest:
            deepest = depth
            if deepest > MAX_JSON_DEPTH:
                return deepest
        stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return deepest


def _lines(data: bytes, name: str) -> Iterator[tuple[int, bytes]]:
    start = 0
    lineno = 0
    size = len(data)
    while start < size:
        end = data.find(b"\n", start)
        stop = size if end < 0 else end
        lineno += 1
        if stop - start > MAX_LINE_BYTES:
            raise ImportRefused(
                f"refusing {name}: line {lineno} is {_size(stop - start)}, over the {_size(MAX_LINE_BYTES)} line limit"
            )
        yield lineno, data[start:stop]
        start = stop + 1


def check_lines(data: bytes, name: str) -> None:
    """Raise :class:`ImportRefused` when a line of ``data`` is longer than :data:`MAX_LINE_BYTES`."""
    if len(data) <= MAX_LINE_BYTES:
        return
    for _ in _lines(data, name):
        pass


def split_jsonl(data: bytes, name: str) -> tuple[list[tuple[int, Any]], list[str]]:
    """Parse JSONL bytes into ``([(line number, value), ...], warnings)``.

    Blank lines are skipped; a line that is not JSON is skipped with a
    warning ``<name>:<line>: skipped a line that is not JSON`` (the way lime
    and the tools it imports from read their own logs). Raises
    :class:`ImportRefused` for a long line, invalid UTF-8 or deep nesting.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    records: list[tuple[int, Any]] = []
    warnings: list[str] = []
    for lineno, raw in _lines(data, name):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportRefused(
                f"refusing {name}: invalid UTF-8 on line {lineno} (byte {exc.start})"
            ) from None
        try:
            records.append((lineno, loads(text, f"{name}:{lineno}")))
        except ValueError:
            warnings.append(f"{name}:{lineno}: skipped a line that is not JSON")
    return records, warnings


def _check_member(info: zipfile.ZipInfo, archive: str) -> None:
    name = info.filename
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\0" in name
        or _DRIVE.match(name)
        or any(part == ".." for part in parts)
    ):
        raise ImportRefused(f"refusing {archive}: member {name!r} would unpack outside the archive")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ImportRefused(f"refusing {archive}: member {name!r} is a symbolic link")
    if info.flag_bits & 0x1:
        raise ImportRefused(f"refusing {archive}: member {name!r} is encrypted")


def _ratio_limit(info: zipfile.ZipInfo) -> int:
    """The most bytes ``info`` may inflate to before it counts as a zip bomb."""
    return max(_RATIO_FLOOR, ZIP_RATIO * max(info.compress_size, 0))


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, budget: int) -> bytes:
    """One member's bytes, inflated piece by piece; refused as soon as ``budget`` or a limit is passed."""
    chunks: list[bytes] = []
    total = 0
    ratio_limit = _ratio_limit(info)
    line = 0  # bytes since the last newline
    try:
        with archive.open(info) as fh:
            while True:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > budget:
                    raise ImportRefused(
                        f"refusing {name}: it unpacks to more than the import cap ({_size(budget)} left)"
                    )
                if total > ratio_limit:
                    raise ImportRefused(
                        f"refusing {name}: member {info.filename!r} inflates more than {ZIP_RATIO} times "
                        "its compressed size (a zip bomb)"
                    )
                newline = chunk.rfind(b"\n")
                line = line + len(chunk) if newline < 0 else len(chunk) - newline - 1
                if line > MAX_LINE_BYTES:
                    raise ImportRefused(
                        f"refusing {name}: member {info.filename!r} has a line over the {_size(MAX_LINE_BYTES)} line limit"
                    )
                chunks.append(chunk)
    except ImportRefused:
        raise
    except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError, OSError, RuntimeError) as exc:
        raise ImportRefused(f"refusing {name}: member {info.filename!r} cannot be read ({exc})") from None
    except Exception as exc:  # zlib.error and friends from a damaged stream
        raise ImportRefused(f"refusing {name}: member {info.filename!r} is damaged ({exc})") from None
    return b"".join(chunks)


def read_zip(data: bytes, name: str, cap: int) -> dict[str, bytes]:
    """The file members of a zip archive held in ``data``, by name (directories left out).

    Nothing is unpacked to disk, and members are inflated in 1 MiB pieces.
    Raises :class:`ImportRefused` for a damaged archive, a zip-slip, symlink,
    encrypted or duplicate member, more than ``cap`` unpacked bytes (declared
    or actual), a member inflating more than :data:`ZIP_RATIO` times, or a
    line over :data:`MAX_LINE_BYTES`, before inflating any more of it.
    """
    import io

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise ImportRefused(f"refusing {name}: not a readable zip archive ({exc})") from None
    with archive:
        infos = archive.infolist()
        seen: set[str] = set()
        declared = 0
        for info in infos:
            _check_member(info, name)
            if info.filename in seen:
                raise ImportRefused(f"refusing {name}: member {info.filename!r} appears twice")
            seen.add(info.filename)
            declared += max(info.file_size, 0)
            if info.file_size > _ratio_limit(info):
                raise ImportRefused(
                    f"refusing {name}: member {info.filename!r} would inflate {_size(info.file_size)} from "
                    f"{_size(info.compress_size)}, more than {ZIP_RATIO} times (a zip bomb)"
                )
        if declared > cap:
            raise ImportRefused(
                f"refusing {name}: it unpacks to {_size(declared)}, over the import cap of {_size(cap)} "
                "(LIME_IMPORT_MAX_BYTES raises it)"
            )
        members: dict[str, bytes] = {}
        budget = cap
        for info in infos:
            if info.is_dir():
                continue
            members[info.filename] = _read_member(archive, info, name, budget)
            budget -= len(members[info.filename])
        return members

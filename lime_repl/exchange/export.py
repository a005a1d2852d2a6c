"""``lime export``: a session out as jsonl, json, md, html or zip.

* ``jsonl``: the segment files joined byte for byte, oldest first (so an
  export of a session that never rotated is its file, byte for byte);
* ``json``: one document ``{"session": header, "entries": [...]}`` (the shape
  of opencode's export), one entry per line; when rotation deleted the first
  segments, the oldest surviving ``checkpoint`` is included as ``"checkpoint"``;
* ``md``: :mod:`lime_repl.exchange.markdown`; ``html``: :mod:`lime_repl.exchange.html`;
* ``pi``, ``claude``, ``codex``: a file that tool resumes (:mod:`.export_pi`,
  :mod:`.export_claude`, :mod:`.export_codex`; ``--install`` is :mod:`.install`);
* ``zip``: every segment and the ``.torn`` file under ``session/``, the
  records of the program log (``~/.lime/logs/lime.log`` and its rotated
  copies) that name the session, under ``logs/lime.log``, and a
  ``manifest.json`` with the size and SHA-256 of each (:mod:`.manifest`).

Default file name: ``lime-<id8>-<YYYYmmdd-HHMMSS>.<ext>`` in the current
directory (local time). ``-o`` names a file, or a directory to put the
default name in, or ``-`` for stdout. Files are written to a temporary name
and renamed, with mode 0600 like the session logs they come from.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from ..errors import StoreError, UsageError
from ..store.entry_guard import repair_text
from ..store.formats import refuse_newer
from ..store.records import dumps, now_rfc3339
from ..store.segments import segment_paths
from ..store.session import Session

__all__ = [
    "EXTENSIONS",
    "FOREIGN_FORMATS",
    "FORMATS",
    "default_name",
    "export_bytes",
    "export_session",
    "foreign_bytes",
    "format_for",
    "log_excerpt",
    "resolve_target",
    "split_export_args",
    "write_export",
]

FORMATS = ("jsonl", "json", "md", "html", "zip", "pi", "claude", "codex")
EXTENSIONS = {"jsonl": "jsonl", "json": "json", "md": "md", "html": "html", "zip": "zip"}
EXTENSIONS.update(pi="jsonl", claude="jsonl", codex="jsonl")
#: Formats another tool resumes (:mod:`.export_pi`, :mod:`.export_claude`, :mod:`.export_codex`).
FOREIGN_FORMATS = ("pi", "claude", "codex")
_LOG_TIME = re.compile(rb"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")


def default_name(session_id: str, fmt: str, now: datetime | None = None) -> str:
    """``lime-<id8>-<YYYYmmdd-HHMMSS>.<ext>`` for an export made at ``now`` (local time)."""
    moment = now or datetime.now()
    return f"lime-{session_id[:8]}-{moment.strftime('%Y%m%d-%H%M%S')}.{EXTENSIONS[fmt]}"


def format_for(path: str | None) -> str | None:
    """The format a file name's extension asks for (``.markdown`` and ``.htm`` too), or None."""
    if not path or path == "-":
        return None
    ext = Path(path).suffix.lower().lstrip(".")
    known = ext in FORMATS and ext not in FOREIGN_FORMATS
    return {"markdown": "md", "htm": "html", "ndjson": "jsonl"}.get(ext, ext if known else None)


def split_export_args(words: list[str], fmt: str | None = None) -> tuple[str | None, str | None]:
    """``(format, path)`` from the words of ``/export [format] [path]``; ``fmt`` is a format already chosen.

    The first word is the format when it is one of :data:`FORMATS`. A first
    word that looks like a format name and not a path (letters and digits
    only, no ``.`` or ``/``, such as ``pdf``) is refused rather than taken as
    a file name: write ``./pdf`` for a file of that name. Raises
    :class:`~lime_repl.errors.UsageError` (exit 2) with one line naming the
    known formats, also for more than one path.
    """
    rest = list(words)
    if fmt is None and rest and rest[0].lower() in FORMATS:
        fmt = rest.pop(0).lower()
    elif fmt is None and rest and (len(rest) > 1 or re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", rest[0])):
        raise UsageError(f"unknown export format {rest[0]!r}; choose one of {', '.join(FORMATS)}")
    if len(rest) > 1:
        raise UsageError(f"usage: /export [{'|'.join(FORMATS)}] [PATH]")
    return fmt, rest[0] if rest else None


def resolve_target(output: str | None, session_id: str, fmt: str, cwd: Path) -> Path | None:
    """Where to write: ``None`` for stdout (``-``), a directory's default name, or the path given."""
    if output == "-":
        return None
    if not output:
        return cwd / default_name(session_id, fmt)
    target = (
        (cwd / Path(output).expanduser())
        if not Path(output).expanduser().is_absolute()
        else Path(output).expanduser()
    )
    if target.is_dir():
        return target / default_name(session_id, fmt)
    return target


def _read_segments(path: Path) -> list[tuple[Path, bytes]]:
    for attempt in range(3):
        paths = segment_paths(path)
        if not paths:
            raise UsageError(f"no session file at {path}")
        try:
            return [(p, p.read_bytes()) for p in paths]
        except FileNotFoundError:  # rotated under us: list again
            if attempt == 2:
                raise StoreError(f"cannot read {path}: the session kept rotating while it was read") from None
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    raise AssertionError("unreachable")


def _json_document(session: Session) -> bytes:
    parts = [b'{"session":', dumps(session.header).rstrip(b"\n")]
    if session.segments and session.first_segment > 0:
        lines = session.segments[0].lines
        if len(lines) > 1 and lines[1].entry.get("type") == "checkpoint":
            parts += [b',\n"checkpoint":', lines[1].raw.rstrip(b"\n")]
    entries = [dumps(e).rstrip(b"\n") for e in session.entries.values()]
    parts += [b',\n"entries":[\n', b",\n".join(entries), b"\n]}\n" if entries else b"]}\n"]
    return b"".join(parts)


def log_excerpt(log: Path, session: Session) -> bytes:
    """The program-log records that name ``session`` (its id or 8-character short id), oldest file first.

    A record is a line that starts with a timestamp plus the lines that follow
    it up to the next such line (a traceback); it is kept whole when its first
    line names the session, and nothing else is kept: another session's lines
    and unrelated errors stay out of the bundle. Invalid UTF-8 in a kept line
    becomes U+FFFD, so the excerpt is valid UTF-8.
    """
    short = session.session_id[:8].encode()
    files = sorted(
        (p for p in log.parent.glob(log.name + ".*") if p.suffix.lstrip(".").isdigit()),
        key=lambda p: -int(p.suffix.lstrip(".")),
    )
    out = io.BytesIO()
    for path in [*files, log]:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        keep = False
        for line in data.splitlines(keepends=True):
            if _LOG_TIME.match(line):
                keep = short in line
            if keep:
                text = line.decode("utf-8", "replace").encode("utf-8")
                out.write(text if text.endswith(b"\n") else text + b"\n")
    return out.getvalue()


def _zip(session: Session, path: Path, log: Path | None) -> bytes:
    import zipfile

    from .manifest import MANIFEST, build_manifest

    files: list[tuple[str, str, bytes]] = [
        (f"session/{p.name}", "segment", data) for p, data in _read_segments(path)
    ]
    torn = Path(f"{path}.torn")
    if torn.is_file():
        files.append((f"session/{torn.name}", "torn", torn.read_bytes()))
    excerpt = log_excerpt(log, session) if log is not None else b""
    if excerpt:
        files.append(("logs/lime.log", "log", excerpt))
    manifest = build_manifest(session.session_id, now_rfc3339(), files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, _, data in files:
            archive.writestr(name, data)
        archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return buffer.getvalue()


def export_bytes(
    fmt: str, *, path: Path | None = None, session: Session | None = None, log: Path | None = None
) -> bytes:
    """The export of the session at ``path`` (or the in-memory ``session``) in ``fmt``.

    ``jsonl`` and ``zip`` need the files (``path``); the other formats read
    ``session`` when given, else load ``path``. ``log`` is the program log for
    ``zip``. Raises :class:`UsageError` for an unknown format or an unsaved
    session, :class:`StoreError` when the files cannot be read.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt in ("jsonl", "zip") and path is None:
        raise UsageError(f"a session that is not saved (--no-session) cannot be exported as {fmt}")
    if path is not None:
        refuse_newer(segment_paths(path), path)
    if fmt == "jsonl":
        assert path is not None
        return _valid_utf8(b"".join(data for _, data in _read_segments(path)))
    if session is None:
        assert path is not None
        try:
            session = Session.load(path)
        except FileNotFoundError:
            raise UsageError(f"no session file at {path}") from None
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    if fmt == "json":
        return _json_document(session)
    if fmt in FOREIGN_FORMATS:
        return foreign_bytes(fmt, session)
    if fmt == "md":
        from .markdown import render_markdown

        return repair_text(render_markdown(session)).encode("utf-8")
    if fmt == "html":
        from .html import render_html

        return repair_text(render_html(session)).encode("utf-8")
    assert path is not None
    return _zip(session, path, log)


def _valid_utf8(data: bytes) -> bytes:
    """``data`` unchanged when it is UTF-8; else an old log's surrogates (ED B3 A9) and stray bytes as U+FFFD."""
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")
    return repair_text(text).encode("utf-8")


def foreign_bytes(fmt: str, session: Session) -> bytes:
    """``session`` as a file pi, Claude Code or Codex resumes (``fmt`` one of :data:`FOREIGN_FORMATS`)."""
    if fmt == "pi":
        from .export_pi import render_pi

        return render_pi(session)
    if fmt == "claude":
        from .export_claude import render_claude

        return render_claude(session)[0]
    from .export_codex import render_codex

    return render_codex(session)


def write_export(data: bytes, target: Path) -> Path:
    """Write ``data`` to ``target`` atomically (temporary file, then rename), mode 0600. Raises StoreError."""
    directory = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def export_session(
    path: Path | None,
    fmt: str | None,
    output: str | None = None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    session: Session | None = None,
) -> Path:
    """Export the session at ``path`` (or the unsaved ``session``) to a file; return the file's path.

    ``fmt`` None takes the format from ``output``'s extension, else ``md``.
    ``output`` is a file, a directory or None (the default name in ``cwd``);
    ``-`` is for callers that print, and is a usage error here.
    """
    from ..paths import log_path

    fmt = fmt or format_for(output) or "md"
    if output == "-":
        raise UsageError("write to stdout with the command line's -o -")
    session_id = session.session_id if session is not None else (path.name.split(".jsonl")[0] if path else "")
    data = export_bytes(fmt, path=path, session=session if path is None else None, log=log_path(env))
    target = resolve_target(output, session_id, fmt, cwd or Path.cwd())
    assert target is not None
    return write_export(data, target)

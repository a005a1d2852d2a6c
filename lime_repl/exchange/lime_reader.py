"""Reading lime's own exports: jsonl (segments joined), the json document and the zip archive.

Entries are kept exactly as they are (ids, parents, timestamps, unknown types
and fields). ``session`` headers and the ``checkpoint`` lines that open later
segments are left out: the new session writes its own. When the first
surviving segment is not segment 0 (rotation deleted earlier ones), its
checkpoint supplies the title, labels and leaf that lived in the deleted
segments. An entry without a string id, or with an id seen before, is
skipped with a warning, as lime's own reader does.
"""

from __future__ import annotations

from typing import Any

from ..store.records import Entry
from .foreign.common import Imported, as_dict
from .guard import ImportRefused, check_lines, decode_text, loads, read_zip, split_jsonl

__all__ = ["is_lime_header", "json_document", "lime_from_document", "lime_from_records", "read_zip_export"]


def is_lime_header(value: Any) -> bool:
    """True for a lime ``session`` header (it has a string ``sessionId``)."""
    return (
        isinstance(value, dict) and value.get("type") == "session" and isinstance(value.get("sessionId"), str)
    )


def json_document(data: bytes, name: str) -> dict[str, Any] | None:
    """The lime json export in ``data``, or None when ``data`` is not one JSON document of that shape."""
    body = data.lstrip()
    if body[:1] != b"{":
        return None
    first_line, _, rest = body.partition(b"\n")
    check_lines(data, name)
    if rest.strip():
        try:
            loads(first_line.decode("utf-8", "replace"), name)
            return None  # the first line is a whole record: JSONL
        except ValueError:
            pass
    try:
        value = loads(decode_text(data, name), name)
    except ValueError:
        return None
    if (
        isinstance(value, dict)
        and isinstance(value.get("session"), dict)
        and isinstance(value.get("entries"), list)
    ):
        return value
    return None


def read_zip_export(data: bytes, name: str, cap: int) -> Imported:
    from .manifest import verify_manifest

    members = read_zip(data, name, cap)
    listed = verify_manifest(members, name)
    segments = [members[r["name"]] for r in listed if r["role"] == "segment"]
    if not segments:
        raise ImportRefused(f"refusing {name}: its manifest lists no session segment")
    joined = b"".join(s if s.endswith(b"\n") or not s else s + b"\n" for s in segments)
    records, warnings = split_jsonl(joined, name)
    first = records[0][1] if records else None
    if not (
        isinstance(first, dict) and first.get("type") == "session" and isinstance(first.get("sessionId"), str)
    ):
        raise ImportRefused(f"refusing {name}: its segments do not start with a lime session header")
    return lime_from_records(records, name, warnings)


def lime_from_document(document: dict[str, Any], name: str) -> Imported:
    records: list[tuple[int, Any]] = [(0, document["session"])]
    if isinstance(document.get("checkpoint"), dict):
        records.append((0, document["checkpoint"]))
    records.extend((i + 1, value) for i, value in enumerate(document["entries"]))
    return lime_from_records(records, name, [])


def lime_from_records(records: list[tuple[int, Any]], name: str, warnings: list[str]) -> Imported:
    """Lime entries as they are (ids, parents, timestamps); headers and later checkpoints are left out."""
    header: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = None
    entries: list[Entry] = []
    seen: set[str] = set()
    for lineno, value in records:
        where = f"{name}:{lineno}" if lineno else name
        if not isinstance(value, dict) or not isinstance(value.get("type"), str):
            warnings.append(f"{where}: skipped a record without a string type")
            continue
        kind = value["type"]
        if kind == "session":
            header = header or value
            continue
        if kind == "checkpoint":
            if checkpoint is None and not entries:
                checkpoint = value
            continue
        entry_id = value.get("id")
        if not isinstance(entry_id, str) or not entry_id or entry_id in seen:
            warnings.append(f"{where}: skipped an entry without a unique id")
            continue
        seen.add(entry_id)
        entries.append(value)
    head = as_dict(header)
    text = lambda key: head.get(key) if isinstance(head.get(key), str) else None  # noqa: E731
    imported = Imported(
        "lime",
        text("sessionId"),
        name,
        entries,
        system_prompt=text("systemPrompt"),
        cwd=text("cwd"),
        created=text("created"),
        warnings=warnings,
    )
    cp = as_dict(checkpoint)
    if cp and isinstance(head.get("segment"), int) and head["segment"] > 0:
        if isinstance(cp.get("title"), str) and not any(e.get("type") == "title" for e in entries):
            imported.title = cp["title"]
        imported.labels = {k: v for k, v in as_dict(cp.get("labels")).items() if isinstance(v, str)}
        if isinstance(cp.get("leafId"), str) and not any(e.get("type") == "leaf" for e in entries):
            imported.leaf_id = cp["leafId"]
    return imported

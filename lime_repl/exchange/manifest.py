"""The ``manifest.json`` of a lime zip export: what it lists and how an import checks it.

Shape (version 1)::

    {"format": "lime-session-archive", "version": 1, "sessionId": "<32 hex>",
     "exported": "<RFC 3339>",
     "files": [{"name": "session/<id>.jsonl.1", "role": "segment",
                "bytes": 1234, "sha256": "<64 hex>"}, ...]}

``role`` is ``segment`` (listed oldest first), ``torn`` (a ``.jsonl.torn``
file) or ``log`` (the program-log excerpt). Every other member of the
archive must be listed, and every listed file must be present with the same
size and SHA-256; anything else refuses the archive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from .guard import ImportRefused, decode_text, loads

__all__ = ["FORMAT", "MANIFEST", "build_manifest", "verify_manifest"]

FORMAT = "lime-session-archive"
MANIFEST = "manifest.json"


def build_manifest(session_id: str, exported: str, files: list[tuple[str, str, bytes]]) -> dict[str, Any]:
    """The manifest for ``files`` given as ``(name, role, data)`` in archive order."""
    return {
        "format": FORMAT,
        "version": 1,
        "sessionId": session_id,
        "exported": exported,
        "files": [
            {"name": name, "role": role, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, role, data in files
        ],
    }


def verify_manifest(members: Mapping[str, bytes], archive: str) -> list[dict[str, Any]]:
    """Check the archive ``members`` against their manifest; return its file records in order.

    Raises :class:`ImportRefused` when the manifest is missing or malformed, a
    listed file is missing or differs, or a member is not listed.
    """
    raw = members.get(MANIFEST)
    if raw is None:
        raise ImportRefused(f"refusing {archive}: no {MANIFEST}, so it is not a lime export")
    try:
        manifest = loads(decode_text(raw, f"{archive}:{MANIFEST}"), f"{archive}:{MANIFEST}")
    except ValueError:
        raise ImportRefused(f"refusing {archive}: {MANIFEST} is not JSON") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(files, list):
        raise ImportRefused(f"refusing {archive}: {MANIFEST} is not a lime session manifest")
    listed: list[dict[str, Any]] = []
    names: set[str] = set()
    for record in files:
        if not (
            isinstance(record, dict)
            and isinstance(record.get("name"), str)
            and isinstance(record.get("sha256"), str)
            and isinstance(record.get("role"), str)
        ):
            raise ImportRefused(f"refusing {archive}: {MANIFEST} has a malformed file record")
        name = record["name"]
        data = members.get(name)
        if data is None or name == MANIFEST or name in names:
            raise ImportRefused(f"refusing {archive}: {name} is listed in {MANIFEST} but not in the archive")
        if hashlib.sha256(data).hexdigest() != record["sha256"].lower() or record.get(
            "bytes", len(data)
        ) != len(data):
            raise ImportRefused(f"refusing {archive}: {name} does not match its sha256 in {MANIFEST}")
        names.add(name)
        listed.append(record)
    extra = sorted(set(members) - names - {MANIFEST})
    if extra:
        raise ImportRefused(f"refusing {archive}: {extra[0]} is not listed in {MANIFEST}")
    return listed

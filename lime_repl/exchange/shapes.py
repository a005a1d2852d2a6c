"""The shapes of imported entries, checked at the import boundary (DESIGN.md section 3, entry types).

An imported record whose fields have the wrong JSON type (a message whose
``content`` is a number, a block that is not an object, a ``tool_use``
without a string ``id``) would reach the transcript builder and the
exporters, which expect the shapes of the entry table. :func:`checked`
keeps such a record whole, as a ``custom`` entry (``customType``
``lime:malformed``, the original in ``data``, the reason in ``reason``) with
the same ``id``, ``parentId`` and ``timestamp``, so the tree stays connected
and nothing of the source is lost. Unknown entry types and unknown fields
pass unchanged (forward compatibility).
"""

from __future__ import annotations

from typing import Any

__all__ = ["MALFORMED", "checked", "problem"]

MALFORMED = "lime:malformed"
_OPTIONAL_STR = (str, type(None))
_JSON_NAMES = {"int": "number", "float": "number", "str": "string", "list": "array", "dict": "object",
               "bool": "boolean", "NoneType": "null"}  # fmt: skip


def _a(value: Any) -> str:
    """``value``'s JSON type with its article: "a number", "an array"."""
    name = _JSON_NAMES.get(type(value).__name__, type(value).__name__)
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _block_problem(block: Any, where: str) -> str | None:
    if not isinstance(block, dict):
        return f"{where} is {_a(block)}, not an object"
    kind = block.get("type")
    if not isinstance(kind, str):
        return f"{where} has no string type"
    if kind == "text" and not isinstance(block.get("text"), str):
        return f"{where}: a text block without a string text"
    if kind == "tool_use":
        if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
            return f"{where}: a tool_use without a string id and name"
        if "input" in block and not isinstance(block["input"], (dict, str, type(None))):
            return f"{where}: a tool_use whose input is {_a(block['input'])}"
    if kind == "tool_result":
        if not isinstance(block.get("tool_use_id"), str):
            return f"{where}: a tool_result without a string tool_use_id"
        inner = block.get("content")
        if isinstance(inner, list):
            for i, item in enumerate(inner):
                found = _block_problem(item, f"{where} content[{i}]")
                if found:
                    return found
        elif not isinstance(inner, _OPTIONAL_STR):
            return f"{where}: a tool_result whose content is {_a(inner)}"
    return None


def _message_problem(entry: dict[str, Any]) -> str | None:
    if not isinstance(entry.get("role"), str):
        return "a message without a string role"
    content = entry.get("content")
    if isinstance(content, list):
        for i, block in enumerate(content):
            if type(block) is dict:  # the common blocks, settled without building the place's name
                kind = block.get("type")
                if kind == "text":
                    if isinstance(block.get("text"), str):
                        continue
                elif isinstance(kind, str) and kind != "tool_use" and kind != "tool_result":
                    continue
            found = _block_problem(block, f"content[{i}]")
            if found:
                return found
    elif not isinstance(content, str):
        return f"a message whose content is {_a(content)}"
    if "shell" in entry and not isinstance(entry["shell"], dict):
        return "a message whose shell is not an object"
    return None


_STRINGS: dict[str, tuple[tuple[str, tuple[type, ...]], ...]] = {
    "compaction": (("summary", (str,)), ("firstKeptEntryId", _OPTIONAL_STR)),
    "branch_summary": (("summary", (str,)), ("fromId", _OPTIONAL_STR)),
    "title": (("title", _OPTIONAL_STR),),
    "label": (("targetId", (str,)), ("label", _OPTIONAL_STR)),
    "leaf": (("targetId", _OPTIONAL_STR),),
    "model_change": (("provider", _OPTIONAL_STR), ("model", _OPTIONAL_STR)),
    "system_prompt": (("text", (str,)),),
}


def problem(entry: dict[str, Any]) -> str | None:
    """Why ``entry`` (a lime entry) does not have its type's shape, or None when it does."""
    kind = entry.get("type")
    if kind == "message":
        return _message_problem(entry)
    for key, types in _STRINGS.get(str(kind), ()):
        if key in entry and not isinstance(entry[key], types) or (types == (str,) and key not in entry):
            return f"a {kind} entry whose {key} is not a string"
    if kind == "compaction" and "files" in entry and not isinstance(entry["files"], dict):
        return "a compaction entry whose files is not an object"
    return None


def checked(entry: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """``(entry, None)`` when it has its type's shape, else ``(custom entry keeping it, reason)``."""
    reason = problem(entry)
    if reason is None:
        return entry, None
    kept: dict[str, Any] = {k: entry[k] for k in ("type", "id", "parentId", "timestamp") if k in entry}
    kept.update(type="custom", customType=MALFORMED, reason=reason, data=entry)
    return kept, reason

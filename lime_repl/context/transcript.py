"""The transcript builder: the active branch of a session as provider-neutral messages.

A pure function of its inputs (DESIGN.md section 4). Given the entries of
the active branch, root first, it returns ``(system, messages)`` where each
message is ``{"role": "user"|"assistant", "content": [block, ...]}`` with the
blocks of DESIGN.md section 3 plus ``local_shell`` for a ``!`` exchange:

* the system prompt is the session header's (memory files included), or the
  text of the latest ``system_prompt`` entry on the branch;
* if the branch holds a ``compaction``, the latest one's summary opens the
  conversation as a user message and only entries from its
  ``firstKeptEntryId`` on follow; without one on the branch, the compaction
  carried by the oldest surviving segment's ``checkpoint`` (rotation deleted
  the entry itself) is used the same way (:func:`session_transcript`), so a
  resumed session sends what the running one would (DESIGN.md section 3);
* a bash triple (``<bash-input>``/``<bash-stdout>``/``<bash-stderr>`` with a
  shared ``shell.exchange``) folds into one ``local_shell`` block
  {``command``, ``stdout``, ``stderr``, ``exit_code``, ``cwd``}, except one
  recorded with ``shell.context: false`` (a ``!!command``), which is left out;
* ``microcompaction`` entries replace the named outputs by
  ``[Old tool result content cleared]`` (``pruned``) or their first and last
  1,536 characters (``trimmed``);
* consecutive messages of one role are merged (providers want turns to
  alternate), and every ``tool_use`` keeps its ``tool_result``: a tool call
  whose result never came (a cancelled turn) is dropped with it, and a
  result without its call is dropped too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..logsetup import get_logger
from ..store.entries import Branch
from ..store.records import Entry, triple_part
from .clean import clean_output

if TYPE_CHECKING:
    from ..store.segments import Segment
    from ..store.session import Session

__all__ = [
    "CLEARED",
    "build_transcript",
    "checkpoint_compaction",
    "fold_bash",
    "live_start",
    "micro_state",
    "session_transcript",
    "trim_middle",
]

log = get_logger("lime.context")

CLEARED = "[Old tool result content cleared]"
TRIM_KEEP = 1536


def kinds_of(branch: Sequence[Entry]) -> list[Any]:
    """Each entry's ``type``: from the nodes of a :class:`~lime_repl.store.entries.Branch` (no decoding)."""
    return branch.kinds() if isinstance(branch, Branch) else [e.get("type") for e in branch]


def ids_of(branch: Sequence[Entry]) -> list[Any]:
    """Each entry's ``id``: from the nodes of a :class:`~lime_repl.store.entries.Branch` (no decoding)."""
    return branch.ids() if isinstance(branch, Branch) else [e.get("id") for e in branch]

def trim_middle(text: str, keep: int = TRIM_KEEP) -> str:
    """``text`` cut to its first and last ``keep`` characters, the cut marked with its size."""
    if len(text) <= 2 * keep:
        return text
    return f"{text[:keep]}\n[… {len(text) - 2 * keep} characters trimmed …]\n{text[-keep:]}"


def fold_bash(entries: Sequence[Entry]) -> dict[str, Any] | None:
    """One ``local_shell`` block from a bash triple's entries, or None if they are not one.

    ``stdout`` and ``stderr`` are cleaned (:func:`lime_repl.context.clean.clean_output`).
    """
    parts: dict[str, str] = {}
    shell: dict[str, Any] = {}
    for entry in entries:
        part = triple_part(entry)
        if part is None:
            return None
        parts[part[0]] = part[1]
        shell = entry["shell"]
    if "input" not in parts:
        return None
    return {
        "type": "local_shell",
        "command": parts["input"],
        "stdout": clean_output(parts.get("stdout", "")),
        "stderr": clean_output(parts.get("stderr", "")),
        "exit_code": shell.get("exitCode", 0),
        "cwd": shell.get("cwd"),
    }


def live_start(branch: Sequence[Entry]) -> tuple[int, int | None]:
    """``(start, compaction_index)``: where the model-facing part of ``branch`` begins.

    ``start`` is the index of the latest compaction's ``firstKeptEntryId`` (or
    the entry after the compaction when that id is not before it), 0 without a
    compaction; ``compaction_index`` is the latest compaction's index or None.
    """
    start, found = 0, None
    ids: list[object] | None = None
    for index, kind in enumerate(kinds_of(branch)):
        if kind == "compaction":
            found = index
            first_kept = branch[index].get("firstKeptEntryId")
            start = index + 1
            ids = ids_of(branch) if ids is None else ids
            for back in range(index - 1, -1, -1):
                if ids[back] == first_kept:
                    start = back
                    break
    return start, found


def _system_prompt(header: Entry | None, branch: Sequence[Entry]) -> str:
    text = header.get("systemPrompt") if header else None
    for index, kind in enumerate(kinds_of(branch)):
        entry = branch[index] if kind == "system_prompt" else None
        if entry is not None and isinstance(entry.get("text"), str):
            text = entry["text"]
    return text if isinstance(text, str) else ""


def micro_state(branch: Sequence[Entry]) -> dict[str, str]:
    """Map of entry id to how ``microcompaction`` entries on ``branch`` show its outputs: 'pruned' or 'trimmed'."""
    mode: dict[str, str] = {}
    for index, kind in enumerate(kinds_of(branch)):
        if kind != "microcompaction":
            continue
        entry = branch[index]
        for key in ("trimmed", "pruned"):
            targets = entry.get(key) or ()
            if not isinstance(targets, list | tuple):
                log.warning("transcript: skipped %r of microcompaction %s: not a list of ids", key, entry.get("id"))
                continue
            for target in targets:
                if isinstance(target, str) and not (key == "trimmed" and mode.get(target) == "pruned"):
                    mode[target] = key
    return mode


def _shrink(text: str, how: str | None) -> str:
    if how == "pruned":
        return CLEARED
    if how == "trimmed":
        return trim_middle(text)
    return text


def _blocks(entry: Entry, how: str | None) -> list[dict[str, Any]]:
    content = entry.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        return []
    blocks = []
    for block in content:
        if not isinstance(block, dict) or not _ids_ok(block):
            log.warning("transcript: skipped a malformed content block of entry %s: %.80r", entry.get("id"), block)
            continue
        if block.get("type") == "tool_result" and how == "pruned":
            block = dict(block, content=CLEARED)  # nothing of it is sent: no cleaning
        elif block.get("type") == "tool_result" and isinstance(block.get("content"), str):
            block = dict(block, content=_shrink(clean_output(block["content"]), how))
        elif block.get("type") == "tool_result" and how:
            block = dict(block, content=_shrink(str(block.get("content", "")), how))
        blocks.append(block)
    return blocks


def _ids_ok(block: dict[str, Any]) -> bool:
    """False for a ``tool_use``/``tool_result`` block whose id is not a string (it could never be paired)."""
    kind = block.get("type")
    if kind == "tool_use":
        return isinstance(block.get("id"), str)
    if kind == "tool_result":
        return isinstance(block.get("tool_use_id"), str)
    return True


def _pair_tools(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop tool calls without results and results without calls."""
    results: set[Any] = set()
    calls: set[Any] = set()
    all_uses: set[Any] = set()  # tool_use ids wherever they are (a tool_use in a user message is checked too)
    all_results: set[Any] = set()
    for m in messages:
        user = m["role"] == "user"
        for b in m["content"]:
            kind = b.get("type")
            if kind == "tool_use":
                all_uses.add(b.get("id"))
                if m["role"] == "assistant":
                    calls.add(b.get("id"))
            elif kind == "tool_result":
                all_results.add(b.get("tool_use_id"))
                if user:
                    results.add(b.get("tool_use_id"))
    if all_uses <= results and all_results <= calls:
        return [m for m in messages if m["content"]]  # every call has its result: nothing to drop
    kept = []
    for message in messages:
        blocks = [
            b
            for b in message["content"]
            if not (b.get("type") == "tool_use" and b.get("id") not in results)
            and not (b.get("type") == "tool_result" and b.get("tool_use_id") not in calls)
        ]
        if blocks:
            kept.append({"role": message["role"], "content": blocks})
    return kept


def checkpoint_compaction(segments: Sequence[Segment]) -> Entry | None:
    """The ``compaction`` carried by the ``checkpoint`` of the oldest of ``segments``, or None."""
    for segment in segments[:1]:
        for line in segment.lines[:2]:
            entry = line.entry
            if entry.get("type") == "checkpoint" and isinstance(entry.get("compaction"), dict):
                return dict(entry["compaction"])
    return None


def session_transcript(session: Session) -> tuple[str, list[dict[str, Any]]]:
    """:func:`build_transcript` of ``session``'s active branch, header and oldest checkpoint's compaction."""
    return build_transcript(session.branch(), session.header, checkpoint_compaction(session.segments))


def build_transcript(
    branch: Sequence[Entry], header: Entry | None = None, rotated: Entry | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """``(system, messages)`` for the active ``branch`` (root first) of a session with ``header``.

    ``rotated`` is the compaction of the oldest surviving checkpoint; it is
    used only when the branch holds no compaction: its summary opens the
    conversation, followed by the branch from its ``firstKeptEntryId`` (or
    the whole surviving branch when that entry is gone too).
    """
    system = _system_prompt(header, branch)
    start, found = live_start(branch)
    summary = str(branch[found].get("summary", "")) if found is not None else None
    if found is None and isinstance(rotated, dict):
        summary = str(rotated.get("summary", ""))
        first_kept = rotated.get("firstKeptEntryId")
        start = next((i for i, entry_id in enumerate(ids_of(branch)) if entry_id == first_kept), 0)
    micro = micro_state(branch)
    messages: list[dict[str, Any]] = []
    if summary is not None:
        messages.append(
            {
                "role": "user",
                "content": [{"type": "text", "text": f"Summary of the earlier conversation:\n{summary}"}],
            }
        )

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)  # every content list here is the builder's own
        else:
            messages.append({"role": role, "content": blocks})

    kinds = kinds_of(branch)
    picked = [k for k in range(start, len(kinds)) if kinds[k] in ("message", "branch_summary")]
    ahead: dict[int, Entry] = {}  # the entries decoded so far and not yet consumed (a bash triple's look-ahead)

    def item(k: int) -> Entry:
        entry = ahead.get(k)
        if entry is None:
            entry = ahead[k] = branch[picked[k]]
        return entry

    count = len(picked)
    i = 0
    while i < count:
        for done in [k for k in ahead if k < i]:
            del ahead[done]
        entry = item(i)
        if entry.get("type") == "branch_summary":
            add(
                "user",
                [{"type": "text", "text": f"Summary of an abandoned branch:\n{entry.get('summary', '')}"}],
            )
            i += 1
            continue
        shell = entry.get("shell")
        if isinstance(shell, dict) and entry.get("role") == "user":
            group = [entry]
            while (
                i + len(group) < count
                and len(group) < 3
                and isinstance(item(i + len(group)).get("shell"), dict)
                and item(i + len(group))["shell"].get("exchange") == shell.get("exchange")
            ):
                group.append(item(i + len(group)))
            folded = fold_bash(group)
            if folded is not None and shell.get("context") is False:  # a !!command: kept out of the context
                i += len(group)
                continue
            if folded is not None:
                how = next((micro[e["id"]] for e in group if isinstance(e.get("id"), str) and e["id"] in micro), None)
                if how:
                    folded["stdout"] = _shrink(folded["stdout"], how)
                    folded["stderr"] = _shrink(folded["stderr"], how) if how == "trimmed" else ""
                add("user", [folded])
                i += len(group)
                continue
        role = entry.get("role")
        if role in ("user", "assistant"):
            add(str(role), _blocks(entry, micro.get(str(entry.get("id")))))
        i += 1
    return system, _pair_tools(messages)

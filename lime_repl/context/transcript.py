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
from ..store.entries import Branch, nodes_of
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


class _ToolIds:
    """The ``tool_use`` and ``tool_result`` ids seen while the blocks were built (for :func:`_pair_tools`):
    all of each, and those in the right role (calls from the assistant, results from the user)."""

    __slots__ = ("uses", "calls", "results", "answered", "seen", "holding")

    def __init__(self) -> None:
        self.uses: set[Any] = set()
        self.calls: set[Any] = set()
        self.results: set[Any] = set()
        self.answered: set[Any] = set()
        #: How many tool blocks were seen so far, and the indexes of the messages that hold any.
        self.seen = 0
        self.holding: set[int] = set()


def _blocks(entry: Entry, how: str | None, role: str, ids: _ToolIds) -> list[dict[str, Any]]:
    content = entry.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        return []
    blocks = []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "tool_result":
            use_id = block.get("tool_use_id")
            if not isinstance(use_id, str):
                _malformed(entry, block)
                continue
            ids.results.add(use_id)
            ids.seen += 1
            if role == "user":
                ids.answered.add(use_id)
            value = block.get("content")
            if how == "pruned":
                block = dict(block, content=CLEARED)  # nothing of it is sent: no cleaning
            elif isinstance(value, str):
                cleaned = _shrink(clean_output(value), how)
                if cleaned is not value:
                    block = dict(block, content=cleaned)
            elif how:
                block = dict(block, content=_shrink(str(block.get("content", "")), how))
        elif kind == "tool_use":
            call_id = block.get("id")
            if not isinstance(call_id, str):
                _malformed(entry, block)
                continue
            ids.uses.add(call_id)
            ids.seen += 1
            if role == "assistant":
                ids.calls.add(call_id)
        elif not isinstance(block, dict):
            _malformed(entry, block)
            continue
        blocks.append(block)
    return blocks


def _malformed(entry: Entry, block: object) -> None:
    log.warning("transcript: skipped a malformed content block of entry %s: %.80r", entry.get("id"), block)


def _pair_tools(messages: list[dict[str, Any]], ids: _ToolIds) -> list[dict[str, Any]]:
    """Drop tool calls without results and results without calls (``ids``: those the blocks hold)."""
    results, calls = ids.answered, ids.calls
    # tool_use ids wherever they are (a tool_use in a user message is checked too), and the same for results
    if ids.uses <= results and ids.results <= calls:
        return [m for m in messages if m["content"]]  # every call has its result: nothing to drop
    kept = []
    for index, message in enumerate(messages):
        if index not in ids.holding:  # no tool block in it: nothing of it can go
            kept.append(message)
            continue
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
    """:func:`build_transcript` of ``session``'s active branch, header and oldest checkpoint's compaction.

    The dicts a resume's replay kept for this first read and that it did not use are dropped after it.
    """
    built = build_transcript(session.branch(), session.header, checkpoint_compaction(session.segments))
    session.entries.forget_decoded()
    return built


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

    tools = _ToolIds()

    def add(role: str, blocks: list[dict[str, Any]], seen: int = -1) -> None:
        if not blocks:
            return
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)  # every content list here is the builder's own
        else:
            messages.append({"role": role, "content": blocks})
        if seen >= 0 and tools.seen > seen:  # these blocks held a tool block
            tools.holding.add(len(messages) - 1)

    kinds = kinds_of(branch)
    picked = [k for k in range(start, len(kinds)) if kinds[k] in ("message", "branch_summary")]
    nodes = nodes_of(branch)
    fetch = (lambda k: nodes[k].entry) if nodes is not None else branch.__getitem__
    ahead: dict[int, Entry] = {}  # entries decoded for a bash triple's look-ahead and not yet consumed

    def peek(k: int) -> Entry:
        entry = ahead.get(k)
        if entry is None:
            entry = ahead[k] = fetch(picked[k])
        return entry

    count = len(picked)
    i = 0
    while i < count:
        entry = ahead.pop(i, None)
        if entry is None:
            entry = fetch(picked[i])
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
                and isinstance(peek(i + len(group)).get("shell"), dict)
                and peek(i + len(group))["shell"].get("exchange") == shell.get("exchange")
            ):
                group.append(peek(i + len(group)))
            folded = fold_bash(group)
            if folded is not None:
                for k in range(i + 1, i + len(group)):
                    ahead.pop(k, None)
                i += len(group)
                if shell.get("context") is False:  # a !!command: kept out of the context
                    continue
                how = next((micro[e["id"]] for e in group if isinstance(e.get("id"), str) and e["id"] in micro), None)
                if how:
                    folded["stdout"] = _shrink(folded["stdout"], how)
                    folded["stderr"] = _shrink(folded["stderr"], how) if how == "trimmed" else ""
                add("user", [folded])
                continue
        role = entry.get("role")
        if role == "user" or role == "assistant":
            seen = tools.seen
            add(role, _blocks(entry, micro.get(str(entry.get("id"))) if micro else None, role, tools), seen)
        i += 1
    return system, _pair_tools(messages, tools)

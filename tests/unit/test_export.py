"""Exports: jsonl byte for byte, the json document, Markdown, HTML escaping and structure, zip manifests."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from support.exchange_helpers import make_workspace

from lime_repl.errors import UsageError
from lime_repl.exchange.export import default_name, export_bytes, export_session, resolve_target
from lime_repl.exchange.markdown import fence
from lime_repl.store.segments import segment_paths
from lime_repl.store.session import Session, StoreOptions

HOSTILE = (
    "see <script>document.title='pwned'</script> and </textarea><img src=x onerror=alert(1)> & \"quotes\""
)


@pytest.fixture
def ws(tmp_path: Path):
    return make_workspace(tmp_path)


def _build(ws, options: StoreOptions | None = None) -> Session:
    """A session with prompts, code, tool calls (one failing), ! commands, a compaction and two branches."""
    s = Session.create(ws.sessions_dir, str(ws.cwd), system_prompt="sys", options=options or StoreOptions())
    first = s.append({"type": "message", "role": "user", "content": [{"type": "text", "text": HOSTILE}]})
    s.append(
        {
            "type": "message",
            "role": "assistant",
            "model": "gpt-x",
            "provider": "openai",
            "content": [
                {
                    "type": "text",
                    "text": "Here:\n```python\ndef f():\n    return '</textarea>'\n```\nand ```` ticks",
                },
                {"type": "tool_use", "id": "t1", "name": "bash", "input": {"command": "ls <script>"}},
                {"type": "tool_use", "id": "t2", "name": "read", "input": {"path": "x"}},
            ],
        }
    )
    s.append(
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "<b>out</b>", "is_error": False},
                {"type": "tool_result", "tool_use_id": "t2", "content": "no such file", "is_error": True},
            ],
        }
    )
    for n in range(6):
        s.append_bash(
            f"echo {n} '<script>'",
            f"{n}\n" * 50,
            "err</pre>\n" if n == 1 else "",
            exit_code=n % 2,
            duration_ms=5,
            truncated_bytes={"stdout": 0, "stderr": 0},
            cwd=str(ws.cwd),
        )
    s.append(
        {
            "type": "compaction",
            "summary": "## Goal\n<script>x</script>",
            "firstKeptEntryId": first["id"],
            "tokensBefore": 12000,
            "tokensAfter": 3000,
            "trigger": "auto",
        }
    )
    s.append({"type": "message", "role": "user", "content": [{"type": "text", "text": "second prompt"}]})
    s.set_leaf(first["id"])
    s.append(
        {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "an abandoned branch"}]}
    )
    s.set_leaf(s.branch()[0]["id"])
    s.set_leaf(
        next(
            e["id"]
            for e in reversed(list(s.entries.values()))
            if e.get("type") == "message" and e.get("content") == [{"type": "text", "text": "second prompt"}]
        )
    )
    s.rename("Export <test> & co")
    s.close()
    assert s.path is not None
    return Session.load(s.path)


def test_jsonl_is_the_files_byte_for_byte(ws):
    session = _build(ws)
    assert session.path is not None
    assert export_bytes("jsonl", path=session.path) == session.path.read_bytes()


def test_jsonl_of_a_rotated_session_joins_its_segments(ws):
    session = _build(ws, StoreOptions(max_bytes=4096, backups=0))
    assert session.path is not None
    files = segment_paths(session.path)
    assert len(files) >= 3
    assert export_bytes("jsonl", path=session.path) == b"".join(p.read_bytes() for p in files)


def test_json_document_shape(ws):
    session = _build(ws)
    doc = json.loads(export_bytes("json", path=session.path))
    assert set(doc) == {"session", "entries"}
    assert doc["session"] == session.header
    assert doc["entries"] == list(session.entries.values())


def test_markdown_front_matter_turns_and_fences(ws):
    session = _build(ws)
    md = export_bytes("md", path=session.path).decode()
    front = md.split("---\n")[1]
    meta = {line.split(": ", 1)[0]: json.loads(line.split(": ", 1)[1]) for line in front.splitlines()}
    assert meta["title"] == "Export <test> & co" and meta["session"] == session.session_id
    assert meta["turns"] == 8 and meta["leaf"] == session.leaf_id and meta["models"] == ["openai/gpt-x"]
    assert re.findall(r"^## Turn (\d+)$", md, re.M) == [str(n) for n in range(1, 9)]
    assert "**Tool call** `bash` (`t1`)" in md and "**Tool result** `read` (`t2`) — error" in md
    assert "```console\n$ echo 1 '<script>'\n" in md
    assert "> **Compaction** (auto, 12,000 → 3,000 tokens)" in md
    assert "fork at" in md and "1 other branch not shown" in md
    assert "an abandoned branch" not in md  # only the active branch


def test_fence_outlasts_backticks_inside():
    assert fence("a ```` b") == "`````\na ```` b\n`````"
    assert fence("plain", "json") == "```json\nplain\n```"


def test_html_escapes_everything_and_loads_nothing(ws):
    session = _build(ws)
    page = export_bytes("html", path=session.path).decode()
    body = page.split("<body>", 1)[1]
    assert "<script" not in page.lower() and "</textarea>" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in body
    assert "&lt;/textarea&gt;" in body and "onerror=alert(1)&gt;" in body
    assert "err&lt;/pre&gt;" in body
    assert "<title>Export &lt;test&gt; &amp; co</title>" in page
    assert "default-src 'none'" in page
    assert (
        not re.search(r"""(src|href)=["']?(https?:)?//""", page)
        and "@import" not in page
        and "<link" not in page
    )
    # pygments highlighted the python block and the tool input
    assert '<div class="hl">' in body and 'class="k">def</span>' in body
    # tool results and ! outputs collapse; the failed ones start open
    assert body.count('<details open class="error">') == 1 + 3
    assert "Compaction</strong> (auto, 12,000 → 3,000 tokens)" in body
    # the tree lists every branch, the active one linked
    tree = body.split('<ul class="tree">', 1)[1].split("</ul>", 1)[0]
    assert "an abandoned branch" in tree and f'href="#e-{session.leaf_id}"' in tree


def test_zip_holds_segments_torn_file_log_and_a_manifest(ws):
    session = _build(ws, StoreOptions(max_bytes=4096, backups=0))
    assert session.path is not None
    Path(f"{session.path}.torn").write_bytes(b'{"type":"mess\n')
    log = ws.home / "logs" / "lime.log"
    log.parent.mkdir(parents=True)
    now = datetime.now()
    old = (now - timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
    recent = (now - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
    log.write_bytes(
        f"{old},001 11 WARNING lime: long ago\n"
        f"{recent},002 12 WARNING lime: near the session\nTraceback (most recent call last):\n  boom\n"
        f"{recent},003 13 ERROR lime: {session.path}: caf\xe9 failed\nTraceback (most recent call last):\n"
        f"  mine\n"
        f"{old},004 14 ERROR lime: old but names {session.short_id}\n".encode().replace(
            "\xe9".encode(), b"\xe9"
        )
    )
    data = export_bytes("zip", path=session.path, log=log)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    manifest = json.loads(members.pop("manifest.json"))
    assert manifest["format"] == "lime-session-archive" and manifest["sessionId"] == session.session_id
    assert [f["name"] for f in manifest["files"]] == [
        *(f"session/{p.name}" for p in segment_paths(session.path)),
        f"session/{session.path.name}.torn",
        "logs/lime.log",
    ]
    for record in manifest["files"]:
        assert hashlib.sha256(members[record["name"]]).hexdigest() == record["sha256"]
        assert len(members[record["name"]]) == record["bytes"]
    assert set(members) == {f["name"] for f in manifest["files"]}
    excerpt = members["logs/lime.log"].decode("utf-8")  # strict: a bad byte in the log becomes U+FFFD
    assert "caf\ufffd failed" in excerpt and "  mine" in excerpt and "old but names" in excerpt
    # Only the records that name this session: not another line from the same hour, nor its traceback.
    assert "near the session" not in excerpt and "  boom" not in excerpt and "long ago" not in excerpt


def test_default_names_and_targets(ws, tmp_path):
    when = datetime(2026, 11, 23, 23, 43, 45)
    assert default_name("1a2b3c4d" * 4, "html", when) == "lime-1a2b3c4d-20261123-234345.html"
    assert resolve_target("-", "ab" * 16, "md", tmp_path) is None
    assert resolve_target("out.md", "ab" * 16, "md", tmp_path) == tmp_path / "out.md"
    named = resolve_target(str(tmp_path), "ab" * 16, "zip", Path("/"))
    assert (
        named is not None
        and named.parent == tmp_path
        and re.fullmatch(r"lime-abababab-\d{8}-\d{6}\.zip", named.name)
    )
    session = _build(ws)
    written = export_session(session.path, None, "notes.markdown", cwd=tmp_path, env=ws.env)
    assert written == tmp_path / "notes.markdown" and written.read_text().startswith("---\ntitle:")
    assert written.stat().st_mode & 0o777 == 0o600


def test_unsaved_sessions_export_from_memory_only_as_documents(ws, tmp_path):
    eph = Session.ephemeral(str(ws.cwd), "sys")
    eph.append({"type": "message", "role": "user", "content": [{"type": "text", "text": "in memory"}]})
    assert b"in memory" in export_bytes("html", session=eph)
    assert json.loads(export_bytes("json", session=eph))["entries"][0]["content"][0]["text"] == "in memory"
    with pytest.raises(UsageError, match="cannot be exported as zip"):
        export_bytes("zip", session=eph)
    with pytest.raises(UsageError, match="unknown export format"):
        export_bytes("pdf", session=eph)

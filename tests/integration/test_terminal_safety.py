"""What the terminal and the model are shown (DESIGN.md section 4): escapes from storage or a model never reach
the terminal raw, and the model gets `!` output cleaned. Real `lime`, real bash, the loopback provider server."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator

import pexpect
import pytest
from support.fake_providers import FakeProviderServer
from support.lime_env import LimeEnv
from support.screen import Screen

HOSTILE_TITLE = "T\x1b]0;pwned\x07X\x1b[2JY"


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def _assert_clean(data: bytes, what: str) -> None:
    assert b"\x1b" not in data and b"\x07" not in data and b"\xc2\x9b" not in data, f"{what}: {data!r}"


def _imported_with_hostile_title(lime_env: LimeEnv) -> str:
    """A lime JSONL file whose title and stored output carry escape sequences and a bidi override, imported."""
    made = lime_env.run(input=f"/rename {HOSTILE_TITLE}\n!printf 'a\\x1b]2;PWNED\\x07 world \\u202eevil\\n'\n")
    assert made.returncode == 0, made.stderr
    [path] = lime_env.session_files()
    source = lime_env.cwd / "hostile.jsonl"
    exported = lime_env.run("export", path.name[:8], "--format", "jsonl", "-o", str(source))
    assert exported.returncode == 0, exported.stderr
    assert lime_env.run("session", "rm", "--yes", path.name[:8]).returncode == 0
    result = lime_env.run("import", str(source))
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().strip()


def test_renamed_title_never_reaches_the_terminal_raw(lime_env: LimeEnv) -> None:
    made = lime_env.run(input=f"/rename {HOSTILE_TITLE}\n!echo hi\n/status\n/resume\n")
    assert made.returncode == 0, made.stderr
    _assert_clean(made.stdout + made.stderr, "line mode /status and /resume")
    assert b"TXY" in made.stdout, made.stdout
    [path] = lime_env.session_files()
    titles = [e.get("title") for e in map(json.loads, path.read_text().splitlines()) if e["type"] == "title"]
    assert titles == [HOSTILE_TITLE], "the log keeps the title as given"
    sid = path.name[:8]
    live = lime_env.run("-r", sid, input="!printf 'out\\x1b]0;pwned\\x07put\\n'\n")
    assert b"\x1b]0;pwned\x07" in live.stdout, "the user's own live output passes through unchanged"
    for args in (
        ("session", "list"),
        ("session", "list", "--all"),
        ("session", "show", sid),
        ("session", "search", "pwned"),
        ("export", sid, "--format", "md", "-o", "-"),
        ("export", sid, "--format", "html", "-o", "-"),
    ):
        result = lime_env.run(*args)
        assert result.returncode == 0, (args, result.stderr)
        _assert_clean(result.stdout + result.stderr, " ".join(args))
        assert b"TXY" in result.stdout or b"T0;pwned" not in result.stdout, (args, result.stdout)
    listed = lime_env.run("session", "list").stdout.decode()
    assert "TXY" in listed


def test_imported_title_and_text_are_sanitized(lime_env: LimeEnv) -> None:
    sid = _imported_with_hostile_title(lime_env)[:8]
    for args in (
        ("session", "list"),
        ("session", "show", sid),
        ("session", "search", "world"),
        ("export", sid, "--format", "md", "-o", "-"),
        ("export", sid, "--format", "html", "-o", "-"),
    ):
        result = lime_env.run(*args)
        assert result.returncode == 0, (args, result.stderr)
        _assert_clean(result.stdout + result.stderr, " ".join(args))
        assert "\u202e".encode() not in result.stdout, args
    shown = lime_env.run("session", "show", sid).stdout.decode()
    assert "TXY" in shown and "a world <U+202E>evil" in shown, shown


def test_model_answer_escapes_do_not_reach_the_terminal(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_text(["plain \x1b]2;PW", "NED\x07 then \x1b[1;3", "1mcolour\x1b[0m and \x1b[35mleft on"])
    server.reply_text("second")
    result = lime_env.run(input="first\nsecond\n", extra_env=server.env("openai", "gpt-5.4"))
    assert result.returncode == 0, result.stderr
    _assert_clean(result.stdout + result.stderr, "streamed answer")
    assert result.stdout == b"plain  then colour and left on\nsecond\n"
    [path] = lime_env.session_files()
    assert "\\u001b]2;PWNED\\u0007" in path.read_text(), "the log keeps the answer as the model sent it"


def test_model_receives_cleaned_shell_output(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_text("seen")
    script = "!printf '\\x1b[31mred\\x1b[0m a\\r50%%\\r100%%\\n'\n!head -c 400 /dev/urandom; printf 'x'\nwhat happened?\n"
    result = lime_env.run(input=script, extra_env=server.env("openai", "gpt-5.4"))
    assert result.returncode == 0, result.stderr
    assert b"\x1b[31m" in result.stdout, "the user's own live output passes through unchanged"
    body = json.dumps(server.requests[-1])
    raw = json.dumps(server.requests[-1], ensure_ascii=False)
    assert "\x1b" not in raw and "\\u001b" not in body
    turns = "".join(m["content"] for m in server.requests[-1]["messages"] if m["role"] == "user")
    stdouts = re.findall(r"<bash-stdout>(.*?)</bash-stdout>", turns, re.S)
    assert stdouts[0] == "100%\n", stdouts
    assert re.fullmatch(r"\[binary output: \d+ bytes\]", stdouts[1]), stdouts[1]
    [path] = lime_env.session_files()
    log = path.read_text()
    assert "50%" in log and "\\u001b[31m" in log, "the log keeps what the command printed"
    [sid] = [path.name[:8]]
    md = lime_env.run("export", sid, "--format", "md", "-o", "-").stdout.decode()
    assert "$ printf" in md and "\n100%\n" in md and "50%\r" not in md and "[binary output: " in md
    html = lime_env.run("export", sid, "--format", "html", "-o", "-").stdout.decode()
    assert "<pre>100%\n</pre>" in html and "50%\r" not in html and "[binary output: " in html


def test_answer_cannot_retitle_the_terminal_or_colour_the_prompt(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    server.reply_text(["plain \x1b]2;PW", "NED\x07 then \x1b[35mleft magenta", " on"])
    env = {k: v for k, v in lime_env.env.items() if k != "NO_COLOR"}
    env.update(server.env("openai", "gpt-5.4"), TERM="xterm-256color")
    child = pexpect.spawn(
        sys.executable, ["-m", "lime_repl"], cwd=str(lime_env.cwd), env=env, dimensions=(30, 100), timeout=20
    )
    screen = Screen(child, rows=30, cols=100)
    screen.wait_for("lime>")
    child.sendline("hello")
    screen.wait_for("left magenta on")
    child.send("zzq")
    screen.wait_for("lime> zzq")
    assert screen.screen.title != "PWNED" and "PWNED" not in screen.text
    row = next(y for y, line in enumerate(screen.screen.display) if "lime> zzq" in line)
    x = screen.screen.display[row].index("zzq")
    cells = [screen.screen.buffer[row][x + i] for i in range(3)]
    assert all(c.fg != "magenta" for c in cells), [c.fg for c in cells]
    child.sendcontrol("u")
    child.sendcontrol("d")
    assert screen.wait_exit() == 0

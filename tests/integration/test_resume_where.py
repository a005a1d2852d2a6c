"""A resumed session continues where its shell was, and redraws its last exchanges (real `lime`, real bash)."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from support.fake_providers import FakeProviderServer
from support.inprocess import InProcessRepl
from support.lime_env import LimeEnv
from support.screen import Screen

NOTICE = "the shell starts in "


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def _dirs(lime_env: LimeEnv) -> tuple[Path, Path]:
    a, b = lime_env.cwd / "dir-a", lime_env.cwd / "dir-b"
    (a / "sub").mkdir(parents=True)
    b.mkdir()
    return a, b


def _made_in(lime_env: LimeEnv, where: Path, script: str, **extra: str) -> str:
    """Run ``script`` in line mode in ``where``; the new session's id."""
    before = set(lime_env.session_files())
    made = lime_env.run(input=script, cwd=where, extra_env=extra or None)
    assert made.returncode == 0, made.stderr
    [path] = set(lime_env.session_files()) - before
    return path.name[:32]


def _elsewhere(lime_env: LimeEnv, where: Path) -> LimeEnv:
    return LimeEnv(lime_env.home, where, lime_env.env)


def test_a_session_made_in_a_and_resumed_from_b_runs_bang_in_a_with_one_notice(lime_env: LimeEnv) -> None:
    a, b = _dirs(lime_env)
    sid = _made_in(lime_env, a, "!cd sub\n!echo made here\n")
    path = next(p for p in lime_env.session_files() if p.name.startswith(sid))
    with InProcessRepl(_elsewhere(lime_env, b), resume=path) as repl:
        repl.line("!pwd")
        repl.wait_for(f"{a / 'sub'}\n")
        repl.line("!pwd")
        assert repl.exit() == 0
    assert repl.stdout.value.splitlines()[-2:] == [str(a / "sub")] * 2
    assert repl.stderr.value.count(NOTICE) == 1, repl.stderr.value
    assert f"{NOTICE}{a / 'sub'}" in repl.stderr.value and f"(lime was started in {b})" in repl.stderr.value


@pytest.mark.pty
def test_lime_r_in_a_terminal_from_b_redraws_and_runs_in_a(lime_env: LimeEnv) -> None:
    a, b = _dirs(lime_env)
    sid = _made_in(lime_env, a, "!cd sub\n!echo made here\n")
    child = pexpect.spawn(
        sys.executable, ["-m", "lime_repl", "-r", sid[:8]], cwd=str(b), env=lime_env.env, dimensions=(40, 120)
    )
    screen = Screen(child, 40, 120)
    screen.wait_for(f"resumed session {sid[:8]}")
    screen.wait_empty_prompt()
    assert "── the last 2 exchanges of this session ──" in screen.text and "$ echo made here" in screen.text
    assert screen.text.count(NOTICE) == 1, screen.text
    screen.send("!pwd\r")
    screen.wait_line(str(a / "sub"))
    screen.wait_empty_prompt()
    screen.send("/quit\r")
    assert screen.wait_exit() == 0


def test_line_mode_resume_from_elsewhere_prints_the_sessions_directory(lime_env: LimeEnv) -> None:
    a, b = _dirs(lime_env)
    sid = _made_in(lime_env, a, "!echo made here\n")
    result = lime_env.run("-r", sid[:8], input="!pwd\n", cwd=b)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == f"{a}\n"
    assert result.stderr.decode().count(NOTICE) == 1
    same = lime_env.run("-r", sid[:8], input="!pwd\n", cwd=a)  # resumed where it was made: nothing to say
    assert same.stdout.decode() == f"{a}\n" and NOTICE not in same.stderr.decode()


def test_resume_inside_the_repl_after_cd_moves_the_shell_and_new_goes_back(lime_env: LimeEnv) -> None:
    a, _b = _dirs(lime_env)
    (lime_env.cwd / "wd1").mkdir()
    sid = _made_in(lime_env, a, "!echo the other session\n")
    with InProcessRepl(lime_env) as repl:
        repl.line("!cd wd1 && pwd")
        repl.wait_for(f"{lime_env.cwd / 'wd1'}\n")
        repl.line(f"/resume {sid[:8]}")
        repl.wait_for(f"resumed session {sid[:8]}")
        repl.line("!pwd")
        repl.wait_for(f"{a}\n")
        repl.line("/new")
        repl.line("!pwd")
        assert repl.exit() == 0
    assert repl.stdout.value.splitlines()[-3:] == [str(lime_env.cwd / "wd1"), str(a), str(lime_env.cwd)]
    assert repl.stderr.value.count(NOTICE) == 1, repl.stderr.value
    assert repl.stderr.value.count(f"the shell is back in {lime_env.cwd}, where lime was started") == 1


def test_the_models_tools_run_in_the_resumed_sessions_directory(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    a, b = _dirs(lime_env)
    env = server.env("openai", "gpt-5.4")
    server.reply_text("Noted.")
    sid = _made_in(lime_env, a, "remember this directory\n", **env)  # no ! command: the header's cwd counts
    server.reply_tool_call("bash", {"command": "pwd"}).reply_text("That is where we are.")
    result = lime_env.run("--yolo", "-r", sid[:8], input="where are we?\n", cwd=b, extra_env=env)
    assert result.returncode == 0, result.stderr
    tool_message = server.requests[-1]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["content"].strip() == str(a), tool_message


def test_a_directory_that_is_gone_falls_back_to_the_launch_directory(lime_env: LimeEnv) -> None:
    a, b = _dirs(lime_env)
    sid = _made_in(lime_env, a, "!cd sub\n")
    shutil.rmtree(a)
    result = lime_env.run("-r", sid[:8], input="!pwd\n", cwd=b)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == f"{b}\n"
    [warning] = [line for line in result.stderr.decode().splitlines() if "which is gone" in line]
    assert str(a / "sub") in warning and str(b) in warning


# -- the recap -------------------------------------------------------------------------------


def _four_exchanges(lime_env: LimeEnv, server: FakeProviderServer) -> Path:
    server.reply_text("The first answer.")
    server.reply_tool_call("bash", {"command": "ls /definitely-missing"})
    server.reply_text("That directory does not exist.\nSecond line.\nThird line.\nFourth line.")
    server.reply_text("Bye \x1b]0;pwned\x07 now.")
    script = "the very first question\n!echo two\nlist the missing directory\nsay \x1b[31mbye\n"
    made = lime_env.run("--yolo", input=script, extra_env=server.env("openai", "gpt-5.4"))
    assert made.returncode == 0, made.stderr
    [path] = lime_env.session_files()
    return path


def test_resume_redraws_the_last_three_exchanges_safely(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    path = _four_exchanges(lime_env, server)
    with InProcessRepl(lime_env, resume=path) as repl:
        assert repl.exit() == 0
    shown = repl.stderr.value
    assert "── the last 3 exchanges of this session (earlier ones not shown) ──" in shown
    assert "the very first question" not in shown and "The first answer." not in shown
    assert "$ echo two\n" in shown and "  two\n" in shown
    assert "› list the missing directory\n" in shown
    assert "● bash: ls /definitely-missing\n" in shown
    assert "  ✗ " in shown and "definitely-missing" in shown.split("  ✗ ", 1)[1].splitlines()[0]
    assert "That directory does not exist.\nSecond line.\nThird line.\n(+1 line)\n" in shown
    assert "\x1b" not in shown, "stored escape sequences are shown, never sent"
    assert "› say bye\n" in shown and "Bye now.\n" in shown
    order = ["── the last", "$ echo two", "› list the missing", "● bash", "  ✗ ", "That directory", "› say bye", "Bye now."]
    at = [shown.index(part) for part in order]
    assert at == sorted(at), "oldest exchange first, each in the order it happened"


@pytest.mark.parametrize(("setting", "shown"), [("0", None), ("1", "── the last 1 exchange of this session")])
def test_resume_show_setting(
    lime_env: LimeEnv, server: FakeProviderServer, setting: str, shown: str | None
) -> None:
    path = _four_exchanges(lime_env, server)
    lime_env.home.joinpath("config.toml").write_text(f"[resume]\nshow = {setting}\n")
    with InProcessRepl(lime_env, resume=path) as repl:
        assert repl.exit() == 0
    if shown is None:
        assert "──" not in repl.stderr.value and "list the missing" not in repl.stderr.value
    else:
        assert shown in repl.stderr.value and "(earlier ones not shown)" in repl.stderr.value
        assert "list the missing directory" not in repl.stderr.value and "› say" in repl.stderr.value


def test_line_mode_resume_prints_no_recap(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    path = _four_exchanges(lime_env, server)
    result = lime_env.run("-r", path.name[:8], input="!echo only this\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"only this\n"
    assert b"exchanges of this session" not in result.stderr
    assert all(json.loads(line)["type"] != "title" for line in path.read_text().splitlines())

"""Empty sessions and listing titles, as a new user meets them (real `lime`, line mode and a pseudo terminal)."""

from __future__ import annotations

import json
import sys

import pexpect
import pytest
from support.lime_env import LimeEnv
from support.screen import Screen


def _listing(lime_env: LimeEnv) -> list[dict]:
    result = lime_env.run("session", "list", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_empty_line_mode_run_leaves_no_session(lime_env: LimeEnv) -> None:
    result = lime_env.run(input="")
    assert result.returncode == 0, result.stderr
    assert lime_env.session_files() == []
    assert list(lime_env.home.glob("sessions/*/*.lock")) == []
    assert b"saved" not in result.stderr  # nothing was saved, so no "resume with" line


@pytest.mark.pty
def test_ctrl_d_at_the_prompt_leaves_no_session_and_continue_skips_it(lime_env: LimeEnv) -> None:
    real = lime_env.run(input="!echo real work\n/rename Real work\n")
    assert real.returncode == 0, real.stderr
    [kept] = lime_env.session_files()
    child = pexpect.spawn(
        sys.executable, ["-m", "lime_repl"], cwd=str(lime_env.cwd), env=lime_env.env, dimensions=(40, 120), timeout=20
    )
    child.expect_exact("lime> ")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert lime_env.session_files() == [kept]
    assert list(lime_env.home.glob("sessions/*/*.lock")) == [] or all(
        p.name.startswith(kept.name) for p in lime_env.home.glob("sessions/*/*.lock")
    )
    status = lime_env.run("-c", input="/status\n")
    assert status.returncode == 0, status.stderr
    assert kept.name[:8] in status.stdout.decode() and "Real work" in status.stdout.decode()


def test_continue_and_listings_skip_a_session_with_only_its_header(lime_env: LimeEnv) -> None:
    """A header-only file (a crash before the first entry, or another lime just started) is newer but skipped."""
    assert lime_env.run(input="!echo older work\n").returncode == 0
    [kept] = lime_env.session_files()
    header = kept.read_text().splitlines()[0]
    stray = kept.with_name("ffffffff" + kept.name[8:])
    stray.write_text(header.replace(kept.name[:32], stray.name[:32]) + "\n")
    assert [row["id"] for row in _listing(lime_env)] == [kept.name[:32]]
    status = lime_env.run("-c", input="/status\n")
    assert kept.name[:8] in status.stdout.decode(), status.stdout
    assert stray.read_text().count("\n") == 1, "the other session's file is not touched"


@pytest.mark.pty
def test_titles_never_show_bash_markup_even_after_rotation(lime_env: LimeEnv) -> None:
    script = "!echo second\n" + "".join(f"!for i in 1 2 3 4 5 6; do printf 'row{n}-%s ' $i; done\n" for n in range(40))
    made = lime_env.run(input=script, extra_env={"LIME_SESSION_MAX_BYTES": "3000", "LIME_SESSION_BACKUPS": "3"})
    assert made.returncode == 0, made.stderr
    files = lime_env.session_files()
    assert len(files) == 1 and files[0].with_name(files[0].name + ".3").exists(), "rotated, first segment gone"
    oldest = files[0].with_name(files[0].name + ".3").read_bytes().splitlines()
    assert json.loads(oldest[0])["segment"] > 0
    [row] = _listing(lime_env)
    assert row["title"] is None and row["display"] == "!echo second"
    table = lime_env.run("session", "list").stdout.decode()
    assert "!echo second" in table and "<bash-" not in table
    everywhere = lime_env.run("session", "list", "--all").stdout.decode()
    assert "!echo second" in everywhere and "<bash-" not in everywhere
    # The picker (lime -r) and /resume <Tab> in a pseudo terminal.
    picker = _screen(lime_env, "-r")
    picker.wait_for("of 1")
    picker.wait_for("!echo second")
    assert "<bash-" not in picker.text, picker.text
    picker.send("\x1b")
    assert picker.wait_exit() == 0
    repl = _screen(lime_env)
    repl.wait_prompt()
    repl.send(*"/resume ", "\t")
    repl.wait_for("!echo second")
    assert "<bash-" not in repl.text, repl.text
    repl.send("\x03", "\x04")


def _screen(lime_env: LimeEnv, *args: str) -> Screen:
    child = pexpect.spawn(
        sys.executable, ["-m", "lime_repl", *args], cwd=str(lime_env.cwd), env=lime_env.env, dimensions=(40, 120)
    )
    return Screen(child, 40, 120)

"""`lime data` and `lime uninstall`: every location with its size, and removing lime's data and nothing else."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect
import pytest
from support.lime_env import LimeEnv


def _with_data(lime_env: LimeEnv) -> dict[str, str]:
    """A profile with a session, a catalog, a program log and a config; HOME inside the test's directory too."""
    env = {"HOME": str(lime_env.home.parent / "home")}
    assert lime_env.run(input="!echo hi\n", extra_env=env).returncode == 0
    assert lime_env.run("session", "list", extra_env=env).returncode == 0  # builds the catalog
    (lime_env.home / "config.toml").write_text("[session]\nbackups = 3\n")
    return env


def test_data_lists_every_location_with_sizes(lime_env: LimeEnv) -> None:
    env = _with_data(lime_env)
    result = lime_env.run("data", "--format", "json", extra_env=env)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"sessions", "catalog", "history", "program log", "config", "user config"}
    [session] = lime_env.session_files()
    assert rows["sessions"]["path"] == str(lime_env.home / "sessions")
    assert rows["sessions"]["files"] >= 1 and rows["sessions"]["bytes"] >= session.stat().st_size
    assert rows["catalog"]["files"] >= 1 and rows["config"]["bytes"] == len("[session]\nbackups = 3\n")
    table = lime_env.run("data", extra_env=env).stdout.decode().splitlines()
    assert table[0].split() == ["NAME", "FILES", "BYTES", "PATH"]
    assert any(line.startswith("sessions ") and str(lime_env.home / "sessions") in line for line in table)


def test_uninstall_refuses_without_a_terminal_or_yes(lime_env: LimeEnv) -> None:
    env = _with_data(lime_env)
    result = lime_env.run("uninstall", extra_env=env)
    assert result.returncode == 2 and b"--yes" in result.stderr and result.stderr.count(b"\n") == 1
    assert lime_env.session_files(), "nothing removed"


def test_uninstall_keep_data_only_prints_the_pip_command(lime_env: LimeEnv) -> None:
    env = _with_data(lime_env)
    result = lime_env.run("uninstall", "--keep-data", extra_env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == f"{sys.executable} -m pip uninstall lime-repl"
    assert lime_env.session_files()


def test_uninstall_yes_removes_lime_data_only_and_follows_no_symlink(lime_env: LimeEnv, tmp_path: Path) -> None:
    env = _with_data(lime_env)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    logs = lime_env.home / "logs"
    for item in logs.iterdir():
        item.unlink()
    logs.rmdir()
    logs.symlink_to(outside)  # a symlinked data dir: never followed
    (lime_env.home / "notes.txt").write_text("the user's own file in LIME_HOME")
    result = lime_env.run("uninstall", "--yes", extra_env=env)
    assert result.returncode == 0, result.stderr
    assert not (lime_env.home / "sessions").exists() and not (lime_env.home / "config.toml").exists()
    assert not (tmp_path / "xdg-cache" / "lime").exists(), "the catalog is removed"
    assert (outside / "precious.txt").read_text() == "keep me" and logs.is_symlink()
    assert (lime_env.home / "notes.txt").exists(), "LIME_HOME itself is not removed while it holds other files"
    assert b"symbolic link" in result.stderr
    assert result.stdout.decode().strip().endswith("-m pip uninstall lime-repl")


@pytest.mark.pty
@pytest.mark.parametrize(("answer", "removed"), [("n", False), ("y", True)])
def test_uninstall_asks_once_on_a_terminal(lime_env: LimeEnv, answer: str, removed: bool) -> None:
    env = dict(lime_env.env, **_with_data(lime_env))
    child = pexpect.spawn(sys.executable, ["-m", "lime_repl", "uninstall"], cwd=str(lime_env.cwd), env=env, timeout=20)
    child.expect_exact("Remove lime's data? [y/N]")
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert (child.exitstatus == 0) is removed
    assert (lime_env.home / "sessions").exists() is not removed
    assert os.path.exists(lime_env.home) is not removed

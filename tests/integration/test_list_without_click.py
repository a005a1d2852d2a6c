"""`lime session list` in its plain forms runs without click, and answers exactly as the click command.

Every comparison runs the real `lime` twice over the same profile: once in a plain form (which
`lime_repl.cli.list_command` runs) and once in a form it leaves to click (`--format=X`, one word),
which click reads as the same options; stdout, stderr and the exit status must be the same.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from support.lime_env import LimeEnv, private_env
from support.lime_probe import CLICK_PROBE

from lime_repl.cli.list_command import ListArgs, parse

_PROBE = CLICK_PROBE


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> LimeEnv:
    """Sessions in two directories (three here, one elsewhere), one of them renamed."""
    root = tmp_path_factory.mktemp("fast-list")
    work, other = root / "work", root / "other"
    work.mkdir()
    other.mkdir()
    env = private_env(root, root / "home")
    lime = LimeEnv(root / "home", work, env)
    for text, cwd in (
        ("!echo one\n", work),
        ("!echo two\n/rename Second one\n", work),
        ("!printf 'three\\t3\\n'\n", work),
        ("!echo far away\n", other),
    ):
        made = lime.run(input=text, cwd=cwd)
        assert made.returncode == 0, made.stderr
    return lime


def _click_form(argv: list[str]) -> list[str]:
    """The same options in a form the plain parser leaves to click."""
    if "--format" in argv:
        at = argv.index("--format")
        return [*argv[:at], f"--format={argv[at + 1]}", *argv[at + 2 :]]
    return [*argv, "--format=table"]


@pytest.mark.parametrize(
    "options",
    [list(combo) for n in range(4) for combo in itertools.permutations(["--all", "--format json", "-n 2"], n)],
    ids=lambda options: " ".join(options) or "plain",
)
def test_each_plain_form_answers_as_the_click_command(profile: LimeEnv, options: list[str]) -> None:
    argv = [part for option in options for part in option.split()]
    fast = profile.run("session", "list", *argv)
    through_click = profile.run("session", "list", *_click_form(argv))
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        through_click.returncode,
        through_click.stdout,
        through_click.stderr,
    )
    assert fast.returncode == 0 and fast.stdout
    if "-n" in argv:
        rows = fast.stdout.count(b'"id"') if "json" in argv else fast.stdout.count(b"\n") - 1
        assert rows == 2


def test_no_sessions_here_and_a_profile_that_is_a_file_answer_as_the_click_command(
    profile: LimeEnv, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    fast = profile.run("session", "list", cwd=empty)
    through_click = profile.run("session", "list", "--format=table", cwd=empty)
    assert (fast.returncode, fast.stdout, fast.stderr) == (0, b"", through_click.stderr)
    assert through_click.returncode == 0 and b"no sessions in this directory" in fast.stderr

    not_a_dir = tmp_path / "home-file"
    not_a_dir.write_text("x")
    lime = LimeEnv(not_a_dir, profile.cwd, dict(profile.env, LIME_HOME=str(not_a_dir)))
    fast, through_click = lime.run("session", "list", "--all"), lime.run("session", "list", "--all", "--format=table")
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        through_click.returncode,
        through_click.stdout,
        through_click.stderr,
    )
    assert fast.returncode == 1 and fast.stderr.count(b"\n") == 1 and b"not a directory" in fast.stderr


def test_a_plain_listing_does_not_import_click_and_other_forms_do(profile: LimeEnv) -> None:
    def imports_click(*args: str) -> bool:
        result = subprocess.run(
            [sys.executable, "-c", _PROBE, *args],
            cwd=profile.cwd,
            env=profile.env,
            capture_output=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert b"Second one" in result.stdout or b"Usage" in result.stdout
        return b"CLICK=True" in result.stderr

    assert not imports_click("session", "list")
    assert not imports_click("session", "list", "--all", "-n", "5", "--format", "json")
    assert imports_click("session", "list", "--format=table")
    assert imports_click("session", "list", "--help")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], ListArgs()),
        (["--all"], ListArgs(everywhere=True)),
        (["-n", "3", "--format", "json"], ListArgs(3, "json")),
        (["--format", "table", "--all", "-n", "0010"], ListArgs(10, "table", True)),
        (["-n", "0"], None),
        (["-n", "-1"], None),
        (["-n", "x"], None),
        (["-n", "٣"], None),
        (["-n"], None),
        (["-n5"], None),
        (["--format"], None),
        (["--format", "xml"], None),
        (["--format=json"], None),
        (["--all", "--all"], None),
        (["-n", "1", "-n", "2"], None),
        (["--help"], None),
        (["-h"], None),
        (["--"], None),
        (["extra"], None),
    ],
)
def test_parse_recognises_only_the_plain_forms(args: list[str], expected: ListArgs | None) -> None:
    assert parse(args) == expected

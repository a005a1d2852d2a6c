"""`lime session search` in its plain forms runs without click, and answers exactly as the click command.

Every comparison runs the real `lime` twice over the same profile: once in a plain form (which
`lime_repl.cli.search_command` runs) and once with a `--` before the pattern, a form it leaves to
click; stdout, stderr and the exit status must be the same.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from support.lime_env import LimeEnv, private_env
from support.lime_probe import CLICK_PROBE

from lime_repl.cli.search_command import SearchArgs, parse

_PROBE = CLICK_PROBE


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> LimeEnv:
    """Two directories' sessions with words in messages, output and stderr, in several cases."""
    root = tmp_path_factory.mktemp("fast-search")
    work, other = root / "work", root / "other"
    work.mkdir()
    other.mkdir()
    env = private_env(root, root / "home")
    lime = LimeEnv(root / "home", work, env)
    for text, cwd in (
        ("!echo Wombat burrows\n!printf 'wombat on stderr\\n' >&2\n", work),
        ("!echo a WOMBAT far away\n", other),
    ):
        made = lime.run(input=text, cwd=cwd)
        assert made.returncode == 0, made.stderr
    return lime


def _both(lime: LimeEnv, options: list[str], pattern: str) -> tuple[subprocess.CompletedProcess[bytes], ...]:
    fast = lime.run("session", "search", *options, pattern)
    through_click = lime.run("session", "search", *options, "--", pattern)
    return fast, through_click


@pytest.mark.parametrize(
    "options",
    [list(combo) for n in range(4) for combo in itertools.permutations(["--all", "-i", "--format json"], n)],
    ids=lambda options: " ".join(options) or "plain",
)
def test_each_plain_form_answers_as_the_click_command(profile: LimeEnv, options: list[str]) -> None:
    argv = [part for option in options for part in option.split()]
    fast, through_click = _both(profile, argv, "wombat")
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        through_click.returncode,
        through_click.stdout,
        through_click.stderr,
    )
    assert fast.returncode == 0 and b"wombat" in fast.stdout.lower()


@pytest.mark.parametrize("pattern", ["no-such-animal", "wom(bat", ""])
def test_no_match_a_bad_pattern_and_an_empty_one_answer_as_the_click_command(
    profile: LimeEnv, pattern: str
) -> None:
    fast, through_click = _both(profile, ["--all"], pattern)
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        through_click.returncode,
        through_click.stdout,
        through_click.stderr,
    )
    assert fast.returncode == {"no-such-animal": 1, "wom(bat": 2, "": 0}[pattern]
    assert b"Traceback" not in fast.stderr


def test_a_profile_that_is_a_file_is_the_same_one_line_error(profile: LimeEnv, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "home-file"
    not_a_dir.write_text("x")
    lime = LimeEnv(not_a_dir, profile.cwd, dict(profile.env, LIME_HOME=str(not_a_dir)))
    fast, through_click = _both(lime, [], "wombat")
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        through_click.returncode,
        through_click.stdout,
        through_click.stderr,
    )
    assert fast.returncode == 1 and fast.stderr.count(b"\n") == 1 and b"not a directory" in fast.stderr


def test_a_plain_search_does_not_import_click_and_other_forms_do(profile: LimeEnv) -> None:
    def imports_click(*args: str) -> bool:
        result = subprocess.run(
            [sys.executable, "-c", _PROBE, *args],
            cwd=profile.cwd,
            env=profile.env,
            capture_output=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert b"wombat" in result.stdout.lower() or b"Usage" in result.stdout
        return b"CLICK=True" in result.stderr

    assert not imports_click("session", "search", "-i", "--all", "wombat")
    assert not imports_click("session", "search", "wombat", "--format", "json")
    assert imports_click("session", "search", "--", "wombat")
    assert imports_click("session", "search", "--help")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["zebra"], SearchArgs("zebra")),
        (["--all", "zebra", "-i"], SearchArgs("zebra", True, True)),
        (["--format", "json", "zebra"], SearchArgs("zebra", fmt="json")),
        (["zebra", "--format", "table", "--format", "json"], SearchArgs("zebra", fmt="json")),
        ([""], SearchArgs("")),
        ([], None),
        (["--all"], None),
        (["zebra", "okapi"], None),
        (["--", "zebra"], None),
        (["-zebra"], None),
        (["-"], None),
        (["--help", "zebra"], None),
        (["-h"], None),
        (["--format=json", "zebra"], None),
        (["--format", "xml", "zebra"], None),
        (["zebra", "--format"], None),
        (["-ii", "zebra"], None),
        (["--debug", "zebra"], None),
    ],
)
def test_parse_recognises_only_the_plain_forms(args: list[str], expected: SearchArgs | None) -> None:
    assert parse(args) == expected

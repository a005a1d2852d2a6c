"""Start-up discipline: the fast commands never import the REPL, highlighting or provider stacks.

``lime --version`` and ``lime session list`` run in a subprocess (the real
entry point, ``python -m lime_repl``) with ``sys.modules`` inspected after the
command finished, and again through ``python -X importtime`` so the check also
holds for imports done by ``-m`` start-up itself.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from support.lime_env import LimeEnv
from support.lime_probe import probe

HEAVY = ("prompt_toolkit", "pygments", "rich", "openai", "anthropic", "httpx", "pydantic", "detect_secrets")

_PROBE = probe(
    f"""
    heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
    print("HEAVY=" + ",".join(heavy), file=sys.stderr)
    """
)


@pytest.mark.parametrize(
    "args", [["--version"], ["session", "list"], ["session", "list", "--format", "json"]]
)
def test_fast_commands_import_nothing_heavy(lime_env: LimeEnv, args: list[str]) -> None:
    # A session to list, so the listing code path really runs.
    made = lime_env.run(input="!echo hi\n")
    assert made.returncode == 0, made.stderr
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=lime_env.cwd,
        env=lime_env.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY=\n" in result.stderr, result.stderr
    if args[0] == "session":
        assert "echo hi" in result.stdout or '"entries": 3' in result.stdout


@pytest.mark.parametrize("args", [["--version"], ["session", "list"]])
def test_importtime_shows_no_heavy_module(lime_env: LimeEnv, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lime_repl", *args],
        cwd=lime_env.cwd,
        env=lime_env.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "lime_repl" in imported  # the probe really saw the imports
    assert ("click" in imported) == (args == ["--version"])  # a plain `session list` runs without click
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


#: What a `!` line in line mode must not load besides HEAVY: the agent, the model catalog, the command
#: registry, the context keeper, the session catalog (its SQLite index and its listing code), what
#: detect-secrets drags in, and what only other work needs: the logging stack (imported at the first
#: record), the TOML parser (only with a config file), the approvals and the resume views, shutil's
#: archivers and the secrets module; the automatic titles (asked for after a model turn), what resuming
#: needs (the recap, where the shell was, shlex for the `cd` there) and the replay of a stored log (a new
#: session has none); the TypedDicts of the records (annotations only) and the events of model turns,
#: compaction, resume and approvals.
BANG_UNUSED = (
    "sqlite3",
    "lime_repl.store.index",
    "lime_repl.store.catalog",
    "lime_repl.store.extract",
    "lime_repl.agent.loop",
    "lime_repl.agent.approvals",
    "lime_repl.agent.providers.catalog",
    "lime_repl.runtime.commands",
    "lime_repl.context.scheduler",
    "lime_repl.views.exchanges",
    "lime_repl.repl.app",
    "requests",
    "multiprocessing",
    "logging",
    "traceback",
    "tomllib",
    "shutil",
    "secrets",
    "lime_repl.runtime.titler",
    "lime_repl.context.title",
    "lime_repl.runtime.resume",
    "lime_repl.store.replay",
    "shlex",
    "lime_repl.store.record_types",
    "lime_repl.runtime.agent_events",
)

#: With --no-session no sessions directory is named, so the cwd is never hashed (OpenSSL's load).
NO_SESSION_UNUSED = ("hashlib",)

def _bang_probe(unused: tuple[str, ...]) -> str:
    return _PROBE.replace(
        'print("HEAVY=" + ",".join(heavy), file=sys.stderr)',
        'print("HEAVY=" + ",".join(heavy), file=sys.stderr)\n'
        f"unused = sorted(set({unused!r}) & set(sys.modules))\n"
        'print("UNUSED=" + ",".join(unused), file=sys.stderr)',
    )


@pytest.mark.parametrize("args", [["--no-session"], []])
def test_a_bang_line_loads_no_model_no_registry_no_detect_secrets(lime_env: LimeEnv, args: list[str]) -> None:
    # The first redaction in this profile reads detect-secrets' rules and caches them; later ones use the cache.
    first = lime_env.run(*args, input="!echo warm the rules cache\n")
    assert first.returncode == 0, first.stderr
    assert (lime_env.home / "cache" / "redact-rules.json").is_file()
    result = subprocess.run(
        [sys.executable, "-c", _bang_probe(BANG_UNUSED + (NO_SESSION_UNUSED if args else ())), *args],
        cwd=lime_env.cwd,
        env=lime_env.env,
        input="!echo a line long enough to be redacted\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "a line long enough to be redacted\n"
    assert "HEAVY=\n" in result.stderr, result.stderr
    assert "UNUSED=\n" in result.stderr, result.stderr


def test_lazy_event_names_resolve_to_their_definitions() -> None:
    # events names every event; those of turns, compaction, resume and approvals load at first use.
    import typing

    from lime_repl.runtime import agent_events, events

    for name in agent_events.__all__:
        assert getattr(events, name) is getattr(agent_events, name)
    union = set(typing.get_args(events.Event))
    assert union == {getattr(agent_events, n) for n in agent_events.__all__ if n != "ApprovalRequest"} | {
        events.EntryAppended,
        events.ShellOutput,
        events.Notice,
    }
    with pytest.raises(AttributeError):
        events.NoSuchEvent  # noqa: B018

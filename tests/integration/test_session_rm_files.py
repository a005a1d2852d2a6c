"""``lime session rm`` with a session file that is a directory: one line naming it, exit 1, nothing removed.

A symlink in place of a rotated segment is removed as a link; its target keeps its bytes.
"""

from __future__ import annotations

from pathlib import Path

from support.lime_env import LimeEnv


def _session(lime_env: LimeEnv) -> Path:
    ran = lime_env.run(input="!echo one\n")
    assert ran.returncode == 0, ran.stderr
    [path] = lime_env.session_files()
    return path


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_rm_with_a_torn_directory_names_it_and_removes_nothing(lime_env: LimeEnv) -> None:
    path = _session(lime_env)
    torn = Path(f"{path}.torn")
    torn.mkdir()
    (torn / "inside").write_text("kept")
    before, whole = _files(path.parent), path.read_bytes()
    ran = lime_env.run("session", "rm", path.name[:8], "--yes")
    assert ran.returncode == 1
    assert ran.stderr.decode().splitlines() == [
        f"lime: {torn}: is a directory, not a session file; nothing was removed"
    ]
    assert _files(path.parent) == before and path.read_bytes() == whole
    assert (torn / "inside").read_text() == "kept"
    torn.joinpath("inside").unlink()
    torn.rmdir()
    ran = lime_env.run("session", "rm", path.name[:8], "--yes")
    assert ran.returncode == 0, ran.stderr
    assert not path.exists() and not Path(f"{path}.lock").exists()


def test_rm_removes_a_symlinked_segment_as_a_link_only(lime_env: LimeEnv, tmp_path: Path) -> None:
    path = _session(lime_env)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    Path(f"{path}.1").symlink_to(victim)
    ran = lime_env.run("session", "rm", path.name[:8], "--yes")
    assert ran.returncode == 0, ran.stderr
    assert f"removed {path}.1" in ran.stderr.decode()
    assert not Path(f"{path}.1").is_symlink() and victim.read_bytes() == b"precious"
    assert _files(path.parent) == []

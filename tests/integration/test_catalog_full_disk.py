"""The catalog never starves the log: a real 2 MiB file system (tmpfs) holding LIME_HOME.

The catalog (``cache/index.sqlite``) is a cache: when it has no room, listing
and search read the files, with at most one warning line, and the next ``!``
line is still recorded. The program log never prints "Logging error"
tracebacks on a full disk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.lime_env import LimeEnv

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="mounting a 2 MiB tmpfs needs root; this test runs only as root"
)

BAD = ("Traceback", "Logging error", "internal error", "no transaction")


@pytest.fixture
def small_fs(lime_env: LimeEnv, tmp_path: Path) -> Iterator[LimeEnv]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    home = mount / "home"
    lime_env.home = home
    lime_env.env["LIME_HOME"] = str(home)
    try:
        yield lime_env
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill_logs(env: LimeEnv, target: int) -> None:
    # Random text, so the full-text index is as large as real logs make it.
    lines = "".join(
        f"!echo {i}; head -c 1800 /dev/urandom | base64 -w 0; echo\n" for i in range(target // 3500)
    )
    result = env.run(input=lines, extra_env={"LIME_SESSION_BACKUPS": "0"}, timeout=300)
    assert result.returncode == 0, result.stderr.decode()[-2000:]


def _log_bytes(env: LimeEnv) -> int:
    return sum(p.stat().st_size for p in env.home.glob("sessions/*/*.jsonl*"))


def test_session_list_on_a_small_disk_leaves_room_for_the_log(small_fs: LimeEnv) -> None:
    _fill_logs(small_fs, 736_000)
    assert 650_000 < _log_bytes(small_fs) < 900_000
    listed = small_fs.run("session", "list")
    err = listed.stderr.decode()
    assert listed.returncode == 0, err
    assert not any(word in err for word in BAD), err
    assert len(err.strip().splitlines()) <= 1, err
    assert "ENTRIES" in listed.stdout.decode()
    as_json = json.loads(small_fs.run("session", "list", "--format", "json").stdout)
    assert len(as_json) == 1 and as_json[0]["entries"] == 3 * (736_000 // 3500)
    found = small_fs.run("session", "search", "urandom")
    assert found.returncode == 0 and not any(word in found.stderr.decode() for word in BAD)
    # The cache left the space to the log: the next ! line is recorded.
    after = small_fs.run("-c", input="!echo recorded-after-listing\n")
    assert after.returncode == 0, after.stderr.decode()
    assert "not recorded" not in after.stderr.decode()
    texts = b"".join(p.read_bytes() for p in small_fs.home.glob("sessions/*/*.jsonl*"))
    assert b"<bash-input>echo recorded-after-listing</bash-input>" in texts
    assert b"<bash-stdout>recorded-after-listing" in texts
    index = small_fs.home / "cache" / "index.sqlite"
    wal = Path(f"{index}-wal")
    assert not wal.exists() or wal.stat().st_size <= 1 << 20


def test_full_disk_prints_no_logging_error(small_fs: LimeEnv) -> None:
    _fill_logs(small_fs, 300_000)
    filler = small_fs.home / "filler"
    with open(filler, "wb") as fh:  # take every free byte
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    for args in (("--debug", "session", "list"), ("--debug", "session", "show", "deadbeef")):
        result = small_fs.run(*args)
        err = result.stderr.decode()
        assert not any(word in err for word in BAD), err
        assert len(err.strip().splitlines()) <= 1, err
    assert small_fs.run("--debug", "session", "show", "deadbeef").returncode == 2


def test_index_checks_free_space_before_a_large_write(small_fs: LimeEnv) -> None:
    """The free-space check gives the file up before writing, rather than after the disk fills."""
    from lime_repl.store.index import Index

    _fill_logs(small_fs, 400_000)
    (directory,) = {p.parent for p in small_fs.home.glob("sessions/*/*.jsonl")}
    path = small_fs.home / "cache" / "index.sqlite"
    index = Index(path)
    rows = index.sync_dir(str(directory))
    assert sum(row[9] for row in rows) == 3 * (400_000 // 3500)
    assert index.in_memory and index.degraded == "too little free space for the index"
    assert not path.exists() and not Path(f"{path}-wal").exists()
    index.close()


def test_the_catalog_warning_is_the_same_line_without_click(small_fs: LimeEnv) -> None:
    made = small_fs.run(input="!echo hi\n")
    assert made.returncode == 0, made.stderr.decode()
    for args in (("session", "list"), ("session", "list", "--all"), ("session", "list", "--format=table")):
        shutil.rmtree(small_fs.home / "cache", ignore_errors=True)  # a cold listing on a 2 MiB disk: no index
        listed = small_fs.run(*args)
        assert listed.returncode == 0, listed.stderr.decode()
        assert b"hi" in listed.stdout
        assert listed.stderr.decode().splitlines() == [
            "lime: warning: the session catalog is not saved (too little free space for the index);"
            " sessions are read from their files"
        ], args

from __future__ import annotations

import pytest

from core.io.atomic import atomic_path, atomic_write_text


def test_atomic_write_replaces_whole_file(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "old")
    atomic_write_text(p, "new")
    assert p.read_text() == "new"
    assert [x.name for x in tmp_path.iterdir()] == ["a.txt"]


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert p.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["a.txt"]


def test_saved_file_follows_the_umask_not_private(tmp_path):
    import os
    import stat
    old = os.umask(0o022)
    try:
        p = tmp_path / "b.txt"
        atomic_write_text(p, "x")
        assert stat.S_IMODE(p.stat().st_mode) == 0o644
    finally:
        os.umask(old)


def test_a_killed_save_leaves_at_most_one_temp_which_the_next_save_reuses(tmp_path):
    p = tmp_path / "m.png"
    stale = tmp_path / ".m.png.tmp.png"
    stale.write_bytes(b"half a file from a killed save")
    atomic_write_text(p, "new")
    assert p.read_text() == "new"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["m.png"]


def test_a_concurrent_saver_of_the_same_file_gets_its_own_temp(tmp_path):
    import subprocess
    import sys
    import time

    p = tmp_path / "a.txt"
    fixed = tmp_path / ".a.txt.tmp.txt"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(fixed)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.lockf(fd, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(30)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        atomic_write_text(p, "mine")
        assert p.read_text() == "mine" and fixed.exists()  # the other saver's temp is left alone
    finally:
        holder.kill()
        holder.wait()

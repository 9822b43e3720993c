"""A sandboxed kernel never outlives the grader that started it, however early the grader dies.

A Dask worker killed while its kernel's launcher is still starting used to leave the kernel
running, orphaned: bubblewrap's --die-with-parent is set only once bubblewrap runs.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from coursetools.sandbox.bubblewrap import unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None,
                                reason=f"the launcher test needs bubblewrap: {unavailable_reason()}")


def _launcher(tmp_path: Path, parent: str) -> list[str]:
    sockets = tmp_path / "sockets"
    sockets.mkdir(exist_ok=True)
    connection = sockets / "kernel.json"
    connection.write_text("{}")
    marker = tmp_path / "still-running"
    return [sys.executable, "-m", "coursetools.sandbox", "--bwrap=/usr/bin/bwrap", f"--socket-dir={sockets}",
            f"--connection-file={connection}", f"--parent={parent}", "--",
            sys.executable, "-c", "import time; time.sleep(300)", str(marker)]


def _alive(needle: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and needle in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_launcher_whose_grader_is_already_gone_starts_nothing(tmp_path: Path) -> None:
    result = subprocess.run(_launcher(tmp_path, parent="1"), cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    assert not _alive(str(tmp_path / "still-running"))


def test_kernel_dies_with_a_grader_killed_while_it_starts(tmp_path: Path) -> None:
    # The "grader" starts the launcher and is gone at once, before bubblewrap can run.
    grader = textwrap.dedent(f"""
        import os, subprocess, sys
        command = {_launcher(tmp_path, parent="PARENT")!r}
        command = [word.replace("PARENT", str(os.getpid())) for word in command]
        subprocess.Popen(command, start_new_session=True)
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", grader], cwd=tmp_path, timeout=60, check=True)
    needle = str(tmp_path / "still-running")
    deadline = time.monotonic() + 30
    while _alive(needle) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(needle), "the kernel outlived the grader that started it"


def test_kernel_of_a_live_grader_runs(tmp_path: Path) -> None:
    """The guard kills nothing that should live: with its grader alive, the kernel starts and runs."""
    process = subprocess.Popen(_launcher(tmp_path, parent=str(os.getpid())), cwd=tmp_path)
    try:
        needle = str(tmp_path / "still-running")
        deadline = time.monotonic() + 30
        while not any(pid != process.pid for pid in _alive(needle)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert process.poll() is None and any(pid != process.pid for pid in _alive(needle))
    finally:
        process.kill()
        process.wait(30)

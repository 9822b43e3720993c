"""The autograder's machinery: bounded waits, clean-up, integrity, the virtual clock's rules."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import autograder
import autograder.checks
import course
from autograder import check, errors, run

ROOT = Path(__file__).resolve().parent.parent


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_run_leaves_no_thread_socket_or_subprocess_behind() -> None:
    async def busy():
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        await asyncio.open_connection("127.0.0.1", port)  # never closed
        await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(30)")
        await asyncio.to_thread(sum, range(10))
        return port

    threads, descriptors = threading.active_count(), _open_descriptors()
    report = run(busy)
    assert report.finished and report.exception is None, report.exception
    assert any("listening" in r for r in report.open_resources), report.open_resources
    assert any("subprocess" in r for r in report.open_resources), report.open_resources
    assert _open_descriptors() <= descriptors
    assert threading.active_count() <= threads + 1  # asyncio's child watcher may still be reaping


def test_a_run_that_cannot_start_says_why_at_once() -> None:
    """With no file descriptor left, the check explains instead of waiting forever."""
    script = (
        "import resource, socket, autograder\n"
        "async def f():\n    return 1\n"
        "held = []\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
        "try:\n"
        "    while True: held.append(socket.socket())\n"
        "except OSError: pass\n"
        "try:\n    autograder.check(f)\n"
        "except autograder.CheckCouldNotStart as e:\n    print('COULD NOT START', e)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, stdin=subprocess.DEVNULL)
    assert "COULD NOT START" in done.stdout, done.stdout + done.stderr
    assert "Restart the kernel" in done.stdout
    assert done.stderr == ""


def test_the_deadline_is_loop_state_not_a_timer() -> None:
    """A run waiting on nothing stops at once, at the loop time where nothing was left."""
    async def waits_forever():
        await asyncio.sleep(3)
        await asyncio.get_running_loop().create_future()

    report = run(waits_forever)
    assert report.never_finished and "can never happen" in report.never_finished
    assert report.loop_time == 3.0


def test_a_deadline_stops_endless_sleepers_at_the_limit() -> None:
    async def sleeps_forever():
        while True:
            await asyncio.sleep(1)

    report = run(sleeps_forever, max_loop_time=50)
    assert report.never_finished and report.loop_time == 50.0


def test_real_work_does_not_move_the_clock() -> None:
    """Loop time counts simulated latency only: real waiting (threads, sockets) costs none."""
    async def mixed():
        await asyncio.to_thread(__import__("time").sleep, 0.2)
        return await course.download("a", latency=0.5)

    report = run(mixed)
    assert report.result == "<html>a</html>"
    assert report.loop_time == 0.5


def test_integrity_restores_submodules_and_classes() -> None:
    genuine_run = autograder.runner.run
    genuine_record = autograder._watch.Watch._record
    autograder.runner.run = lambda *a, **k: None
    autograder._watch.Watch._record = lambda self, *a: None
    autograder._watch.Watch.sneaky = 1
    try:
        with pytest.raises(errors.TamperingDetected, match="autograder.runner.run"):
            check(course.download, "a")
        restored = autograder._integrity.restore()
        assert {"autograder.runner.run", "autograder._watch.Watch._record", "autograder._watch.Watch.sneaky"} <= set(restored)
        assert autograder.runner.run is genuine_run and autograder._watch.Watch._record is genuine_record
        assert not hasattr(autograder._watch.Watch, "sneaky")
        check(course.download, "a", expected="<html>a</html>")
    finally:
        autograder._integrity.restore()


def test_garbage_of_earlier_cells_is_not_blamed_on_the_check() -> None:
    """A coroutine a lesson cell created and dropped is not the student's missing await."""
    import warnings

    async def lesson_demo():
        await asyncio.sleep(0)

    leftover = lesson_demo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        holder = [leftover]
        del leftover
        holder.clear()
    check(course.download, "a", expected="<html>a</html>")


def test_every_autograder_module_is_in_the_snapshot() -> None:
    import pkgutil

    names = {f"autograder.{m.name}" for m in pkgutil.walk_packages(autograder.__path__)} | {"autograder"}
    missing = [n for n in names if n not in autograder._integrity._modules and n in sys.modules]
    assert not missing
    assert "course.recording" in autograder._integrity._modules


LATE_IMPORT = """
import sys, types
import course
from autograder import TamperingDetected, check
import autograder.demos, autograder.validate  # the package's own modules, imported after the snapshot
check(course.download, "a", expected="<html>a</html>")
print("first check passed")
sys.modules["autograder.fake"] = types.ModuleType("autograder.fake")  # one a cell made up
try:
    check(course.download, "a", expected="<html>a</html>")
except TamperingDetected as error:
    print("tampering:", error)
"""


def test_the_packages_own_modules_imported_later_are_not_tampering() -> None:
    result = subprocess.run([sys.executable, "-c", LATE_IMPORT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "first check passed" in result.stdout.split("tampering:")[0], result.stdout
    assert "tampering: Your code replaced autograder.fake" in result.stdout, result.stdout

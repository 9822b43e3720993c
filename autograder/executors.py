"""Checking where work ran: on the loop's thread, in a worker thread, or in other processes."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from autograder import errors
from autograder.errors import student_facing
from autograder.report import Report


@dataclass(frozen=True)
class ProbeCall:
    """One call of a probed function: which process and thread ran it, and when (wall clock)."""

    pid: int
    thread_id: int
    start: float
    end: float


class CallProbe:
    """Wraps a function (picklable, for process pools) and records where each call ran.

    Each call writes one small file into the probe's folder, so calls made in other
    processes are seen too.

    >>> probe = CallProbe(course.download_blocking)
    >>> report = check(fetch_all_in_threads, urls, probe)
    >>> assert_ran_off_loop(report, probe)
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.folder = tempfile.mkdtemp(prefix="autograder-probe-")
        self.__name__ = getattr(func, "__name__", "probe")
        # The folder goes when the probe made here goes; copies in worker processes keep it.
        self._remove_folder = weakref.finalize(self, shutil.rmtree, self.folder, True)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_remove_folder", None)
        return state

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = time.time()
        try:
            return self.func(*args, **kwargs)
        finally:
            record = {"pid": os.getpid(), "thread_id": threading.get_ident(), "start": start, "end": time.time()}
            name = uuid.uuid4().hex
            partial = Path(self.folder, f"{name}.partial")
            partial.write_text(json.dumps(record))
            partial.rename(partial.with_suffix(".json"))  # whole or not at all for calls()

    def calls(self) -> list[ProbeCall]:
        return [ProbeCall(**json.loads(p.read_text())) for p in sorted(Path(self.folder).glob("*.json"))]


@student_facing
def assert_ran_off_loop(report: Report, probe: CallProbe, expected_calls: int | None = None) -> None:
    """Every call of the probed function ran in an executor, not on the loop's thread."""
    calls = probe.calls()
    name = probe.__name__
    if expected_calls is not None and len(calls) != expected_calls:
        _wrong_count(report, name, len(calls), expected_calls)
    on_loop = [c for c in calls if c.pid == os.getpid() and c.thread_id == report.loop_thread_id]
    if on_loop:
        raise errors.ExecutorNotUsed(
            f"{report.function} called {name}() {len(on_loop)} time(s) directly on the event loop's "
            f"thread, which blocks every other task. Run it with `await asyncio.to_thread({name}, ...)` "
            f"or `await loop.run_in_executor(pool, {name}, ...)`.") from None


@student_facing
def assert_ran_in_processes(report: Report, probe: CallProbe, min_processes: int = 2,
                            expected_calls: int | None = None) -> None:
    """The probed CPU-bound function ran in at least `min_processes` other processes."""
    calls = probe.calls()
    name = probe.__name__
    if expected_calls is not None and len(calls) != expected_calls:
        _wrong_count(report, name, len(calls), expected_calls)
    assert_ran_off_loop(report, probe)
    workers = {c.pid for c in calls if c.pid != os.getpid()}
    if len(workers) < min_processes:
        threads = any(c.pid == os.getpid() for c in calls)
        where = "in threads of this process, where the GIL lets only one run Python at a time" if threads \
            else f"in {len(workers)} process"
        needed = f"at least {min_processes} processes, to run in parallel" if min_processes > 1 \
            else "a process of its own"
        raise errors.NotInProcesses(
            f"{report.function} ran {name}() {where}; this CPU-bound work needs {needed}. Use a `concurrent.futures.ProcessPoolExecutor()` with "
            f"`loop.run_in_executor(pool, {name}, ...)` for each piece of work.") from None


def _wrong_count(report: Report, name: str, got: int, expected: int) -> None:
    raise errors.WrongResult(f"{report.function} called {name}() {got} times; expected {expected}.") from None

"""A small worker service for the lesson on graceful shutdown, run in a subprocess.

    python course/shutdown.py --workers 3 --job-seconds 0.3 [--no-handler]

The service runs `workers` tasks, each taking one job after another (a job is `job_seconds`
of waiting), and writes one JSON line per event on stdout: "ready" once, "started" and
"finished" for every job, and "stopped" at the end. With its signal handler (the default),
SIGTERM or SIGINT stops the intake of new jobs, lets the jobs in progress finish, and exits
with status 0. With `--no-handler`, the signal kills it at once and the jobs in progress are
lost. The notebook drives it with `observe_shutdown`, which returns what happened as data.

The file uses the standard library only, so it runs by path in any Python.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass

from course import children


@dataclass
class ServiceEvent:
    """One line the service writes: what happened, and to which job."""

    kind: str  # "ready", "started", "finished" or "stopped"
    job: int | None = None


def _say(event: ServiceEvent) -> None:
    print(json.dumps(asdict(event)), flush=True)


async def serve(workers: int, job_seconds: float, handle_signals: bool = True) -> None:
    """Take jobs with `workers` tasks until a signal; then finish the jobs in progress and stop."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    if handle_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)  # runs on the loop, between two steps
    job_numbers = itertools.count(1)

    async def worker() -> None:
        while not stop.is_set():  # check before taking a new job, never in the middle of one
            job = next(job_numbers)
            _say(ServiceEvent("started", job))
            await asyncio.sleep(job_seconds)  # the job itself
            _say(ServiceEvent("finished", job))

    async with asyncio.TaskGroup() as group:  # the group waits for every worker to return
        for _ in range(workers):
            group.create_task(worker())
        _say(ServiceEvent("ready"))
        await stop.wait()
    _say(ServiceEvent("stopped"))


@dataclass
class ShutdownObservation:
    """What the parent saw of one run of the service, stopped by SIGTERM."""

    handled_signals: bool
    exit_status: int
    started: set[int]
    finished: set[int]
    running_at_signal: int
    seconds_to_exit: float
    said_stopped: bool

    @property
    def lost(self) -> set[int]:
        """Jobs that started and never finished."""
        return self.started - self.finished


async def observe_shutdown(handle_signals: bool, *, workers: int = 3, job_seconds: float = 0.3,
                           run_for: float = 0.5) -> ShutdownObservation:
    """Start the service in a subprocess, send it SIGTERM after `run_for` s, and watch it end."""
    options = ["--workers", str(workers), "--job-seconds", str(job_seconds)]
    if not handle_signals:
        options.append("--no-handler")
    process = await asyncio.create_subprocess_exec(
        sys.executable, os.path.abspath(__file__), *options,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE)
    seen = ShutdownObservation(handle_signals, 0, set(), set(), 0, 0.0, False)
    try:
        assert process.stdout is not None
        ready = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        if ServiceEvent(**json.loads(ready)).kind != "ready":
            raise RuntimeError(f"the service said {ready!r} before it was ready")
        reading = asyncio.create_task(_record(process.stdout, seen))
        await asyncio.sleep(run_for)
        seen.running_at_signal = len(seen.started - seen.finished)
        signalled = time.monotonic()
        children.send(process, signal.SIGTERM)
        await reading
        seen.exit_status = await process.wait()
        seen.seconds_to_exit = time.monotonic() - signalled
    finally:
        if process.returncode is None:
            children.send(process)
            await process.wait()
    return seen


async def _record(stream: asyncio.StreamReader, seen: ShutdownObservation) -> None:
    """Read the service's events until it closes its output."""
    async for line in stream:
        event = ServiceEvent(**json.loads(line))
        if event.kind == "started":
            seen.started.add(event.job)
        elif event.kind == "finished":
            seen.finished.add(event.job)
        elif event.kind == "stopped":
            seen.said_stopped = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--job-seconds", type=float, default=0.3)
    parser.add_argument("--no-handler", action="store_true", help="let signals kill the process")
    options = parser.parse_args()
    asyncio.run(serve(options.workers, options.job_seconds, handle_signals=not options.no_handler))


if __name__ == "__main__":
    main()

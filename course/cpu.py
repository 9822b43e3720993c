"""CPU-bound work and a blocking "legacy" client, for the lessons on blocking and executors.

Everything here is a module-level function, so it can be sent to a process pool
(`loop.run_in_executor(ProcessPoolExecutor(), course.cpu.count_primes, range(...))`):
process pools pickle the function by its module and name, and a function defined in a
notebook cell cannot be found that way by a worker process started with "spawn".
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from course.services import blocking_recorder, blocking_twin

DEFAULT_LEGACY_LATENCY = 0.2


def is_prime(n: int) -> bool:
    """Trial division: slow on purpose, pure Python, holds the GIL the whole time."""
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    divisor = 3
    while divisor * divisor <= n:
        if n % divisor == 0:
            return False
        divisor += 2
    return True


def count_primes(numbers: Iterable[int]) -> int:
    """How many of `numbers` are prime (e.g. `count_primes(range(100_000))` -> 9592).

    Pure-Python CPU work: about 0.1 s for range(100_000) on a typical laptop. The loop is
    written out inline (no function call per number) so it costs the same when profiled.
    """
    count = 0
    for n in numbers:
        if n < 2:
            continue
        if n % 2 == 0:
            count += n == 2
            continue
        divisor = 3
        prime = True
        while divisor * divisor <= n:
            if n % divisor == 0:
                prime = False
                break
            divisor += 2
        count += prime
    return count


def count_primes_timed(numbers: Iterable[int]) -> tuple[int, float]:
    """`count_primes(numbers)` and the CPU seconds the calling thread spent on it.

    `time.thread_time()` counts only this thread's CPU, so adding up the figures of several
    workers and dividing by the wall-clock time says how many CPUs were busy at once.
    """
    started = time.thread_time()
    count = count_primes(numbers)
    return count, time.thread_time() - started


def chunks(limit: int, parts: int) -> list[range]:
    """range(limit) cut into `parts` consecutive ranges of (nearly) equal length."""
    size, extra = divmod(limit, parts)
    pieces, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        pieces.append(range(start, end))
        start = end
    return pieces


def parse_page(page: str, rounds: int = 20_000) -> dict[str, object]:
    """"Parse" a page of the simulated web: its URL, its length and a checksum of its text.

    The checksum is recomputed `rounds` times in pure Python to stand for real parsing
    work (a few milliseconds of CPU by default). Always the same answer for the same page.
    """
    url = page.removeprefix("<html>").removesuffix("</html>")
    checksum = 0
    codes = [ord(ch) for ch in page]
    for round_ in range(rounds):
        checksum = (checksum * 31 + codes[round_ % len(codes)] + round_) % 1_000_003
    return {"url": url, "length": len(page), "checksum": checksum}


@blocking_twin("course.cpu.legacy_fetch()",
               "it has no asyncio version: run it with `await asyncio.to_thread(course.cpu.legacy_fetch, url)`")
def legacy_fetch(url: str, latency: float = DEFAULT_LEGACY_LATENCY) -> str:
    """A blocking client with no async version (think of an old SDK): `latency` s per call.

    Returns "<html>{url}</html>"; a URL containing "missing" raises LookupError.
    """
    recorder = blocking_recorder()
    record = recorder.begin("legacy_fetch", url)
    try:
        time.sleep(latency)
    finally:
        recorder.end(record)
    if "missing" in url:
        raise LookupError(f"404 not found: {url}")
    return f"<html>{url}</html>"


@dataclass(frozen=True)
class AvailableCpus:
    """How many CPUs this process may use, and how busy the machine is (see `available_cpus`)."""

    machine: int
    allowed: int
    quota: float | None
    load: float | None

    @property
    def usable(self) -> float:
        """CPUs this process may use at most: the CPUs it may run on, capped by a CPU quota."""
        return min(self.allowed, self.quota) if self.quota is not None else float(self.allowed)

    def __str__(self) -> str:
        quota = f"a CPU quota of {self.quota:g} CPUs" if self.quota is not None else "no CPU quota"
        load = f"; load average {self.load:.1f} (programs ready to run, on average)" if self.load is not None else ""
        return (f"{self.machine} CPUs in the machine, {self.allowed} this process may run on, {quota}: "
                f"at most {self.usable:g} CPUs for this notebook{load}")


def _cgroup_quota() -> float | None:
    """The CPU quota of this process's cgroup (v2 `cpu.max`, or v1 `cpu.cfs_quota_us`), in CPUs."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # cgroup v2
            limit = Path("/sys/fs/cgroup", path.lstrip("/"), "cpu.max")
            if limit.exists():
                quota, period = limit.read_text().split()
                return None if quota == "max" else int(quota) / int(period)
        elif "cpu" in controllers.split(","):
            folder = Path("/sys/fs/cgroup", controllers, path.lstrip("/"))
            try:
                quota = int((folder / "cpu.cfs_quota_us").read_text())
                period = int((folder / "cpu.cfs_period_us").read_text())
            except (OSError, ValueError):
                continue
            return None if quota < 0 else quota / period
    return None


def available_cpus() -> AvailableCpus:
    """The CPUs this notebook may use: in the machine, allowed by CPU affinity, and by a cgroup quota."""
    machine = os.cpu_count() or 1
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else machine
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return AvailableCpus(machine, allowed, _cgroup_quota(), load)

"""CPU-bound work and a blocking "legacy" client, for the lessons on blocking and executors.

Everything here is a module-level function, so it can be sent to a process pool
(`loop.run_in_executor(ProcessPoolExecutor(), course.cpu.count_primes, range(...))`):
process pools pickle the function by its module and name, and a function defined in a
notebook cell cannot be found that way by a worker process started with "spawn".
"""
from __future__ import annotations

import time
from collections.abc import Iterable

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

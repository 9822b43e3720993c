"""Checks for 05 What blocks the event loop.

The checks run the student's code on the autograder's private loop (virtual clock) and look
at what it did: which client it called (the recorder sees every call of the asyncio clients,
and none of a blocking twin moved into a thread), whether anything blocked the loop, and for
the cooperative checksum, how many bytes it read between two turns of the loop, counted by
an instrumented input, so the verdict is the same on any machine and for any coding style.
"""
from __future__ import annotations

import asyncio
import functools
import itertools
import os
import tempfile
import zlib
from collections import Counter
from typing import Any, Callable, Iterator

import course.database
import course.servers
from autograder import assert_finishes_within, assert_peak_in_flight, check, register_blocking
from autograder.errors import LoopHeldTooLong, TaskLeaked, WrongResult, student_facing
from autograder.report import Report

#: Loop times are sums of floats; bounds allow this rounding and nothing more.
SLACK = 1e-9


def _page(url: str) -> str:
    return f"<html>{url}</html>"


def _passed(text: str) -> None:
    print(f"passed: {text}")


def _count(report: Report, name: str) -> int:
    return sum(1 for call in report.calls if call.name == name)


# --- Exercise 1 -----------------------------------------------------------------------------

@student_facing
def check_save_pages(save_pages: Callable, append_line: Callable, urls: list[str]) -> None:
    """Every page downloaded with course.download, stored with db.insert and logged with
    append_line off the loop, all pages side by side: 0.2 + 0.1 + 0.1 = 0.4 s of loop time."""
    name = "save_pages"
    # append_line writes to a file: a call to it on the loop's thread counts as blocking.
    register_blocking(append_line, "append_line() (file I/O)",
                      "run it off the loop: `await asyncio.to_thread(append_line, log_path, url)`")
    db = course.database.Database()
    log_path = os.path.join(tempfile.mkdtemp(), "saved.log")
    report = check(save_pages, urls, db, log_path, expected=[len(_page(u)) for u in urls], name=name)
    for call, client in (("download", "`await course.download(url, latency=0.2)`"),
                         ("db.insert", "`await db.insert(url, page)`")):
        made = _count(report, call)
        if made != len(urls):
            raise WrongResult(
                f"{name} made {made} calls of the asyncio client {call} for {len(urls)} URLs. Use {client} once per "
                "page: the asyncio twin, not its blocking twin moved into a thread (nor db.rows written directly).")
    assert_peak_in_flight(report, at_least=len(urls))
    assert_finishes_within(report, 0.4, not_before=0.4)
    if db.rows != {u: _page(u) for u in urls}:
        raise WrongResult(f"{name} left db.rows holding {sorted(db.rows)!r:.200}; store every page under its URL.")
    with open(log_path) as log:
        logged = log.read().splitlines()
    if sorted(logged) != sorted(urls):
        raise WrongResult(f"the log file holds {logged!r:.200}; {name} must append one line per URL with append_line.")
    _passed(f"{name} saves {len(urls)} pages side by side in {report.loop_time:.1f} s of loop time, never blocking")


# --- Exercise 2 -----------------------------------------------------------------------------

#: Bytes handed out at a time when the code under test iterates over the instrumented input.
CHUNK = 64


class _ByteMeter:
    """Counts the bytes read from a `CountingBytes` in each turn of the loop."""

    def __init__(self) -> None:
        self.turn = 0
        self.per_turn: Counter[int] = Counter()

    def take(self, chunk: bytes) -> bytes:
        self.per_turn[self.turn] += len(chunk)
        return chunk

    @property
    def total(self) -> int:
        return sum(self.per_turn.values())


class CountingBytes(bytes):
    """Bytes that count how many of them are read (by iteration or indexing), turn by turn.

    Slices are `CountingBytes` too, so cutting the data into pieces first and reading the
    pieces later counts each byte when it is read.
    """

    _meter: _ByteMeter

    def __new__(cls, data: bytes, meter: _ByteMeter) -> "CountingBytes":
        made = super().__new__(cls, data)
        made._meter = meter
        return made

    def __iter__(self) -> Iterator[int]:
        plain = bytes(self)
        pieces = (plain[start:start + CHUNK] for start in range(0, len(plain), CHUNK))
        return itertools.chain.from_iterable(map(self._meter.take, pieces))

    def __getitem__(self, key: Any) -> Any:
        value = bytes.__getitem__(self, key)
        if isinstance(key, slice):
            return CountingBytes(value, self._meter)
        self._meter.per_turn[self._meter.turn] += 1
        return value


@student_facing
def check_adler32_cooperative(adler32_cooperative: Callable, data: bytes, every: int = 10_000) -> None:
    """The right checksum, and a turn of the loop at least every `every` bytes read.

    A ticker task on the same loop counts the turns; the instrumented input counts the bytes
    read between two of them. Code that reads the bytes in a way the input cannot see (a
    memoryview, say) must still give the loop at least one turn per `every` bytes."""
    name = "adler32_cooperative"
    meter = _ByteMeter()
    instrumented = CountingBytes(data, meter)

    async def with_ticker() -> int:
        async def ticker() -> None:
            while True:  # one step per turn of the loop
                meter.turn += 1
                await asyncio.sleep(0)

        ticking = asyncio.create_task(ticker())
        try:
            return await adler32_cooperative(instrumented)
        finally:
            ticking.cancel()
            await asyncio.gather(ticking, return_exceptions=True)

    # A budget of lines far above any per-byte algorithm's (so the byte count below gives the
    # diagnosis), which still stops a loop that never ends.
    report = check(with_ticker, expected=zlib.adler32(data), name=name, max_step_lines=50 * len(data) + 100_000)
    most = max(meter.per_turn.values(), default=0)
    if meter.total >= len(data):
        if most > every + CHUNK:
            raise LoopHeldTooLong(
                f"{name} read {most:,} bytes of its {len(data):,}-byte input without giving the loop a turn "
                f"(allowed: {every:,}). Cut the loop into slices of at most {every:,} bytes and "
                "`await asyncio.sleep(0)` after each one.")
    else:
        needed = -(-len(data) // every) - 1
        turns = meter.turn
        if turns < needed:
            raise LoopHeldTooLong(
                f"{name} gave the loop {turns} turn(s) while it computed over {len(data):,} bytes; a turn at least "
                f"every {every:,} bytes makes at least {needed}. `await asyncio.sleep(0)` after each slice of "
                f"{every:,} bytes.")
    _passed(f"{name}: right checksum of {len(data):,} bytes, at most {most:,} bytes between two turns of the loop "
            f"({report.loop_time:g} s of loop time)")


# --- Exercise 3 -----------------------------------------------------------------------------

@student_facing
def check_heartbeat(with_heartbeat: Callable, url: str, interval: float, latency: float) -> None:
    """with_heartbeat returns the work's result with a tick at once and one every `interval`
    s of loop time while the work runs, and stops the heartbeat."""
    name = "with_heartbeat"

    async def watched() -> tuple[Any, list[float]]:
        started = asyncio.get_running_loop().time()
        result, ticks = await with_heartbeat(course.download(url, latency=latency), interval)
        return result, [t - started for t in ticks]

    report = check(watched, within=latency + SLACK, not_before=latency, name=name)
    result, ticks = report.result
    if result != _page(url):
        raise WrongResult(f"{name} returned {result!r:.80} as the work's result; expected {_page(url)!r}.")
    beats = int((latency - SLACK) // interval) + 1
    expected = [round(i * interval, 6) for i in range(beats)]
    got = [round(t, 6) for t in ticks]
    if got != expected:
        raise WrongResult(
            f"{name}'s heartbeat ticked at {[round(t, 3) for t in ticks]} (s of loop time from the start); expected "
            f"{[round(t, 3) for t in expected]}: a first tick at once, then one every {interval} s while the work "
            "runs, and none after. Record `asyncio.get_running_loop().time()`, then `await asyncio.sleep(interval)`.")
    _passed(f"{name}: {len(ticks)} ticks every {interval} s around {latency} s of work")


@student_facing
def check_heartbeat_stops_on_error(with_heartbeat: Callable, interval: float) -> None:
    """When the work raises, the same exception reaches the caller and the heartbeat is stopped."""

    async def failing() -> Any:
        return await with_heartbeat(course.download("missing"), interval)

    try:
        check(failing, raises=LookupError, name="with_heartbeat")
    except TaskLeaked:
        raise TaskLeaked(
            "with_heartbeat let the work's LookupError through but left its heartbeat task running. Stop the "
            "heartbeat in a `finally:` block, so it stops whether the work returns or raises: cancel its task, "
            "then await it (and ignore the CancelledError that awaiting it raises).") from None
    _passed("with_heartbeat lets the work's LookupError through and stops its heartbeat")


# --- Exercise 4 -----------------------------------------------------------------------------

@student_facing
def check_handle_lookup(handle_lookup: Callable, profiles: dict[str, str], requests: list[str],
                        latency: float) -> None:
    """Every client answered with one line per request: each name's profile or "unknown", the
    names of a request looked up side by side with the asyncio client, all clients at once."""
    name = "handle_lookup"
    db = course.database.Database(profiles, latency=latency)

    async def serve_clients() -> list[str]:
        async with course.servers.serve(functools.partial(handle_lookup, db)) as server:
            return await asyncio.gather(*(server.request(line) for line in requests))

    expected = ["; ".join(f"{n}: {profiles.get(n, 'unknown')}" for n in line.split()) for line in requests]
    report = check(serve_clients, expected=expected, name=name)
    names = sum(len(line.split()) for line in requests)
    made = _count(report, "db.get")
    if made != names:
        raise WrongResult(
            f"{name} made {made} queries with the asyncio client for {names} names. Look each name up with "
            "`await db.get(name)` (not its blocking twin moved into a thread, nor db.rows read directly).")
    assert_peak_in_flight(report, at_least=names)
    assert_finishes_within(report, latency, not_before=latency)
    _passed(f"{name} answers {len(requests)} clients ({names} names) in {report.loop_time:g} s of loop time")

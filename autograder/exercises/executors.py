"""Checks for 06 Executors: threads and processes.

The functions handed to the student's code are `WatchedCall`s: `CallProbe`s (each call
records which process and thread ran it) that also

* keep a reference to every pool their calls ran in, so a check can tell whether the
  student's code shut its pool down (`ResourceLeaked` if not);
* optionally hold the first call until a second call runs at the same time (in another
  thread or process), for at most `MEET_TIMEOUT` seconds. Work submitted all at once to a
  pool of two or more workers always meets; work submitted one piece after another never
  does. So "the pieces overlapped" is a fact about the code, not about how busy the machine
  was or how long each piece took.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import concurrent.futures.process
import json
import os
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import Any, Callable

import course.cpu
import course.database
from autograder import CallProbe, assert_ran_in_processes, assert_ran_off_loop, check
from autograder.errors import ExecutorNotUsed, RanSequentially, ResourceLeaked, TooManyInFlight, WrongResult, student_facing
from autograder.report import Report

#: Longest real wait (seconds) of a first call for a second one to run beside it.
MEET_TIMEOUT = 10.0
_POLL = 0.005
#: Loop times are sums of floats; bounds allow this rounding and nothing more.
SLACK = 1e-9


#: Pools seen by the WatchedCall of each folder in this process: folder -> pools.
_POOLS: dict[str, list[concurrent.futures.Executor]] = {}
#: Process pools that existed before a check started, by folder (never blamed on the student).
_EARLIER: dict[str, set[int]] = {}
_LOCK = threading.Lock()


def _process_pools() -> list[concurrent.futures.ProcessPoolExecutor]:
    """The live process pools of this process, found through their manager threads."""
    pools = []
    for manager in list(concurrent.futures.process._threads_wakeups):
        reference = getattr(manager, "executor_reference", None)
        pool = reference() if reference is not None else None
        if pool is not None:
            pools.append(pool)
    return pools


def _thread_pool_of_this_thread() -> concurrent.futures.ThreadPoolExecutor | None:
    """The thread pool whose worker runs this call, if any (its workers hold a weak reference)."""
    for argument in getattr(threading.current_thread(), "_args", ()):
        if isinstance(argument, weakref.ref):
            pool = argument()
            if isinstance(pool, concurrent.futures.ThreadPoolExecutor):
                return pool
    return None


def _is_shut_down(pool: concurrent.futures.Executor) -> bool:
    return bool(getattr(pool, "_shutdown", False) or getattr(pool, "_shutdown_thread", False))


class WatchedCall(CallProbe):
    """A CallProbe that notes the pools its calls ran in and can make two calls meet."""

    def __init__(self, func: Callable[..., Any], meet: bool = False) -> None:
        super().__init__(func)
        self.meet = meet
        self.home_pid = os.getpid()
        _POOLS[self.folder] = []
        _EARLIER[self.folder] = {id(pool) for pool in _process_pools()}

    def __getstate__(self) -> dict:
        if os.getpid() == self.home_pid:  # pickled for a process pool: note the pool
            self._note(pool for pool in _process_pools() if id(pool) not in _EARLIER.get(self.folder, ()))
        return super().__getstate__()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if os.getpid() == self.home_pid:
            pool = _thread_pool_of_this_thread()
            if pool is not None:
                self._note([pool])
        if self.meet and not _on_an_event_loop():
            self._wait_for_a_partner()
        start = time.time()
        try:
            return self.func(*args, **kwargs)
        finally:
            # Written whole, then renamed: `calls()` never reads a record half written by a call
            # that was still running in a pool when the student's function returned.
            record = {"pid": os.getpid(), "thread_id": threading.get_ident(), "start": start, "end": time.time()}
            partial = Path(self.folder, f"{uuid.uuid4().hex}.partial")
            partial.write_text(json.dumps(record))
            os.replace(partial, partial.with_suffix(".json"))

    def _note(self, pools) -> None:
        with _LOCK:
            seen = _POOLS.setdefault(self.folder, [])
            for pool in pools:
                if all(pool is not known for known in seen):
                    seen.append(pool)

    def _wait_for_a_partner(self) -> None:
        folder = Path(self.folder)
        (folder / f"running-{uuid.uuid4().hex}").touch()
        deadline = time.monotonic() + MEET_TIMEOUT
        while not (folder / "met").exists() and not (folder / "alone").exists():
            if len(list(folder.glob("running-*"))) >= 2:
                (folder / "met").touch()
                break
            if time.monotonic() > deadline:
                (folder / "alone").touch()
                break
            time.sleep(_POLL)

    def met(self) -> bool:
        """True once two calls ran at the same time."""
        return Path(self.folder, "met").exists()

    def pools(self) -> list[concurrent.futures.Executor]:
        return list(_POOLS.get(self.folder, []))

    def release(self) -> None:
        """Forget the pools (shutting down any left running) and the probe's records."""
        for pool in _POOLS.pop(self.folder, []):
            if not _is_shut_down(pool):
                pool.shutdown(wait=False, cancel_futures=True)
        _EARLIER.pop(self.folder, None)


def _on_an_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _passed(text: str) -> None:
    print(f"passed: {text}")


def _page(url: str) -> str:
    return f"<html>{url}</html>"


def _assert_overlapped(report: Report, probe: WatchedCall, what: str) -> None:
    if probe.meet and len(probe.calls()) >= 2 and not probe.met():
        raise RanSequentially(
            f"{report.function} ran the calls of {probe.__name__} one after another: each one started only after "
            f"the previous one had finished, so {what} never overlapped. Start every call before awaiting any: "
            "collect the awaitables first and wait for all of them together (asyncio.gather), rather than "
            "awaiting each one as you create it.")


def _assert_pools_shut_down(report: Report, probe: WatchedCall) -> None:
    left = [pool for pool in probe.pools() if not _is_shut_down(pool)]
    if left:
        kind, workers = ("process", "processes") if isinstance(left[0], concurrent.futures.ProcessPoolExecutor) \
            else ("thread", "threads")
        raise ResourceLeaked(
            f"{report.function} returned without shutting its {kind} pool down, so the pool's {workers} stay alive "
            "after the work is done. Shut it down when the work is finished, or has failed: a `with` block does "
            "it once every job has been awaited; otherwise call `pool.shutdown(...)` in a `finally:` block.")


# --- Exercise 1 -----------------------------------------------------------------------------

def legacy_fetch(url: str) -> str:
    """`course.cpu.legacy_fetch` with a latency that differs from URL to URL (0.05 to 0.25 s), so
    the calls end in another order than they started."""
    return course.cpu.legacy_fetch(url, latency=0.05 * (1 + sum(map(ord, url)) % 5))


def _fetch_outcome(url: str) -> str | LookupError:
    return LookupError(f"404 not found: {url}") if "missing" in url else _page(url)


@student_facing
def check_fetch_all_in_threads(fetch_all_in_threads: Callable, urls: list[str]) -> None:
    """fetch runs once per distinct URL, in worker threads, all at the same time; the result
    holds each URL's page, or the exception its call raised, in the order of `urls`."""
    name = "fetch_all_in_threads"
    distinct = list(dict.fromkeys(urls))
    probe = WatchedCall(legacy_fetch, meet=len(distinct) >= 2)
    try:
        report = check(fetch_all_in_threads, probe, urls, clock="real", name=name)
        assert_ran_off_loop(report, probe)
        calls = probe.calls()
        if len(calls) != len(distinct):
            more = " (a URL that appears twice is fetched once: both entries get the same result)" \
                if len(distinct) < len(urls) else ""
            raise WrongResult(f"{name} called fetch {len(calls)} times for {len(distinct)} distinct URLs{more}.")
        _assert_overlapped(report, probe, "the threads")
        _assert_outcomes(report, urls)
    finally:
        probe.release()
    _passed(f"{name}: {len(urls)} URLs, {len(distinct)} calls side by side in worker threads, errors in place")


def _assert_outcomes(report: Report, urls: list[str]) -> None:
    result = report.result
    if not isinstance(result, list) or len(result) != len(urls):
        raise WrongResult(f"{report.function} returned {result!r:.120}; expected a list with one entry per URL "
                          f"({len(urls)} entries).")
    for url, got in zip(urls, result):
        want = _fetch_outcome(url)
        if isinstance(want, LookupError):
            if not isinstance(got, LookupError):
                raise WrongResult(
                    f"{report.function} put {got!r:.80} in the entry for {url!r}, whose fetch raised LookupError. Put "
                    "the exception object itself there (not its name or message): asyncio.gather can collect "
                    "exceptions as results.")
        elif got != want:
            raise WrongResult(f"{report.function} put {got!r:.80} in the entry for {url!r}; expected {want!r}: keep "
                              "the entries in the order of urls.")


# --- Exercise 2 -----------------------------------------------------------------------------

@student_facing
def check_fetch_with_pool(fetch_with_pool: Callable, urls: list[str], workers: int) -> None:
    """Exactly `workers` calls at once (and that many while there is work), pages in order,
    the pool shut down; a failing call's exception reaches the caller, pool shut down too."""
    name = "fetch_with_pool"
    failing = any("missing" in url for url in urls)
    probe = WatchedCall(legacy_fetch, meet=min(workers, len(urls)) >= 2 and not failing)
    try:
        if failing:
            report = check(fetch_with_pool, probe, urls, workers, raises=LookupError, clock="real", name=name)
        else:
            report = check(fetch_with_pool, probe, urls, workers, expected=[_page(u) for u in urls],
                           clock="real", name=name)
        assert_ran_off_loop(report, probe)
        _assert_pool_size(report, probe, workers)
        if not failing:
            if len(probe.calls()) != len(urls):
                raise WrongResult(f"{name} called fetch {len(probe.calls())} times for {len(urls)} URLs.")
            _assert_overlapped(report, probe, "the pool's threads")
        _assert_pools_shut_down(report, probe)
    finally:
        probe.release()
    outcome = "LookupError reaches the caller" if failing else f"{len(urls)} pages"
    _passed(f"{name}: {outcome}, at most {workers} calls at once, pool shut down")


def _assert_pool_size(report: Report, probe: WatchedCall, workers: int) -> None:
    """Every call ran in one thread pool of exactly `workers` threads (not the loop's default pool)."""
    for pool in probe.pools():
        size = getattr(pool, "_max_workers", None)
        default = str(getattr(pool, "_thread_name_prefix", "")).startswith("asyncio")
        if default or size != workers:
            which = f"the loop's default pool ({size} threads)" if default else f"a pool of {size} threads"
            raise TooManyInFlight(
                f"{report.function} ran the calls in {which}, so up to {size} of them could run at once; the "
                f"limit is {workers}. Create a ThreadPoolExecutor of exactly `workers` threads in your function "
                "and run every call in it.")
    if len(probe.pools()) > 1:
        raise TooManyInFlight(f"{report.function} ran the calls in {len(probe.pools())} different pools; run them "
                              f"all in one pool of {workers} threads, so that at most {workers} run at once.")


# --- Exercise 3 -----------------------------------------------------------------------------

@student_facing
def check_count_primes_in_processes(count_primes_in_processes: Callable, limit: int, parts: int) -> None:
    """The right total; `count` called once per piece, in worker processes, the pieces
    overlapping in at least 2 processes; the pool shut down."""
    name = "count_primes_in_processes"
    probe = WatchedCall(course.cpu.count_primes, meet=parts >= 2)
    try:
        expected = sum(course.cpu.count_primes(piece) for piece in course.cpu.chunks(limit, parts))
        report = check(count_primes_in_processes, probe, limit, parts, clock="real", name=name)
        if report.result != expected:
            raise WrongResult(
                f"{name} returned {report.result!r:.80}, but there are {expected} primes below {limit:,}. Count every "
                "number of range(limit) once: when `limit` does not divide by `parts`, pieces cut by hand tend to "
                "lose the last numbers (course.cpu.chunks cuts them right).")
        assert_ran_in_processes(report, probe, min_processes=1, expected_calls=parts)
        _assert_overlapped(report, probe, "the processes")
        assert_ran_in_processes(report, probe, min_processes=min(2, parts), expected_calls=parts)
        _assert_pools_shut_down(report, probe)
    finally:
        probe.release()
    _passed(f"{name}: {expected} primes below {limit:,} in {parts} pieces, counted side by side in processes")


# --- Exercise 4 -----------------------------------------------------------------------------

@student_facing
def check_index_pages(index_pages: Callable, urls: list[str]) -> None:
    """Downloads and inserts side by side, every parse in a worker process, each result stored
    with db.insert, the pool shut down: 1.1 s of loop time."""
    name = "index_pages"
    probe = WatchedCall(course.cpu.parse_page)
    db = course.database.Database()
    try:
        report = check(index_pages, urls, db, probe, expected=len(urls), within=1.1 + SLACK,
                       min_in_flight=len(urls), name=name)
        on_loop = [c for c in probe.calls() if c.pid == os.getpid() and c.thread_id == report.loop_thread_id]
        if on_loop:
            raise ExecutorNotUsed(
                f"{name} called parse() {len(on_loop)} time(s) on the event loop's thread: each call computes for a "
                "while, and every other task waits meanwhile. Run each call in the ProcessPoolExecutor your "
                "function creates, with loop.run_in_executor.")
        assert_ran_in_processes(report, probe, min_processes=1, expected_calls=len(urls))
        inserts = sum(1 for call in report.calls if call.name == "db.insert")
        if inserts != len(urls):
            raise WrongResult(f"{name} made {inserts} calls of db.insert for {len(urls)} pages; store each result "
                              "with `await db.insert(url, parsed)`.")
        expected = {url: course.cpu.parse_page(_page(url)) for url in urls}
        if db.rows != expected:
            wrong = next(url for url in urls if db.rows.get(url) != expected[url])
            raise WrongResult(f"{name} stored {db.rows.get(wrong)!r:.120} for {wrong!r}; expected parse(page), "
                              f"{expected[wrong]!r}.")
        _assert_pools_shut_down(report, probe)
    finally:
        probe.release()
    _passed(f"{name}: {len(urls)} pages downloaded, parsed in processes and stored in {report.loop_time:.1f} s "
            "of loop time")

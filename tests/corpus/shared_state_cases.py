"""Corpus cases for notebook 08: races, a fetch-once cache, a supervisor, a thread feeding the loop.

Registered into `autograder_cases.CASES` (loaded from there), graded the same ways. Good
solutions come in more than one style (a task or an Event per key; `to_thread` or
`run_in_executor`), so that the verdict follows behaviour, never style.
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from autograder.exercises import shared_state_and_structure as checks
from autograder_cases import case

DEPOSITS = [("alice", 10)] * 5 + [("bob", 3), ("bob", 4), ("carol", 7)]
CACHE_WAVES = [["a", "b", "a", "a", "c", "b"], ["a", "c", "d"]]
FAILING_WAVES = [["missing1", "ok", "missing1", "missing1"], ["missing1", "ok"]]
JOBS = {"fast": (0.2, None), "boom": (0.5, "ValueError"), "bang": (0.5, "KeyError"), "slow": (2.0, None)}


# --- a ledger ----------------------------------------------------------------------------

class LedgerWithLockPerAccount:
    def __init__(self, db):
        self.db = db
        self.locks: dict[str, asyncio.Lock] = {}

    async def deposit(self, account, amount):
        async with self.locks.setdefault(account, asyncio.Lock()):
            balance = (await self.db.get(account) or 0) + amount
            await self.db.insert(account, balance)
        return balance


class LedgerWithoutLock:
    def __init__(self, db):
        self.db = db

    async def deposit(self, account, amount):
        balance = (await self.db.get(account) or 0) + amount
        await self.db.insert(account, balance)
        return balance


class LedgerWithOneLock(LedgerWithLockPerAccount):
    async def deposit(self, account, amount):
        async with self.locks.setdefault("every account", asyncio.Lock()):
            balance = (await self.db.get(account) or 0) + amount
            await self.db.insert(account, balance)
        return balance


@case()
def ledger_lock_per_account():
    checks.check_ledger_never_loses_an_update(LedgerWithLockPerAccount, DEPOSITS, {"bob": 100})
    checks.check_ledger_accounts_proceed_independently(LedgerWithLockPerAccount, [("a", 1)] * 3 + [("b", 2)])


@case("WrongResult", "lost updates")
def ledger_read_modify_write_races():
    checks.check_ledger_never_loses_an_update(LedgerWithoutLock, DEPOSITS, {"bob": 100})


@case("RanSequentially", "its own lock")
def ledger_one_lock_serialises_accounts():
    checks.check_ledger_accounts_proceed_independently(LedgerWithOneLock, [("a", 1)] * 3 + [("b", 2)])


# --- a cache that fetches once -----------------------------------------------------------

class _Fetch:
    """One fetch in flight: an Event its waiters wait for, and its error if it fails."""

    def __init__(self) -> None:
        self.done = asyncio.Event()
        self.error: BaseException | None = None


class CacheWithEventPerKey:
    """The other style: an Event per URL; the asker who fetches raises, the waiters re-raise."""

    def __init__(self, fetch):
        self.fetch = fetch
        self.pages: dict[str, str] = {}
        self.in_flight: dict[str, _Fetch] = {}

    async def get(self, url):
        if url in self.pages:
            return self.pages[url]
        fetching = self.in_flight.get(url)
        if fetching is None:
            fetching = self.in_flight[url] = _Fetch()
            try:
                self.pages[url] = await self.fetch(url)
            except Exception as error:
                fetching.error = error
                raise
            finally:
                del self.in_flight[url]
                fetching.done.set()
            return self.pages[url]
        await fetching.done.wait()
        if fetching.error is not None:
            raise fetching.error
        return self.pages[url]


class CacheWithoutSharing:
    def __init__(self, fetch):
        self.fetch = fetch
        self.pages: dict[str, str] = {}

    async def get(self, url):
        if url not in self.pages:
            self.pages[url] = await self.fetch(url)
        return self.pages[url]


class CacheWithUnretrievedFuture:
    def __init__(self, fetch):
        self.fetch = fetch
        self.futures: dict[str, asyncio.Future] = {}

    async def get(self, url):
        if url in self.futures:
            return await self.futures[url]
        future = self.futures[url] = asyncio.get_running_loop().create_future()
        try:
            page = await self.fetch(url)
        except Exception as error:
            del self.futures[url]
            future.set_exception(error)
            raise
        future.set_result(page)
        return page


@case()
def cache_with_an_event_per_key():
    checks.check_cache_fetches_each_page_once(CacheWithEventPerKey, CACHE_WAVES)
    checks.check_cache_shares_errors_and_retries(CacheWithEventPerKey, FAILING_WAVES)


@case("WrongResult", "must wait for that fetch")
def cache_fetches_again_for_every_asker():
    checks.check_cache_fetches_each_page_once(CacheWithoutSharing, CACHE_WAVES)


@case("TaskLeaked", "Future exception was never retrieved")
def cache_future_error_never_retrieved():
    checks.check_cache_shares_errors_and_retries(CacheWithUnretrievedFuture, FAILING_WAVES)


# --- a supervisor ------------------------------------------------------------------------

@dataclass
class Outcome:
    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)


async def supervise_with_task_group(jobs):
    tasks = {}
    try:
        async with asyncio.TaskGroup() as group:
            for name, job in jobs.items():
                tasks[name] = group.create_task(job())
    except* Exception:
        pass
    outcome = Outcome()
    for name, task in tasks.items():
        if task.cancelled():
            outcome.cancelled.add(name)
        elif task.exception() is not None:
            outcome.errors[name] = task.exception()
        else:
            outcome.results[name] = task.result()
    return outcome


async def supervise_waiting_for_all(jobs):
    names = list(jobs)
    settled = await asyncio.gather(*(jobs[name]() for name in names), return_exceptions=True)
    outcome = Outcome()
    for name, value in zip(names, settled):
        (outcome.errors if isinstance(value, BaseException) else outcome.results)[name] = value
    return outcome


@case()
def supervisor_with_a_task_group():
    checks.check_supervise_cancels_siblings(supervise_with_task_group, JOBS)


@case("TookTooLong", "instead of being cancelled")
def supervisor_lets_siblings_run_on():
    checks.check_supervise_cancels_siblings(supervise_waiting_for_all, JOBS)


# --- a thread that feeds the loop --------------------------------------------------------

async def consume_with_to_thread(produce, handle):
    """The other style: asyncio.to_thread, and a helper that drains the queue."""
    loop = asyncio.get_running_loop()
    items: asyncio.Queue = asyncio.Queue()
    end = object()

    async def drain():
        count = 0
        while (item := await items.get()) is not end:
            await handle(item)
            count += 1
        return count

    producing = asyncio.ensure_future(asyncio.to_thread(produce, lambda item: loop.call_soon_threadsafe(items.put_nowait, item)))
    producing.add_done_callback(lambda _: items.put_nowait(end))
    count = await drain()
    await producing
    return count


async def consume_with_unsafe_emit(produce, handle):
    loop = asyncio.get_running_loop()
    items: asyncio.Queue = asyncio.Queue()
    end = object()
    producing = loop.run_in_executor(None, produce, items.put_nowait)
    producing.add_done_callback(lambda _: items.put_nowait(end))
    count = 0
    while (item := await items.get()) is not end:
        await handle(item)
        count += 1
    return count


async def consume_in_own_thread(produce, handle):
    loop = asyncio.get_running_loop()
    items: asyncio.Queue = asyncio.Queue()
    end = object()

    def body():
        try:
            produce(lambda item: loop.call_soon_threadsafe(items.put_nowait, item))
        finally:
            loop.call_soon_threadsafe(items.put_nowait, end)

    threading.Thread(target=body).start()
    count = 0
    while (item := await items.get()) is not end:
        await handle(item)
        count += 1
    return count


@case()
def consumer_with_to_thread():
    checks.check_consume_from_thread(consume_with_to_thread, [1, 2, 3, 4, 5])
    checks.check_consume_from_thread_raises(consume_with_to_thread, ["x", "y"])


@case("NotThreadSafe", "call_soon_threadsafe")
def consumer_emits_from_the_thread_unsafely():
    checks.check_consume_from_thread(consume_with_unsafe_emit, [1, 2, 3])


@case("ExecutorNotUsed", "thread it started itself")
def consumer_starts_its_own_thread():
    checks.check_consume_from_thread(consume_in_own_thread, [1, 2, 3])

"""Checks for 08 Shared state and structured concurrency.

Each check runs the student's code on the autograder's private loop (virtual clock) from a
small driver coroutine that plays the callers: many tasks depositing at once, many tasks
asking a cache for the same pages, jobs that fail while their siblings still run, a thread
that emits items. The driver records what happened; the check turns it into one verdict.
"""
from __future__ import annotations

import asyncio
import concurrent.futures.thread
import threading
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import course
import course.database
from autograder import (
    assert_all_awaited,
    assert_finished,
    assert_no_blocking,
    assert_no_exception,
    assert_no_leaked_tasks,
    assert_not_tampered,
    check,
    errors,
    run,
)
from autograder.errors import student_facing

#: Latency of the database in the deposit checks (loop seconds per get or insert).
DB_LATENCY = 0.1
#: Loop turns a producer thread lets the loop run before it emits the next item.
_SETTLE_TURNS = 50
#: Real seconds a producer thread waits at most for the loop to take those turns (a loop
#: blocked by the code under test never does); it stops waiting at once when the loop closes.
_SETTLE_TIMEOUT = 15.0
_SETTLE_POLL = 0.25
#: Loop seconds between the ticks of the check's own timer, which keeps a run whose producer
#: thread gets no CPU for a while (a loaded machine) from counting as stalled: the clock moves
#: on to the tick instead, and the loop goes on waiting for the thread.
_TICK = 1.0
#: Real seconds to wait for a producer thread still running after the check's run ended.
_PRODUCER_JOIN = 5.0
_EPSILON = 1e-9


class NotThreadSafe(errors.CheckFailed):
    """Code running in another thread touched the event loop with a call that is not thread-safe."""


def _fail(kind: type[errors.CheckFailed], message: str) -> None:
    raise kind(message) from None


# --- exercise 1: a ledger that never loses an update ---------------------------------------

def _running_totals_ok(returned: list[int], opening: int, amounts: list[int]) -> bool:
    """Each deposit saw a different balance: the returned balances, sorted, step by the amounts."""
    steps = [b - a for a, b in zip([opening, *sorted(returned)], sorted(returned))]
    return Counter(steps) == Counter(amounts)


async def _deposit_everything(ledger_class: type, db: course.database.Database,
                              deposits: list[tuple[str, int]]) -> list[int]:
    ledger = ledger_class(db)
    return list(await asyncio.gather(*(ledger.deposit(account, amount) for account, amount in deposits)))


def _run_deposits(ledger_class: type, deposits: list[tuple[str, int]], opening: dict[str, int]):
    db = course.database.Database(dict(opening), latency=DB_LATENCY)
    report = check(_deposit_everything, ledger_class, db, deposits, name="Ledger.deposit")
    expected = dict(opening)
    for account, amount in deposits:
        expected[account] = expected.get(account, 0) + amount
    for account in dict.fromkeys(a for a, _ in deposits):
        amounts = [amount for a, amount in deposits if a == account]
        stored = db.rows.get(account)
        if stored != expected[account]:
            _fail(errors.WrongResult,
                  f"Ledger.deposit lost updates: after {len(amounts)} deposits to {account!r} (opening balance "
                  f"{opening.get(account, 0)}, amounts {amounts}) the database holds {stored!r}, expected "
                  f"{expected[account]}. Two deposits read the same balance before either wrote it back. Hold "
                  "an asyncio.Lock from the `get` to the `insert`, so a deposit reads only after the previous "
                  "one has written.")
        returned = [r for (a, _), r in zip(deposits, report.result) if a == account]
        if not _running_totals_ok(returned, opening.get(account, 0), amounts):
            _fail(errors.WrongResult,
                  f"Ledger.deposit returned the balances {returned} for the deposits {amounts} to {account!r} "
                  f"(opening balance {opening.get(account, 0)}): each deposit must return the balance it "
                  "wrote, and no two deposits may see the same balance.")
    return report


@student_facing
def check_ledger_never_loses_an_update(ledger_class: type, deposits: list[tuple[str, int]],
                                       opening: dict[str, int]) -> None:
    """Every deposit, run all at once, ends up in the database, and each returns its new balance."""
    _run_deposits(ledger_class, deposits, opening)
    print(f"passed: Ledger.deposit kept all {len(deposits)} concurrent deposits")


@student_facing
def check_ledger_accounts_proceed_independently(ledger_class: type, deposits: list[tuple[str, int]]) -> None:
    """Deposits to different accounts overlap: only deposits to the same account wait for each other."""
    report = _run_deposits(ledger_class, deposits, {})
    busiest = max(Counter(account for account, _ in deposits).values())
    bound = busiest * 2 * DB_LATENCY
    if report.loop_time > bound + _EPSILON:
        _fail(errors.RanSequentially,
              f"Ledger.deposit took {report.loop_time:.2f} s of loop time for {len(deposits)} deposits; the "
              f"busiest account has {busiest}, which need {bound:.2f} s (a get and an insert of "
              f"{DB_LATENCY:g} s each, one deposit after another). Deposits to different accounts waited "
              "for each other: give each account its own lock (a dict of locks, one created per account "
              "the first time it is used).")
    print(f"passed: Ledger.deposit let {len({a for a, _ in deposits})} accounts proceed side by side "
          f"({report.loop_time:.1f} s of loop time)")


# --- exercise 2: a cache that fetches each page once -----------------------------------------

@dataclass
class _Wave:
    """One round of asks, all at the same time, and what each asker got."""

    urls: list[str]
    answers: list[Any] = field(default_factory=list)
    fetched: Counter = field(default_factory=Counter)
    loop_time: float = 0.0


async def _ask_in_waves(cache_class: type, waves: list[_Wave]) -> None:
    cache = cache_class(course.download)
    recorder = course.recorder_for(asyncio.get_running_loop())
    loop = asyncio.get_running_loop()
    for wave in waves:
        before, started = len(recorder.calls), loop.time()
        answers = await asyncio.gather(*(cache.get(url) for url in wave.urls), return_exceptions=True)
        wave.answers = [_without_frames(answer) for answer in answers]
        wave.fetched = Counter(call.key for call in recorder.calls[before:])
        wave.loop_time = loop.time() - started


def _without_frames(answer: Any) -> Any:
    """An exception, released from the frames of its traceback.

    What those frames hold (a future whose error nobody retrieved, say) is then collected
    while the check still listens to the loop, not later, on stderr, in some other cell.
    """
    if isinstance(answer, BaseException) and answer.__traceback__ is not None:
        traceback.clear_frames(answer.__traceback__)
        answer.__traceback__ = None
    return answer


def _run_waves(cache_class: type, waves: list[list[str]]) -> list[_Wave]:
    rounds = [_Wave(list(urls)) for urls in waves]
    check(_ask_in_waves, cache_class, rounds, name="PageCache.get")
    return rounds


def _page_or_error(url: str) -> str | type[LookupError]:
    return LookupError if "missing" in url else f"<html>{url}</html>"


def _check_answers(wave: _Wave, number: int) -> None:
    for url, answer in zip(wave.urls, wave.answers):
        expected = _page_or_error(url)
        if expected is LookupError:
            if not isinstance(answer, LookupError):
                _fail(errors.WrongResult,
                      f"PageCache.get({url!r}) gave {answer!r:.100} in ask round {number}, but fetching it raises "
                      "LookupError: every task that asked for it must get that error raised, as the fetch "
                      "raised it.")
        elif answer != expected:
            _fail(errors.WrongResult,
                  f"PageCache.get({url!r}) gave {answer!r:.100} in ask round {number}; expected {expected!r}.")


def _describe_fetches(fetched: Counter) -> str:
    return ", ".join(f"{url!r} {'once' if count == 1 else f'{count} times'}"
                     for url, count in fetched.items()) or "nothing"


def _check_fetches(rounds: list[_Wave]) -> None:
    """Each round fetches exactly the URLs not in the cache yet, once each (a failure is never cached)."""
    cached: set[str] = set()
    for number, wave in enumerate(rounds, 1):
        _check_answers(wave, number)
        should = Counter(set(wave.urls) - cached)
        if wave.fetched != should:
            failed_before = [url for url in should if "missing" in url and wave.fetched[url] == 0]
            if any(count > 1 for count in wave.fetched.values()):
                hint = ("Tasks that ask for a page already being fetched must wait for that fetch (an "
                        "asyncio.Event or a future per URL), and share its error if it fails, not start their own.")
            elif failed_before:
                hint = (f"The fetch of {failed_before[0]!r} failed before, so it must be tried again: do not "
                        "keep a failure in the cache.")
            else:
                hint = "A page fetched before must come from the cache, without a new fetch."
            _fail(errors.WrongResult,
                  f"PageCache.get fetched {_describe_fetches(wave.fetched)} in ask round {number}, where "
                  f"{len(wave.urls)} tasks asked for {wave.urls}; it should fetch "
                  f"{_describe_fetches(should)}. {hint}")
        cached |= {url for url in wave.urls if "missing" not in url}


@student_facing
def check_cache_fetches_each_page_once(cache_class: type, waves: list[list[str]]) -> None:
    """Each URL is fetched once however many tasks ask at once, all URLs side by side, later asks from memory."""
    rounds = _run_waves(cache_class, waves)
    _check_fetches(rounds)
    for number, wave in enumerate(rounds, 1):
        if wave.loop_time > (1.0 if wave.fetched else 0.0) + _EPSILON:
            _fail(errors.RanSequentially,
                  f"PageCache.get took {wave.loop_time:.1f} s of loop time in ask round {number} for "
                  f"{len(wave.fetched)} new pages of 1 s each: fetches of different URLs waited for each other. "
                  "Do not hold one lock around every fetch; let each URL have its own.")
    print(f"passed: PageCache.get fetched {sum(sum(w.fetched.values()) for w in rounds)} pages once each for "
          f"{sum(len(w.urls) for w in rounds)} asks")


@student_facing
def check_cache_shares_errors_and_retries(cache_class: type, waves: list[list[str]]) -> None:
    """A failed fetch raises in every task that waited for it, and is not cached: the next ask fetches again."""
    _check_fetches(_run_waves(cache_class, waves))
    print("passed: PageCache.get shared each failure with every waiter and tried again later")


# --- exercise 3: a supervisor ----------------------------------------------------------------

@dataclass
class _Job:
    """A job for the supervisor: waits `latency` loop seconds, then returns a value or raises."""

    name: str
    latency: float
    error: Exception | None = None
    started: bool = False
    cancelled: bool = False
    cleaned_up: bool = False

    @property
    def value(self) -> str:
        return f"{self.name} done"

    async def __call__(self) -> str:
        self.started = True
        try:
            await asyncio.sleep(self.latency)
            if self.error is not None:
                raise self.error
            return self.value
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.cleaned_up = True


def _jobs(spec: dict[str, tuple[float, str | None]]) -> dict[str, _Job]:
    kinds = {"ValueError": ValueError, "KeyError": KeyError, "OSError": OSError, "RuntimeError": RuntimeError}
    jobs = {}
    for name, (latency, failure) in spec.items():
        error = kinds[failure](f"{name} failed") if failure else None
        jobs[name] = _Job(name, latency, error)
    return jobs


def _expected_outcome(jobs: dict[str, _Job]) -> tuple[dict, dict, set, float]:
    failures = [job.latency for job in jobs.values() if job.error is not None]
    stop = min(failures) if failures else max((job.latency for job in jobs.values()), default=0.0)
    results = {n: j.value for n, j in jobs.items() if j.error is None and (not failures or j.latency < stop)}
    errors_ = {n: j.error for n, j in jobs.items() if j.error is not None and j.latency <= stop}
    cancelled = {n for n, j in jobs.items() if failures and j.latency > stop}
    return results, errors_, cancelled, stop


def _read_outcome(outcome: object) -> tuple[Any, Any, Any]:
    missing = [name for name in ("results", "errors", "cancelled") if not hasattr(outcome, name)]
    if missing:
        _fail(errors.WrongResult,
              f"supervise returned {outcome!r:.100}; it must return an Outcome(results=..., errors=..., "
              "cancelled=...).")
    return outcome.results, outcome.errors, outcome.cancelled  # type: ignore[attr-defined]


def _run_supervisor(supervise: Callable, spec: dict[str, tuple[float, str | None]]):
    """Run supervise on fresh jobs: (report, jobs, the loop time at which it should be done)."""
    jobs = _jobs(spec)
    report = check(supervise, dict(jobs))
    return report, jobs, _expected_outcome(jobs)[3]


def _check_outcome(report, jobs: dict[str, _Job]) -> None:
    results, errors_, cancelled, _stop = _expected_outcome(jobs)
    got_results, got_errors, got_cancelled = _read_outcome(report.result)
    if got_results != results:
        _fail(errors.WrongResult,
              f"supervise returned results={got_results!r:.200}; expected {results!r:.200}: the value of "
              "every job that finished, by name.")
    if not isinstance(got_errors, dict) or got_errors.keys() != errors_.keys() or any(
            got_errors[n] is not errors_[n] for n in errors_):
        _fail(errors.WrongResult,
              f"supervise returned errors={got_errors!r:.200}; expected {errors_!r:.200}: every job that "
              "failed, mapped to the very exception it raised (a TaskGroup raises an ExceptionGroup that "
              "holds them all; each failed task's `.exception()` is its error).")
    if set(got_cancelled) != cancelled or len(got_cancelled) != len(cancelled):
        _fail(errors.WrongResult,
              f"supervise returned cancelled={got_cancelled!r:.200}; expected {cancelled or set()!r:.200}: the "
              "names of the jobs that were still running when the first one failed, and so were cancelled.")


@student_facing
def check_supervise_returns_every_result(supervise: Callable, spec: dict[str, tuple[float, str | None]]) -> None:
    """With no failure, every job runs at once and every result comes back by name."""
    report, jobs, stop = _run_supervisor(supervise, spec)
    if report.loop_time > stop + _EPSILON:
        _fail(errors.RanSequentially,
              f"supervise took {report.loop_time:.2f} s of loop time, but its longest job takes {stop:g} s: "
              "the jobs ran one after another. Start them all in one TaskGroup, then let the group wait.")
    _check_outcome(report, jobs)
    print(f"passed: supervise ran {len(spec)} jobs side by side ({report.loop_time:g} s of loop time)")


@student_facing
def check_supervise_cancels_siblings(supervise: Callable, spec: dict[str, tuple[float, str | None]]) -> None:
    """The first failure cancels the jobs still running, at once; every error is reported, nothing raises."""
    report, jobs, stop = _run_supervisor(supervise, spec)
    if report.loop_time > stop + _EPSILON:
        _fail(errors.TookTooLong,
              f"supervise took {report.loop_time:.2f} s of loop time, but the first job failed after {stop:g} s: "
              "the other jobs were left to run instead of being cancelled. Run them in a TaskGroup, "
              "which cancels the rest as soon as one fails.")
    unfinished = [name for name, job in jobs.items() if job.cancelled and not job.cleaned_up]
    if unfinished:
        _fail(errors.TaskLeaked,
              f"supervise returned before the cancelled jobs {unfinished} had finished cleaning up: wait for "
              "cancelled tasks before returning (a TaskGroup does).")
    _check_outcome(report, jobs)
    cancelled = sum(1 for job in jobs.values() if job.cancelled)
    failed = sum(1 for job in jobs.values() if job.error is not None and job.latency <= stop)
    print(f"passed: supervise cancelled {cancelled} running job(s) at {stop:g} s and reported {failed} error(s)")


# --- exercise 4: a thread that feeds the loop ------------------------------------------------

class _Producer:
    """The blocking `produce(emit)` of the exercise: emits items from whatever thread runs it.

    Before each item it lets the loop run a few turns (through run_coroutine_threadsafe, which
    is thread-safe), so a consumer that is ready to wait for the next item is waiting when it
    comes. What goes wrong in the thread (an `emit` that raises) is kept as data.
    """

    def __init__(self, items: list[Any], error: Exception | None) -> None:
        self.items = items
        self.error = error
        self.loop: asyncio.AbstractEventLoop | None = None
        self.handled: list[tuple[Any, int]] = []  # (item, thread id) in the order handle saw them
        self.handled_before_return: int | None = None
        self.thread: threading.Thread | None = None
        self.in_executor = False
        self.on_loop_thread = False
        self.emit_error: BaseException | None = None
        self.returned = False

    def __call__(self, emit: Callable[[Any], object]) -> None:
        self.thread = threading.current_thread()
        self.in_executor = getattr(self.thread, "_target", None) is concurrent.futures.thread._worker
        self.on_loop_thread = self.loop is not None and self.thread.ident == getattr(self.loop, "_thread_id", None)
        try:
            for item in self.items:
                self._settle()
                try:
                    emit(item)
                except Exception as error:  # kept as data: a check reads it
                    self.emit_error = error
                    return
            self._settle()
            self.handled_before_return = len(self.handled)
            if self.error is not None:
                raise self.error
        finally:
            self.returned = True

    def _settle(self) -> None:
        """Let the loop take a few turns, unless this runs on the loop's own thread."""
        if self.on_loop_thread or self.loop is None:
            return
        turns = _turns()
        try:
            taken = asyncio.run_coroutine_threadsafe(turns, self.loop)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            turns.close()
            return
        waited = 0.0
        while waited < _SETTLE_TIMEOUT and not self.loop.is_closed():
            try:
                taken.result(_SETTLE_POLL)
                return
            except concurrent.futures.TimeoutError:
                waited += _SETTLE_POLL
            except concurrent.futures.CancelledError:
                return

    async def handle(self, item: Any) -> None:
        """The exercise's `handle(item)`: records which item, on which thread."""
        self.handled.append((item, threading.get_ident()))
        await asyncio.sleep(0)


async def _turns() -> None:
    for _ in range(_SETTLE_TURNS):
        await asyncio.sleep(0)


async def _consume_in_debug_mode(consume: Callable, producer: _Producer) -> Any:
    """Debug mode makes every loop call from a foreign thread raise instead of silently misbehaving."""
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = float("inf")  # debug mode's slow-step warnings are not this check's business
    producer.loop = loop
    # In a task of its own: an unsafe `emit` can strand the task that waits for its item (its
    # future is set, but it is never woken), and a stranded task never ends, even when cancelled.
    consuming = asyncio.ensure_future(consume(producer, producer.handle))
    ticking = asyncio.ensure_future(_tick())
    try:
        await asyncio.wait({consuming})
    except asyncio.CancelledError:
        consuming.cancel()
        raise
    finally:
        ticking.cancel()
        await asyncio.wait({ticking})
        loop.set_debug(False)
    return consuming.result()


async def _tick() -> None:
    while True:
        await asyncio.sleep(_TICK)


def _run_consumer(consume: Callable, items: list[Any], error: Exception | None):
    producer = _Producer(items, error)
    report = run(_consume_in_debug_mode, consume, producer, name="consume_from_thread")
    if producer.thread is not None and not producer.returned:
        producer.thread.join(_PRODUCER_JOIN)
    assert_not_tampered(report)
    if producer.on_loop_thread:
        _fail(errors.ExecutorNotUsed,
              "consume_from_thread called produce on the event loop's own thread, so the loop could do "
              "nothing else until it returned. Run it in a worker thread: "
              "`loop.run_in_executor(None, produce, emit)` or `asyncio.to_thread(produce, emit)`.")
    if producer.thread is not None and not producer.in_executor:
        _fail(errors.ExecutorNotUsed,
              "consume_from_thread ran produce in a thread it started itself. Run it with "
              "`loop.run_in_executor(None, produce, emit)` (or `asyncio.to_thread`): the future it gives "
              "you says when produce has returned, and carries its exception, without a blocking `join`.")
    if isinstance(producer.emit_error, RuntimeError) and "thread" in str(producer.emit_error).lower():
        _fail(NotThreadSafe,
              "emit, called in the producer's thread, touched the event loop directly (a queue's "
              "put_nowait, an Event's set or a future's set_result wake a waiting task through the loop, "
              "and the loop's methods are not thread-safe). Hand each item over with "
              "`loop.call_soon_threadsafe(...)`, which queues the call and wakes the loop.")
    if producer.emit_error is not None:
        _fail(errors.StudentCodeRaised,
              f"emit raised {type(producer.emit_error).__name__}: {producer.emit_error} in the producer's thread.")
    assert_finished(report)
    assert_no_blocking(report)
    assert_all_awaited(report)
    if error is None:
        assert_no_exception(report)
    if producer.thread is None:
        assert_no_exception(report)
        _fail(errors.WrongResult, "consume_from_thread never called produce.")
    assert_no_leaked_tasks(report)
    return report, producer


def _check_handled(producer: _Producer, report) -> None:
    items = [item for item, _ in producer.handled]
    if items != producer.items:
        _fail(errors.WrongResult,
              f"consume_from_thread handled {items!r:.200}, but produce emitted {producer.items!r:.200}: "
              "await handle(item) once for every item, in the order they were emitted.")
    off_loop = [item for item, thread in producer.handled if thread != report.loop_thread_id]
    if off_loop:
        _fail(NotThreadSafe,
              f"handle({off_loop[0]!r}) ran outside the event loop's thread: await it on the loop, in "
              "consume_from_thread, not from the producer's thread.")


@student_facing
def check_consume_from_thread(consume: Callable, items: list[Any]) -> None:
    """Every item emitted in the thread is handled on the loop, in order, while produce still runs."""
    report, producer = _run_consumer(consume, items, None)
    _check_handled(producer, report)
    if report.result != len(items):
        _fail(errors.WrongResult,
              f"consume_from_thread returned {report.result!r:.80}; expected {len(items)}, the number of items handled.")
    if len(items) >= 2 and not producer.handled_before_return:
        _fail(errors.WrongResult,
              "consume_from_thread handled no item while produce was still running: it waited for produce "
              "to finish first. Handle each item as it arrives (a queue that emit feeds, and a loop that "
              "awaits queue.get()).")
    if not producer.returned:
        _fail(errors.TaskLeaked,
              "consume_from_thread returned while produce was still running in its thread: await the "
              "executor's future before returning.")
    print(f"passed: consume_from_thread handled {len(items)} items from the thread, in order, on the loop")


@student_facing
def check_consume_from_thread_raises(consume: Callable, items: list[Any]) -> None:
    """When produce raises, the items emitted before are handled, then the same exception is raised."""
    error = OSError("the sensor went away")
    report, producer = _run_consumer(consume, items, error)
    _check_handled(producer, report)
    if report.exception is not error:
        _fail(errors.WrongResult,
              f"consume_from_thread raised {report.exception!r}, not the exception produce raised "
              f"({error!r}): await the executor's future, which raises it for you.")
    print(f"passed: consume_from_thread handled {len(items)} items, then raised produce's {type(error).__name__}")

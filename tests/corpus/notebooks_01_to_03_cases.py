"""Corpus cases for notebooks 01 to 03: mistakes that only varied inputs reveal (uneven
latencies, duplicates, empty input, n=0, errors as objects, errors raised in callbacks).

Each case runs the exercise's own named check, so the message is the one a student reads.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools

import course
from autograder.exercises import async_await, callbacks, event_loop_by_hand
from autograder_cases import case


def download_all_with_error_names(urls, on_all_done, latencies=None):
    results, remaining = [None] * len(urls), len(urls)

    def collect(index):
        def on_done(page, error):
            nonlocal remaining
            results[index] = page if error is None else type(error).__name__
            remaining -= 1
            if remaining == 0:
                on_all_done(results)
        return on_done

    for index, url in enumerate(urls):
        course.download_with_callback(url, collect(index), latency=latencies[index] if latencies else 1.0)


@case("WrongResult", "the LookupError object")
def callback_reports_errors_as_strings():
    callbacks.check_download_all(download_all_with_error_names, ["a", "missing", "c"])


def future_without_done_check(url, latency=1.0):
    future = asyncio.get_running_loop().create_future()
    course.download_with_callback(
        url, lambda page, error: future.set_exception(error) if error else future.set_result(page), latency=latency)
    return future


@case("StudentCodeRaised", "check future.done()")
def callback_completes_a_cancelled_future():
    callbacks.check_download_as_future_cancelled(future_without_done_check, "slow", 2.0, 1.0)


async def fetch_all_in_arrival_order(urls, latencies=None):
    tasks = [asyncio.create_task(course.download(u, latency=l)) for u, l in zip(urls, latencies or [1.0] * len(urls))]
    return [await next_done for next_done in asyncio.as_completed(tasks)]


@case("WrongResult", "not in the order they arrived")
def results_in_arrival_order_with_uneven_latencies():
    async_await.check_fetch_all(fetch_all_in_arrival_order, [("slow", 3), ("fast", 1), ("slow", 2)])


async def fetch_all_deduplicated(urls, latencies=None):
    pages = dict(zip(urls, await asyncio.gather(*(course.download(u) for u in dict.fromkeys(urls)))))
    return [pages[u] for u in urls]


@case("WrongResult", "downloaded twice")
def duplicate_urls_downloaded_once():
    async_await.check_fetch_all(fetch_all_deduplicated, ["same", "other", "same"])


async def report_with_cancelling_task_group(urls, latencies=None):
    tasks = {}
    try:
        async with asyncio.TaskGroup() as group:
            for url, latency in zip(urls, latencies or [1.0] * len(urls)):
                tasks[url] = group.create_task(course.download(url, latency=latency))
    except* LookupError:
        pass
    pages = {u: t.result() for u, t in tasks.items() if not t.cancelled() and t.exception() is None}
    failures = {u: t.exception() for u, t in tasks.items() if not t.cancelled() and t.exception()}
    return pages, failures


@case("WrongResult", "must not be cancelled")
def task_group_cancels_siblings_on_first_failure():
    async_await.check_download_report(report_with_cancelling_task_group,
                                      [("slow", 3), ("missing-fast", 1), ("medium", 2)])


async def fastest_pages_counting_late(requests, n):
    tasks = [asyncio.create_task(course.download(u, latency=l)) for u, l in requests]
    pages = []
    try:
        for next_done in asyncio.as_completed(tasks):
            pages.append(await next_done)
            if len(pages) >= n:
                break
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return pages


@case("WrongResult", "expected the first 0 pages")
def n_zero_still_takes_one_page():
    async_await.check_fastest_pages(fastest_pages_counting_late, ([("a", 5), ("b", 1)], 0))


class _HandFuture(event_loop_by_hand._Waitable):
    pass


class _HandTask(_HandFuture):
    def __init__(self, coro, loop, name=None):
        super().__init__(loop)
        self.coro, self.name = coro, name
        loop.call_soon(self._step, None, None)

    def _step(self, value, error):
        try:
            waiting_for = self.coro.throw(error) if error is not None else self.coro.send(value)
        except StopIteration as stop:
            self.set_result(stop.value)
        except Exception as exc:
            self.set_exception(exc)
        else:
            if waiting_for is None:
                self.loop.call_soon(self._step, None, None)
            else:
                waiting_for.add_done_callback(self._wakeup)

    def _wakeup(self, future):
        try:
            value = future.result()
        except Exception as exc:
            self._step(None, exc)
        else:
            self._step(value, None)


class _HandLoop:
    def __init__(self):
        self.ready, self.timers, self.now = [], [], 0.0
        self._sequence = itertools.count()

    def time(self):
        return self.now

    def call_soon(self, callback, *args):
        self.ready.append((callback, args))

    def call_later(self, delay, callback, *args):
        heapq.heappush(self.timers, (self.now + delay, next(self._sequence), callback, args))

    def run_once(self):
        if not self.ready and self.timers:
            self.now = max(self.now, self.timers[0][0])
        while self.timers and self.timers[0][0] <= self.now:
            _, _, callback, args = heapq.heappop(self.timers)
            self.ready.append((callback, args))
        batch, self.ready = self.ready, []
        for callback, args in batch:
            callback(*args)

    def run_until_complete(self, coro):
        task = _HandTask(coro, self)
        for _ in range(100_000):
            if task.done():
                return task.result()
            self.run_once()
        raise RuntimeError("never finished")


def gather_first_failure_in_time(loop, *coros):
    tasks = [_HandTask(coro, loop) for coro in coros]
    failures = []
    for task in tasks:
        task.add_done_callback(lambda done: failures.append(done._error) if done._error else None)
    for task in tasks:
        try:
            yield from task
        except Exception:
            pass
    if failures:
        raise failures[0]
    return [task.result() for task in tasks]


@case("WrongResult", "first to fail in time")
def hand_built_gather_raises_first_failure_in_time():
    event_loop_by_hand.check_gather_failure(
        gather_first_failure_in_time, _HandLoop,
        [("a", 2, KeyError("late")), ("b", 1, LookupError("early")), ("c", 3)])


def timeout_whose_timer_raises(url, timeout, on_done, latency=1.0):
    state = {}

    def on_page(page, error):
        if not state.get("over"):
            state["over"] = True
            on_done(page, error)

    def on_timeout():
        if not state.pop("over"):  # KeyError when the timer fires first
            on_done(None, TimeoutError(url))

    asyncio.get_running_loop().call_later(timeout, on_timeout)
    course.download_with_callback(url, on_page, latency=latency)


@case("StudentCodeRaised", "raised KeyError")
def error_raised_in_a_timer_callback():
    callbacks.check_download_with_timeout(timeout_whose_timer_raises, ("slow", 1, 3))

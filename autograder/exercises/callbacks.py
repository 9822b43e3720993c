"""Checks for notebook 01, callbacks: each runs a small scenario around the student's function
on the autograder's private loop (virtual clock) and says what went wrong in the student's terms.

A case of URLs is a list of URLs (each download takes the default 1 s) or, where latencies
matter, a list of `(url, latency)` pairs. A URL that contains "missing" fails with LookupError.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, Sequence, Union

from autograder import errors
from autograder.checks import assert_finished, assert_no_blocking, assert_no_exception, assert_not_tampered
from autograder.errors import student_facing
from autograder.report import Report
from autograder.runner import run

Urls = Sequence[Union[str, tuple[str, float]]]
#: Loop time a scenario waits after the last download could have finished, for late extra calls.
_GRACE = 5.0


def run_scenario(scenario: Callable[..., Any], *args: Any, name: str, callback_error: str | None = None) -> Report:
    """Run `scenario(*args)` on a private loop; fail if the student's code blocked, raised or
    left an error in a callback. `name` is the student's function, as messages call it;
    `callback_error`, the message for an error raised in a callback ({error} is replaced)."""
    report = run(scenario, *args, name=name)
    assert_not_tampered(report)
    assert_finished(report)
    assert_no_blocking(report)
    if report.callback_errors and callback_error:
        raise errors.StudentCodeRaised(callback_error.format(error=report.callback_errors[0]))
    assert_no_exception(report)
    if report.unretrieved:
        raise errors.StudentCodeRaised(
            f"{name}: an error was raised inside the event loop, where nobody can catch it:\n"
            f"  {report.unretrieved[0]}")
    return report


def page(url: str) -> str:
    """The page the course's simulated service returns for `url`."""
    return f"<html>{url}</html>"


def _split(case: Urls) -> tuple[list[str], list[float] | None]:
    """URLs and latencies of a case (None: the default latency, not passed)."""
    if all(isinstance(item, str) for item in case):
        return list(case), None  # type: ignore[arg-type]
    return [url for url, _ in case], [float(latency) for _, latency in case]  # type: ignore[misc]


def _when_each_ran(report: Report) -> str:
    return "When each download ran (loop time):\n" + report.timeline()


def _show(value: object) -> str:
    """A value for a message: exceptions with their type, everything else as repr."""
    return f"{type(value).__name__}({value})" if isinstance(value, BaseException) else repr(value)


# --- Exercise 1: download_in_order ---------------------------------------------------------

async def _in_order_scenario(download_in_order: Callable, urls: list[str]) -> tuple[int, list]:
    loop = asyncio.get_running_loop()
    calls: list[tuple[float, Any, Any]] = []
    download_in_order(urls, lambda pages, error: calls.append((loop.time(), pages and list(pages), error)))
    called_before_returning = len(calls)
    await asyncio.sleep(len(urls) + _GRACE)  # time for every download, and for any late extra call
    return called_before_returning, calls


def _on_done_calls(report: Report, name: str, callback: str, urls: list[str]) -> tuple[float, Any, Any]:
    """The one call of the student's callback argument, or a failure that says what went wrong."""
    called_before_returning, calls = report.result  # type: ignore[misc]
    if called_before_returning:
        raise errors.FinishedTooEarly(
            f"{name} called {callback} before it returned (for {urls}). Always call back later, never at "
            "once: with nothing to download, schedule the call with "
            "asyncio.get_running_loop().call_soon(...).")
    if not calls:
        raise errors.NeverFinished(
            f"{name} never called {callback} (for {urls}). Call it once, when the last download has "
            "finished (or, with no URLs, through call_soon).\n" + _when_each_ran(report))
    if len(calls) > 1:
        times = ", ".join(f"{when:g} s" for when, *_ in calls)
        raise errors.WrongResult(
            f"{name} called {callback} {len(calls)} times for {urls} (at {times} of loop time); call it "
            "exactly once. Keep the state that decides it (a count, a flag) in the call, and return "
            "after calling back.")
    return calls[0]


@student_facing
def check_download_in_order(download_in_order: Callable, *cases: list[str]) -> None:
    """download_in_order(urls, on_done) requests the URLs one at a time, in order, and calls
    on_done(pages, None) once, after the last page (len(urls) seconds of loop time)."""
    for urls in cases:
        report = run_scenario(_in_order_scenario, download_in_order, list(urls), name="download_in_order")
        when, pages, error = _on_done_calls(report, "download_in_order", "on_done", list(urls))
        expected = [page(url) for url in urls]
        if error is not None or pages != expected:
            raise errors.WrongResult(
                f"download_in_order called on_done({pages!r:.200}, {_show(error)}) for {list(urls)}; "
                f"expected on_done({expected!r:.200}, None): the pages in the order of urls.")
        requested = [call.key for call in report.calls]
        if report.peak_in_flight > 1:
            raise errors.TooManyInFlight(
                f"download_in_order had {report.peak_in_flight} downloads in flight at once; in a chain "
                "each download starts when the previous page has arrived: start the next one from the "
                "callback of the one before.\n" + _when_each_ran(report))
        if requested != list(urls):
            raise errors.WrongResult(
                f"download_in_order requested {requested} for {list(urls)}: request each URL once, in order.")
        if when != len(urls):
            kind = errors.FinishedTooEarly if when < len(urls) else errors.TookTooLong
            raise kind(
                f"download_in_order called on_done at {when:g} s of loop time; {len(urls)} downloads of 1 s "
                f"one after another end at {len(urls)} s.\n" + _when_each_ran(report))
    print(f"passed: download_in_order chains the downloads and calls on_done once ({len(cases)} cases)")


@student_facing
def check_download_in_order_failure(download_in_order: Callable, *cases: list[str]) -> None:
    """When a download fails, download_in_order requests nothing more and calls
    on_done(None, error) once, with that download's exception, when it fails."""
    for urls in cases:
        report = run_scenario(_in_order_scenario, download_in_order, list(urls), name="download_in_order")
        when, pages, error = _on_done_calls(report, "download_in_order", "on_done", list(urls))
        failing = next(i for i, url in enumerate(urls) if "missing" in url)
        if pages is not None or not isinstance(error, LookupError):
            raise errors.WrongResult(
                f"download_in_order called on_done({pages!r:.200}, {_show(error)}) for {list(urls)}; expected "
                f"on_done(None, error) with the LookupError object the download of {urls[failing]!r} "
                "passed to your callback (the exception itself, not a string or a new exception).")
        requested = [call.key for call in report.calls]
        if requested != list(urls[:failing + 1]):
            raise errors.WrongResult(
                f"download_in_order requested {requested} for {list(urls)}; after {urls[failing]!r} failed, "
                f"nothing more may be requested (expected {list(urls[:failing + 1])}): return right after "
                "calling on_done with the error.")
        if when != failing + 1:
            raise errors.TookTooLong(
                f"download_in_order reported the failure at {when:g} s of loop time; the failing download "
                f"ends at {failing + 1} s: call on_done from its callback.\n" + _when_each_ran(report))
    print(f"passed: download_in_order stops at the first failure and reports it once ({len(cases)} cases)")


# --- Exercise 2: download_all --------------------------------------------------------------

async def _all_scenario(download_all: Callable, urls: list[str], latencies: list[float] | None) -> tuple[int, list]:
    loop = asyncio.get_running_loop()
    calls: list[tuple[float, Any, Any]] = []
    on_all_done = lambda results: calls.append((loop.time(), list(results), None))  # noqa: E731
    if latencies is None:
        download_all(urls, on_all_done)
    else:
        download_all(urls, on_all_done, latencies)
    called_before_returning = len(calls)
    await asyncio.sleep(sum(latencies or [1.0] * len(urls)) + _GRACE)  # enough even one at a time
    return called_before_returning, calls


def _first_wrong_slot(results: Any, urls: list[str]) -> str | None:
    """Which slot of `results` is wrong, described for the student; None if all are right."""
    if not isinstance(results, list) or len(results) != len(urls):
        size = len(results) if isinstance(results, list) else "not a list"
        return f"results has {size} entries for {len(urls)} URLs (one per URL, duplicates included)"
    for index, (url, got) in enumerate(zip(urls, results)):
        if "missing" in url:
            if not isinstance(got, LookupError):
                return (f"results[{index}] (for {url!r}, whose download failed) is {_show(got)}; expected "
                        "the LookupError object the download passed to your callback, not a string or None")
        elif got != page(url):
            return (f"results[{index}] (for {url!r}) is {_show(got)}; expected {page(url)!r}. "
                    "results[i] belongs to urls[i], whatever the order of arrival: give each download "
                    "a callback that knows its index")
    return None


@student_facing
def check_download_all(download_all: Callable, *cases: Urls) -> None:
    """download_all(urls, on_all_done[, latencies]) starts every download at once and calls
    on_all_done(results) once, when the slowest has finished, results[i] for urls[i]."""
    for case in cases:
        urls, latencies = _split(case)
        report = run_scenario(_all_scenario, download_all, urls, latencies, name="download_all")
        when, results, _ = _on_done_calls(report, "download_all", "on_all_done", urls)
        wrong = _first_wrong_slot(results, urls)
        if wrong:
            raise errors.WrongResult(f"download_all gave on_all_done the wrong results for {urls}: {wrong}.")
        requested = sorted(call.key for call in report.calls)
        if requested != sorted(urls):
            raise errors.WrongResult(
                f"download_all requested {requested} for {urls}: download each URL once per time it "
                "appears (the same URL twice is downloaded twice).")
        if report.peak_in_flight < len(urls):
            raise errors.RanSequentially(
                f"download_all had at most {report.peak_in_flight} of the {len(urls)} downloads in flight "
                "at once: start every download before any page arrives.\n" + _when_each_ran(report))
        if latencies is not None:
            took = sorted((call.key, call.end - call.start) for call in report.calls if call.end is not None)
            if took != sorted(zip(urls, latencies)):
                raise errors.WrongResult(
                    f"download_all did not give each download its latency: for {list(zip(urls, latencies))} "
                    f"the downloads took {took}. Pass latency=latencies[i] with urls[i].")
        last = max(latencies or [1.0]) if urls else 0.0
        if when != last:
            kind = errors.FinishedTooEarly if when < last else errors.TookTooLong
            raise kind(
                f"download_all called on_all_done at {when:g} s of loop time; expected {last:g} s, when the "
                "slowest download finishes.\n" + _when_each_ran(report))
    print(f"passed: download_all starts everything at once and calls back once, in URL order ({len(cases)} cases)")


# --- Exercise 3: download_with_timeout -----------------------------------------------------

Request = tuple[str, float, float]  # (url, timeout, latency)


async def _timeout_scenario(download_with_timeout: Callable, requests: list[Request]) -> tuple[int, list]:
    loop = asyncio.get_running_loop()
    calls: list[list[tuple[float, Any, Any]]] = [[] for _ in requests]

    def on_done_for(index: int) -> Callable[[Any, Any], None]:
        return lambda page_, error: calls[index].append((loop.time(), page_, error))

    for index, (url, timeout, latency) in enumerate(requests):
        download_with_timeout(url, timeout, on_done_for(index), latency=latency)
    called_before_returning = sum(len(c) for c in calls)
    await asyncio.sleep(max(latency for _, _, latency in requests) + _GRACE)
    return called_before_returning, calls


def _expected_timeout_outcome(url: str, timeout: float, latency: float) -> tuple[float, str]:
    if timeout < latency:
        return timeout, "TimeoutError"
    return latency, "LookupError" if "missing" in url else page(url)


def _timeout_outcome(page_: Any, error: Any) -> str:
    """What on_done got, as the expected outcome names it (exceptions only as real objects)."""
    if error is None:
        return page_ if isinstance(page_, str) else repr(page_)
    if isinstance(error, BaseException) and page_ is None:
        return type(error).__name__
    return f"({page_!r}, {error!r})"


def _check_timeout_requests(download_with_timeout: Callable, requests: list[Request], together: bool) -> None:
    report = run_scenario(_timeout_scenario, download_with_timeout, requests, name="download_with_timeout")
    called_before_returning, calls = report.result  # type: ignore[misc]
    if called_before_returning:
        raise errors.FinishedTooEarly(
            "download_with_timeout called on_done before it returned: let the download's callback or the "
            "timer call it, later.")
    if sorted(call.key for call in report.calls) != sorted(url for url, _, _ in requests):
        raise errors.WrongResult(
            f"download_with_timeout requested {sorted(call.key for call in report.calls)} for "
            f"{[url for url, _, _ in requests]}: start exactly one download per call, with "
            "course.download_with_callback(url, ..., latency=latency).")
    for (url, timeout, latency), got in zip(requests, calls):
        when, outcome = _expected_timeout_outcome(url, timeout, latency)
        case = f"download_with_timeout({url!r}, timeout={timeout:g}, latency={latency:g})"
        if together:
            case += f", one of {len(requests)} calls made at once,"
        if not got:
            raise errors.NeverFinished(f"{case} never called on_done; expected it at {when:g} s with {outcome}.")
        if len(got) > 1:
            times = ", ".join(f"{t:g} s" for t, _, _ in got)
            fix = ("keep the state of each call inside the call (a variable of download_with_timeout, "
                   "not a global), " if together else "")
            raise errors.WrongResult(
                f"{case} called on_done {len(got)} times (at {times} of loop time); call it exactly once: "
                f"{fix}whichever of the download and the timer comes second must do nothing (keep a flag, "
                "and cancel the timer when the download wins).")
        at, page_, error = got[0]
        seen = _timeout_outcome(page_, error)
        if seen != outcome or at != when:
            how = ("on_done(None, TimeoutError(...)): pass an exception object, not a string"
                   if outcome == "TimeoutError" else f"{outcome}")
            raise errors.WrongResult(
                f"{case} called on_done at {at:g} s with {seen}; expected it at {when:g} s with {how}.")


@student_facing
def check_download_with_timeout(download_with_timeout: Callable, *requests: Request) -> None:
    """download_with_timeout calls on_done exactly once: the page or the download's error when the
    download finishes first, TimeoutError when the timer fires first; each request on its own,
    then all of them at once (calls are independent)."""
    for request in requests:
        _check_timeout_requests(download_with_timeout, [request], together=False)
    if len(requests) > 1:
        _check_timeout_requests(download_with_timeout, list(requests), together=True)
    print(f"passed: download_with_timeout calls on_done once, whoever wins ({len(requests)} requests)")


# --- Exercise 4: download_as_future --------------------------------------------------------

async def _first_look(download_as_future: Callable) -> str:
    future = download_as_future("a")
    if asyncio.iscoroutine(future):
        future.close()
        return "a coroutine (it is an async def: make it a plain def that returns a future)"
    if not isinstance(future, asyncio.Future):
        return f"{type(future).__name__} {future!r:.60}"
    state = "a done future" if future.done() else "a pending future"
    await future
    return state


async def _futures_together(download_as_future: Callable, requests: list[tuple[str, float]]) -> list:
    return await asyncio.gather(*(download_as_future(url, latency=latency) for url, latency in requests),
                                return_exceptions=True)


@student_facing
def check_download_as_future(download_as_future: Callable, requests: list[tuple[str, float]]) -> None:
    """download_as_future(url, latency) returns a pending future at once; each future resolves
    to its page (or raises the download's error) after its own latency; all overlap."""
    look = run_scenario(_first_look, download_as_future, name="download_as_future")
    if look.result != "a pending future":
        raise errors.WrongResult(
            f"download_as_future returned {look.result}; it must return, at once, a pending future "
            "made with asyncio.get_running_loop().create_future(), and complete it later from the callback.")
    report = run_scenario(_futures_together, download_as_future, list(requests), name="download_as_future")
    for (url, _), got in zip(requests, report.result):  # type: ignore[arg-type]
        right = isinstance(got, LookupError) if "missing" in url else got == page(url)
        if not right:
            expected = "the download's LookupError" if "missing" in url else repr(page(url))
            fix = ("set the download's error on the future with future.set_exception(error)"
                   if "missing" in url else "set the page with future.set_result(page)")
            raise errors.WrongResult(
                f"download_as_future({url!r}) gave {_show(got)} when awaited; expected {expected}: {fix}.")
    longest = max(latency for _, latency in requests)
    if report.peak_in_flight < len(requests) or report.loop_time != longest:
        raise errors.RanSequentially(
            f"download_as_future: {len(requests)} futures awaited together took {report.loop_time:g} s of loop "
            f"time; expected {longest:g} s, the longest latency. Start the download before returning the "
            "future, and pass latency on.\n" + _when_each_ran(report))
    print(f"passed: download_as_future returns a pending future that resolves after its latency ({len(requests)} at once)")


async def _give_up_early(download_as_future: Callable, url: str, latency: float, timeout: float) -> str:
    try:
        await asyncio.wait_for(download_as_future(url, latency=latency), timeout)
    except TimeoutError:
        outcome = "timed out"
    else:
        outcome = "finished"
    await asyncio.sleep(latency + 1)  # the page (or error) arrives meanwhile
    return outcome


@student_facing
def check_download_as_future_cancelled(download_as_future: Callable, url: str, latency: float, timeout: float) -> None:
    """When the caller gives up on the future (a timeout cancels it), the page or error that
    arrives later is ignored, with no error raised in the event loop."""
    report = run_scenario(
        _give_up_early, download_as_future, url, latency, timeout, name="download_as_future",
        callback_error=f"download_as_future: after the caller gave up on the future (a {timeout:g} s timeout "
                       f"cancelled it), the download's callback raised {{error}} at {latency:g} s. A cancelled "
                       "future is done: check future.done() in the callback and leave a done future alone.")
    expected = "timed out" if timeout < latency else "finished"
    if report.result != expected:
        raise errors.WrongResult(
            f"download_as_future({url!r}, latency={latency:g}) awaited with a {timeout:g} s timeout "
            f"{report.result}; expected it to have {expected}.")
    print("passed: download_as_future leaves a future the caller gave up on alone")

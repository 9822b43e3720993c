"""Checks for 04 Timeouts, cancellation and limits.

Each `check_*` runs the student's function on the autograder's private loop (virtual clock:
every `course.download` takes exactly 1 s of loop time) and works out the expected result,
loop time and concurrency from its inputs, so hidden tests differ from visible ones only in
the inputs they pass.
"""
from __future__ import annotations

import heapq
from typing import Any, Callable

import course.database
from autograder import (
    assert_all_awaited,
    assert_finishes_within,
    assert_finished,
    assert_no_blocking,
    assert_no_leaked_resources,
    assert_no_leaked_tasks,
    assert_not_tampered,
    check,
    run,
)
from autograder.errors import (
    CancelledErrorSwallowed,
    NotConcurrent,
    StudentCodeRaised,
    TaskLeaked,
    WrongResult,
    student_facing,
)
from autograder.report import Report

#: The latency of `course.download(url)` with its default argument, in loop seconds.
DOWNLOAD = 1.0
#: Loop times are sums of floats; bounds allow this rounding and nothing more.
SLACK = 1e-9


def _page(url: str) -> str:
    return f"<html>{url}</html>"


def _passed(text: str) -> None:
    print(f"passed: {text}")


def _downloads(report: Report) -> list:
    return [call for call in report.calls if call.name == "download"]


# --- Exercise 1 -----------------------------------------------------------------------------

@student_facing
def check_download_or_default(download_or_default: Callable, cases: list[tuple[str, float, Any]]) -> None:
    """For each (url, timeout, default): the page when it arrives in time, `default` at exactly
    `timeout`, other errors unchanged, and no download left running."""
    for url, timeout, default in cases:
        _check_one_fallback(download_or_default, url, timeout, default)


def _check_one_fallback(download_or_default: Callable, url: str, timeout: float, default: Any) -> None:
    name = "download_or_default"
    in_time = timeout >= DOWNLOAD
    if not in_time:
        report = check(download_or_default, url, timeout, default, expected=default,
                       within=timeout + SLACK, not_before=timeout, name=name)
    elif "missing" in url:
        try:
            report = check(download_or_default, url, timeout, default, raises=LookupError,
                           within=DOWNLOAD + SLACK, name=name)
        except WrongResult as failure:
            if "should raise LookupError, but it returned" not in str(failure):
                raise
            raise WrongResult(
                f"{name}({url!r}, {timeout}, ...) should raise LookupError (the page is missing) but returned a "
                "value: catch only the timeout (TimeoutError) and let every other error reach the caller.") from None
    else:
        report = check(download_or_default, url, timeout, default, expected=_page(url),
                       within=DOWNLOAD + SLACK, not_before=DOWNLOAD, name=name)
    downloads = _downloads(report)
    if len(downloads) != 1:
        raise WrongResult(f"{name}({url!r}, {timeout}, ...) called course.download {len(downloads)} times; "
                          "download the page once, with `await course.download(url)`.")
    running = [c for c in downloads if c.end is None or c.end - c.start > report.loop_time + SLACK]
    if running:
        raise TaskLeaked(f"{name}({url!r}, {timeout}, ...) returned while its download was still running. "
                         "A time limit must cancel the work it gives up on: `async with asyncio.timeout(timeout):` "
                         "(or `asyncio.wait_for`) does it for you.")
    outcome = "LookupError" if in_time and "missing" in url else repr(default) if not in_time else "the page"
    _passed(f"{name}({url!r}, timeout={timeout}) gives {outcome} after {report.loop_time:g} s of loop time")


# --- Exercise 2 -----------------------------------------------------------------------------

@student_facing
def check_download_limited(download_limited: Callable, urls: list[str], limit: int, deadline: float) -> None:
    """Every page that can arrive by `deadline` with `limit` downloads at a time, `None` for the
    others, in the order of `urls`; `limit` in flight whenever there is work for them; the
    downloads still running at the deadline stopped; no task left behind."""
    name = "download_limited"
    rounds = -(-len(urls) // limit) if urls else 0
    finish = min(deadline, rounds * DOWNLOAD)
    arrived = min(len(urls), int((deadline + SLACK) // DOWNLOAD) * limit)
    busy = min(limit, len(urls)) if urls else None
    report = check(download_limited, urls, limit, deadline, max_in_flight=limit, min_in_flight=busy, name=name)
    assert_finishes_within(report, finish, not_before=finish)
    result = report.result
    if not isinstance(result, list) or len(result) != len(urls):
        raise WrongResult(f"{name} returned {result!r:.200}; expected a list with one entry per URL "
                          f"({len(urls)} entries), a page or None.")
    misplaced = [(url, page) for url, page in zip(urls, result) if page not in (None, _page(url))]
    if misplaced:
        url, page = misplaced[0]
        raise WrongResult(f"{name} put {page!r:.80} in the entry for {url!r}: keep the pages in the order of "
                          "urls (write each page into its own index, or let asyncio.gather keep the order).")
    got = sum(page is not None for page in result)
    if got != arrived:
        raise WrongResult(
            f"{name} returned {got} pages for a deadline of {deadline} s; with {limit} downloads at a time and "
            f"1 s each, exactly {arrived} arrive in time. Return every page that arrived, and `None` for the others.")
    late = [c for c in _downloads(report) if c.end is None or c.end > c.start + report.loop_time + SLACK]
    if late:
        raise TaskLeaked(f"{name} returned at the deadline while {len(late)} download(s) were still running: "
                         "cancel them (leaving an `async with asyncio.timeout(deadline):` block around a TaskGroup "
                         "does it).")
    _passed(f"{name}: {got} of {len(urls)} pages by the {deadline} s deadline, {limit} at a time, "
            f"in {report.loop_time:g} s of loop time")


# --- Exercise 3 -----------------------------------------------------------------------------

@student_facing
def check_archive(archive: Callable, urls: list[str]) -> None:
    """All pages downloaded at once and stored over one connection with `conn.insert`, the
    connection closed: 0.1 s to connect + 1 s + 0.1 s to insert + 0.1 s to close."""
    name = "archive"
    db = course.database.Database()
    seconds = db.latency * 3 + DOWNLOAD if urls else db.latency * 2
    report = check(archive, urls, db, expected=len(urls), within=seconds + SLACK,
                   min_in_flight=len(urls) or None, name=name)
    inserts = [c for c in report.calls if c.name == "db.insert"]
    if len(inserts) != len(urls):
        raise WrongResult(f"{name} made {len(inserts)} inserts through the database client for {len(urls)} pages. "
                          "Store each page with `await conn.insert(url, page)` (not by writing to db.rows).")
    if db.rows != {u: _page(u) for u in urls}:
        raise WrongResult(f"{name} left db.rows holding {sorted(db.rows)!r:.200}; store every page under its URL.")
    if db.connections_opened != 1:
        raise WrongResult(f"{name} opened {db.connections_opened} connections; open one with "
                          "`conn = await db.connect()` and use it for every insert.")
    if db.open_connections:
        raise WrongResult(f"{name} left its connection open: `await conn.close()` in a `finally:` block.")
    _passed(f"{name} stores {len(urls)} pages over one connection in {report.loop_time:.1f} s of loop time")


def _phase(cancel_after: float, latency: float, urls: list[str]) -> str:
    if cancel_after < latency:
        return "while connecting"
    if cancel_after < latency + DOWNLOAD or not urls:
        return "while downloading"
    return "while inserting"


@student_facing
def check_archive_cancelled(archive: Callable, urls: list[str], cancel_times: list[float]) -> None:
    """Cancelled at each of `cancel_times` (while connecting, downloading or inserting), archive
    lets CancelledError through, has closed its connection, stored nothing, left no task running."""
    for cancel_after in cancel_times:
        _check_one_cancellation(archive, urls, cancel_after)


def _check_one_cancellation(archive: Callable, urls: list[str], cancel_after: float) -> None:
    name = "archive"
    db = course.database.Database()
    phase = _phase(cancel_after, db.latency, urls)
    report = run(archive, urls, db, cancel_after=cancel_after, name=name)
    assert_not_tampered(report)
    assert_finished(report)
    _diagnose_cancellation(report, cancel_after, phase)
    assert_no_blocking(report)
    assert_all_awaited(report)
    assert_no_leaked_tasks(report)
    assert_no_leaked_resources(report)
    if db.open_connections:
        raise WrongResult(
            f"{name}, cancelled at {cancel_after} s of loop time ({phase}), left its connection open. Close it in "
            "the `finally:` block of a `try:` that starts right after `conn = await db.connect()`: the `finally:` "
            "runs when the CancelledError passes through.")
    if db.rows:
        raise WrongResult(f"{name}, cancelled at {cancel_after} s ({phase}), stored {sorted(db.rows)!r:.120}, "
                          "though no insert had finished by then.")
    _passed(f"{name} cancelled at {cancel_after} s ({phase}) lets CancelledError through and closes its connection")


def _diagnose_cancellation(report: Report, cancel_after: float, phase: str) -> None:
    """The most specific diagnosis of a cancelled run first: an error raised on the way out."""
    fn = report.function
    error = report.exception
    if error is not None and not report.was_cancelled:
        hint = ""
        if isinstance(error, UnboundLocalError):
            hint = ("\nA variable was read before anything was assigned to it: the cancellation arrived before "
                    "the line that sets it ran. If it is the connection, call `conn = await db.connect()` "
                    "before the `try:` whose `finally:` closes it: a connection that was never opened has "
                    "nothing to close.")
        raise StudentCodeRaised(
            f"{fn}, cancelled at {cancel_after} s of loop time ({phase}), raised {type(error).__name__} instead "
            f"of letting CancelledError through:\n{report.student_traceback()}{hint}")
    if not report.was_cancelled:
        raise CancelledErrorSwallowed(
            f"{fn} was cancelled at {cancel_after} s of loop time ({phase}) but returned normally "
            f"({report.result!r:.80}): it caught CancelledError and carried on. Clean up in a `finally:` block, "
            "or end your `except asyncio.CancelledError:` block with a bare `raise`.")


# --- Exercise 4 -----------------------------------------------------------------------------

def crawl_schedule(start: str, links: dict[str, list[str]], workers: int) -> tuple[dict[str, str], float]:
    """The pages a correct crawl returns and its loop time: `workers` downloads of 1 s at a
    time, each reachable URL once, the links of a page queued when its download ends."""
    seen = {start}
    queue = [start]
    running: list[tuple[float, int, str]] = []
    now, order, pages = 0.0, 0, {}
    while queue or running:
        while queue and len(running) < workers:
            heapq.heappush(running, (now + DOWNLOAD, order, queue.pop(0)))
            order += 1
        now, _, url = heapq.heappop(running)
        if "missing" in url:
            continue
        pages[url] = _page(url)
        for link in links.get(url, []):
            if link not in seen:
                seen.add(link)
                queue.append(link)
    return pages, now


@student_facing
def check_crawl(crawl: Callable, start: str, links: dict[str, list[str]], workers: int) -> None:
    """Every page reachable from `start`, each URL downloaded once, missing pages skipped,
    `workers` downloads in flight whenever there is work for them, every worker stopped."""
    name = "crawl"
    pages, seconds = crawl_schedule(start, links, workers)
    reachable = len(pages) + sum("missing" in u for u in _reachable(start, links))
    report = check(crawl, start, links, workers, max_in_flight=workers, name=name)
    result = report.result
    if not isinstance(result, dict):
        raise WrongResult(f"{name} returned {result!r:.100}; return a dict {{url: page}}.")
    absent = [url for url in pages if url not in result]
    if absent:
        raise WrongResult(
            f"{name} returned {len(pages) - len(absent)} of the {len(pages)} pages reachable from {start!r}; "
            f"missing: {', '.join(map(repr, absent[:6]))}{' and more' if len(absent) > 6 else ''}. It stopped before "
            "every link was followed. `await queue.join()` returns once `task_done()` has been called for every "
            "URL put in the queue: call it for a URL only after its links are queued, and keep the workers "
            "looping on `await queue.get()` until then (the queue may be empty while a page is still downloading).")
    extra = {url: page for url, page in result.items() if pages.get(url) != page}
    if extra:
        url, page = next(iter(extra.items()))
        raise WrongResult(f"{name} returned {page!r:.80} for {url!r}; expected only the pages reachable from "
                          f"{start!r}, each as downloaded (a missing page raises LookupError: skip it).")
    counts: dict[str, int] = {}
    for call in _downloads(report):
        counts[call.key] = counts.get(call.key, 0) + 1
    twice = sorted(url for url, n in counts.items() if n > 1)
    if twice:
        raise WrongResult(
            f"{name} downloaded {twice[0]!r} {counts[twice[0]]} times ({len(twice)} URL(s) more than once). Several "
            "pages link to the same URL: note a URL as seen when you put it in the queue, not when its download "
            "ends, and queue only URLs not seen before.")
    needed = min(workers, reachable)
    if report.peak_in_flight < needed:
        raise NotConcurrent(
            f"{name} never had more than {report.peak_in_flight} download(s) in flight with {workers} workers. "
            f"Start {workers} worker tasks that each loop on `await queue.get()`; a worker that quits when the "
            "queue is empty leaves the work to the others, though another page may still bring links.\n"
            f"When each call ran:\n{report.timeline()}")
    assert_finishes_within(report, seconds, not_before=seconds)
    _passed(f"{name} from {start!r}: {len(pages)} pages, {reachable} downloads, {workers} workers, "
            f"{report.loop_time:g} s of loop time")


def _reachable(start: str, links: dict[str, list[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        url = todo.pop()
        if "missing" in url:
            continue
        for link in links.get(url, []):
            if link not in seen:
                seen.add(link)
                todo.append(link)
    return seen

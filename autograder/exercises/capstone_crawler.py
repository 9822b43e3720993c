"""Checks for 09 Capstone: a crawler.

Each check serves a site from `course.site` on the autograder's private loop, next to the
student's code, so every wait is simulated latency on the virtual clock: loop times are exact,
and the server itself counts the requests, their timing and how many were in flight. Parsing
in a process pool is real work, so the checks that involve it bound no loop time.
"""
from __future__ import annotations

import asyncio
import urllib.parse
import multiprocessing
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from autograder import errors
from autograder.checks import (
    assert_all_awaited,
    assert_cancelled_cleanly,
    assert_finished,
    assert_no_blocking,
    assert_no_exception,
    assert_no_leaked_resources,
    assert_no_leaked_tasks,
    assert_not_tampered,
)
from autograder.errors import student_facing
from autograder.executors import CallProbe, assert_ran_in_processes
from autograder.report import Report
from autograder.runner import run
from course.site import (
    STALL_FACTOR,
    Crawl,
    Page,
    RequestRecord,
    RunningSite,
    SiteMap,
    expected_crawl,
    find_links,
    generate_site,
    render,
    serve_site,
)

#: Loop times are sums of floats; bounds allow their rounding and nothing more.
_SLACK = 1e-6


def _fail(kind: type[errors.CheckFailed], message: str) -> None:
    raise kind(message) from None


@dataclass
class _Served:
    """What the server of one run saw, kept after the run ends."""

    site: RunningSite | None = None
    open_connections: int = 0
    in_flight: int = 0

    @property
    def requests(self) -> list[RequestRecord]:
        return self.site.requests if self.site else []


def _run_on_site(name: str, site_map: SiteMap, call: Callable[[RunningSite], Awaitable[Any]],
                 **run_options: Any) -> tuple[Report, _Served]:
    """Serve `site_map` on the private loop and await `call(site)` there."""
    served = _Served()

    async def on_site() -> Any:
        async with serve_site(site_map) as site:
            served.site = site
            try:
                return await call(site)
            finally:
                await site.settle()
                served.open_connections, served.in_flight = site.open_connections, site.in_flight

    return run(on_site, name=name, **run_options), served


def _assert_ran(report: Report) -> None:
    """The gates every run passes before its behaviour is judged."""
    assert_not_tampered(report)
    assert_finished(report)
    assert_no_blocking(report)
    assert_all_awaited(report)


# --------------------------------------------------------------------------- exercise 1


@dataclass
class _Fetched:
    """What one call of the student's fetch_page returned, or raised."""

    result: object = None
    error: BaseException | None = None


def _fetch_each(fetch_page: Callable, pages: list[Page], paths: list[str], must_work: set[str], *,
                timeout: float, retries: int, backoff: float) -> tuple[Report, _Served, dict[str, _Fetched]]:
    """One run: serve `pages`, call fetch_page for each path in turn with one session.

    An exception from a path in `must_work` ends the run (the report shows it with the student's
    traceback); the others are kept, to be compared with what fetch_page should raise.
    """
    outcomes: dict[str, _Fetched] = {}

    async def call(site: RunningSite) -> None:
        async with aiohttp.ClientSession() as session:
            for path in paths:
                outcome = outcomes[path] = _Fetched()
                try:
                    outcome.result = await fetch_page(session, site.url + path, timeout=timeout, retries=retries,
                                                      backoff=backoff)
                except Exception as error:
                    if path in must_work:
                        raise
                    outcome.error = error

    report, served = _run_on_site("fetch_page", {page.path: page for page in pages}, call)
    _assert_ran(report)
    return report, served, outcomes


def _assert_no_leftovers(report: Report) -> None:
    assert_no_exception(report)
    assert_no_leaked_tasks(report)
    assert_no_leaked_resources(report)


def _attempts_text(records: list[RequestRecord]) -> str:
    rows = [f"  attempt {n}: {r.start:6.2f} s -> {r.end:6.2f} s, "
            f"{'answered ' + str(r.status) if r.status else 'client gave up'}"
            for n, r in enumerate(records, start=1)]
    return "What the server saw:\n" + "\n".join(rows) if rows else "The server saw no request."


def _assert_attempts(served: _Served, path: str, expected: int, why: str) -> None:
    records = served.site.requests_for(path) if served.site else []
    if len(records) != expected:
        _fail(errors.WrongResult, f"fetch_page made {len(records)} request(s) for {path}; expected {expected}: {why}\n"
                    f"{_attempts_text(records)}")


def _assert_back_off(served: _Served, path: str, backoff: float) -> None:
    records = served.site.requests_for(path) if served.site else []
    for k, (before, after) in enumerate(zip(records, records[1:])):
        gap = after.start - before.end
        wanted = backoff * 2 ** k
        if abs(gap - wanted) > _SLACK:
            _fail(errors.WrongResult,
                  f"fetch_page waited {gap:.2f} s before retry {k + 1} of {path}; the back-off asks for "
                  f"backoff * 2 ** {k} = {wanted:g} s (with backoff={backoff:g}): sleep with "
                  "`await asyncio.sleep(...)` between a failed attempt and the next, doubling each time.\n"
                  f"{_attempts_text(records)}")


def _assert_raised(outcome: _Fetched, status: int | None, what: str) -> None:
    error = outcome.error
    if status is None:
        ok = isinstance(error, TimeoutError)
        wanted = "TimeoutError"
    else:
        ok = isinstance(error, aiohttp.ClientResponseError) and error.status == status
        wanted = f"aiohttp.ClientResponseError with status {status}"
    if not ok:
        got = f"raised {type(error).__name__}: {error}" if error else f"returned {outcome.result!r:.80}"
        _fail(errors.WrongResult,
              f"fetch_page {got} for {what}; it should raise {wanted} once it gives up "
              "(`response.raise_for_status()` raises it for an error status; let a timeout's TimeoutError through).")


@student_facing
def check_fetch_page_retries(fetch_page: Callable, *, retries: int = 2, backoff: float = 0.5,
                             latency: float = 1.0) -> None:
    """fetch_page returns a page's text, retries 5xx answers with exponential back-off, never 4xx."""
    ok = Page("/ok", links=("/other",), latency=latency)
    flaky = Page("/flaky", latency=latency, fail_first=retries, kind="flaky")
    broken = Page("/broken", latency=latency, status=500, kind="broken")
    report, served, outcomes = _fetch_each(fetch_page, [ok, flaky, broken], ["/ok", "/flaky", "/broken", "/missing"],
                                           {"/ok", "/flaky"}, timeout=latency * 5, retries=retries, backoff=backoff)
    _assert_attempts(served, "/ok", 1, "a page that answers 200 needs one request.")
    if "/flaky" in outcomes:
        _assert_attempts(served, "/flaky", retries + 1,
                         f"the page answers 503 {retries} time(s), then 200, and retries={retries} allows "
                         f"{retries} more attempt(s) after the first.")
    _assert_no_leftovers(report)
    if outcomes["/ok"].result != render(ok, served.site.url):
        _fail(errors.WrongResult, f"fetch_page returned {outcomes['/ok'].result!r:.120} for a page that answered 200 "
                                  "at once; return its text: `await response.text()`.")
    _assert_back_off(served, "/flaky", backoff)
    if outcomes["/flaky"].result != render(flaky, served.site.url):
        _fail(errors.WrongResult, f"fetch_page returned {outcomes['/flaky'].result!r:.120} after the retries; return "
                                  "the text of the attempt that succeeded.")
    _assert_attempts(served, "/broken", retries + 1,
                     f"a page that always answers 500 is tried once, then retried {retries} time(s).")
    _assert_back_off(served, "/broken", backoff)
    _assert_raised(outcomes["/broken"], 500, "a page that always answers 500")
    _assert_attempts(served, "/missing", 1,
                     "a 404 (or any 4xx) is the client's mistake, and asking again gives the same answer: "
                     "raise at once, retry only 5xx answers, timeouts and connection errors.")
    _assert_raised(outcomes["/missing"], 404, "a page that does not exist")
    backoffs = sum(backoff * 2 ** k for k in range(retries))
    print(f"passed: fetch_page retries 5xx answers {retries} times with {backoff:g} s back-off "
          f"({retries * latency + latency + backoffs:g} s of loop time for a page that fails {retries} times), "
          "and never retries a 404")


@student_facing
def check_fetch_page_timeouts(fetch_page: Callable, *, timeout: float = 2.0, retries: int = 2,
                              backoff: float = 0.5, latency: float = 1.0) -> None:
    """Each attempt of fetch_page gives up after `timeout` s and is retried; the last TimeoutError is raised."""
    stalled = Page("/stalled", latency=latency, stall_first=retries, kind="stalled")
    hanging = Page("/hanging", latency=latency, stall_first=retries + 1, kind="stalled")
    report, served, outcomes = _fetch_each(fetch_page, [stalled, hanging], ["/stalled", "/hanging"], {"/stalled"},
                                           timeout=timeout, retries=retries, backoff=backoff)
    records = served.site.requests_for("/stalled") if served.site else []
    late = [r for r in records if r.end is not None and r.end - r.start > timeout + _SLACK]
    if late:
        _fail(errors.TookTooLong,
              f"fetch_page waited {late[0].end - late[0].start:.1f} s for one attempt at a page that stalls; "
              f"each attempt must give up after timeout={timeout:g} s: wrap the whole attempt (the request and "
              "reading the body) in `async with asyncio.timeout(timeout):`, inside the retry loop.\n"
              f"{_attempts_text(records)}")
    _assert_attempts(served, "/stalled", retries + 1,
                     f"the page stalls {latency * STALL_FACTOR:g} s on its first {retries} request(s), then answers "
                     f"within {latency:g} s: each timed-out attempt is retried, {retries} time(s) at most.")
    _assert_no_leftovers(report)
    short = [r for r in records[:-1] if r.end is None or abs(r.end - r.start - timeout) > _SLACK]
    if short:
        _fail(errors.WrongResult,
              f"fetch_page gave up an attempt after {short[0].end - short[0].start:.2f} s; the timeout is "
              f"{timeout:g} s for each attempt: start a fresh `asyncio.timeout(timeout)` for every attempt.\n"
              f"{_attempts_text(records)}")
    _assert_attempts(served, "/hanging", retries + 1,
                     f"every attempt times out, so fetch_page tries {retries + 1} times in all, then gives up.")
    _assert_raised(outcomes["/hanging"], None, f"a page that stalls on every attempt (retries={retries})")
    print(f"passed: fetch_page gives up each attempt after {timeout:g} s and tries again, "
          f"{retries + 1} attempts at most")


# --------------------------------------------------------------------------- exercise 2


def _same_site_links(page_url: str, hrefs: list[str]) -> set[str]:
    """The absolute URLs, without fragments, of the hrefs that point into `page_url`'s site."""
    origin = urllib.parse.urlsplit(page_url)
    links = set()
    for href in hrefs:
        url, _fragment = urllib.parse.urldefrag(urllib.parse.urljoin(page_url, href))
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == origin.scheme and parts.netloc == origin.netloc:
            links.add(url)
    return links



@student_facing
def check_extract_links(extract_links: Callable, pages: list[Page], origin: str = "http://127.0.0.1:8000") -> None:
    """extract_links runs find_links in the process pool, and keeps the site's own links, absolute, no fragments."""
    probe = CallProbe(find_links)
    documents = {origin + page.path: render(page, origin) for page in pages}

    async def extract_all(pool: ProcessPoolExecutor) -> list[Any]:
        return await asyncio.gather(*(extract_links(pool, probe, url, text) for url, text in documents.items()))

    with ProcessPoolExecutor(max_workers=2) as pool:
        report = run(extract_all, pool, name="extract_links")
    _assert_ran(report)
    assert_no_exception(report)
    assert_no_leaked_tasks(report)
    assert_no_leaked_resources(report)
    for (url, text), links in zip(documents.items(), report.result):
        expected = _same_site_links(url, find_links(text))
        if not isinstance(links, (set, frozenset)) or links != expected:
            missing = sorted(expected - set(links)) if isinstance(links, (set, frozenset, list)) else []
            extra = sorted(set(links) - expected) if isinstance(links, (set, frozenset, list)) else []
            detail = (f"\n  missing: {missing[:4]}" if missing else "") + (f"\n  not wanted: {extra[:4]}" if extra else "")
            _fail(errors.WrongResult,
                  f"extract_links returned {links!r:.200} for {url}; expected the set {sorted(expected)!r:.300}.{detail}\n"
                  "Resolve each href against the page's URL (urljoin), drop the fragment (urldefrag), and keep only "
                  "URLs with the page's scheme and host:port (urlsplit).")
    assert_ran_in_processes(report, probe, min_processes=1, expected_calls=len(documents))
    print(f"passed: extract_links parses {len(documents)} pages in worker processes and keeps "
          f"{sum(map(len, report.result))} links of the site")


# --------------------------------------------------------------------------- exercise 3


@dataclass
class _CrawlProbe:
    """The check's own fetch and extract for `crawl`, recording what the crawl asked for and when."""

    session: aiohttp.ClientSession
    loop: asyncio.AbstractEventLoop
    fetches: list[tuple[str, float]] = field(default_factory=list)
    discovered: dict[str, float] = field(default_factory=dict)
    in_flight: list[tuple[float, int]] = field(default_factory=list)  # (loop time, fetches in flight)
    running: int = 0

    async def fetch(self, url: str) -> str:
        self.fetches.append((url, self.loop.time()))
        self.running += 1
        self.in_flight.append((self.loop.time(), self.running))
        try:
            async with self.session.get(url) as response:
                response.raise_for_status()
                return await response.text()
        finally:
            self.running -= 1
            self.in_flight.append((self.loop.time(), self.running))

    async def extract(self, url: str, text: str) -> set[str]:
        links = _same_site_links(url, find_links(text))
        for link in links:
            self.discovered.setdefault(link, self.loop.time())
        return links

    def running_at(self, moment: float) -> int:
        """Fetches in flight just after `moment` (every change made at that moment applied)."""
        count = 0
        for when, running in self.in_flight:
            if when <= moment + _SLACK:
                count = running
        return count


def _crawl_run(crawl: Callable, pages: int, seed: int, limit: int) -> tuple[Report, _Served, _CrawlProbe, SiteMap]:
    """Crawl a generated site with the check's fetch and extract; the run passed the common gates."""
    site_map = generate_site(pages, seed=seed, flaky=0, stalled=0)
    probes: list[_CrawlProbe] = []

    async def call(site: RunningSite) -> Any:
        async with aiohttp.ClientSession() as session:
            probe = _CrawlProbe(session, asyncio.get_running_loop())
            probes.append(probe)
            probe.discovered[site.url + "/"] = 0.0
            return await crawl(site.url + "/", probe.fetch, probe.extract, limit)

    report, served = _run_on_site("crawl", site_map, call)
    _assert_ran(report)
    assert_no_exception(report)
    assert_no_leaked_resources(report)
    return report, served, probes[0], site_map


def _assert_found(report: Report, expected: Crawl) -> None:
    result = report.result
    if not (isinstance(result, tuple) and len(result) == 2):
        _fail(errors.WrongResult, f"crawl returned {result!r:.150}; return a pair of sets: `return found, failed`.")
    found, failed = (set(part) for part in result)
    for name, got, wanted in (("found", found, expected.found), ("failed", failed, expected.failed)):
        if got != wanted:
            missing, extra = sorted(wanted - got), sorted(got - wanted)
            _fail(errors.WrongResult,
                  f"crawl's `{name}` set is wrong: {len(got)} URLs where {len(wanted)} are expected."
                  + (f"\n  missing: {missing[:4]}" if missing else "") + (f"\n  not wanted: {extra[:4]}" if extra else "")
                  + "\nFollow every link that extract returns, from the root on; a URL whose fetch raised goes in "
                    "`failed` (and its links are unknown), every other fetched URL in `found`.")


@student_facing
def check_crawl_finds_every_page(crawl: Callable, *, pages: int = 30, seed: int = 0, limit: int = 4) -> None:
    """crawl finds every page of the site once, puts the failures apart, and leaves no task behind."""
    report, served, probe, site_map = _crawl_run(crawl, pages, seed, limit)
    _assert_found(report, expected_crawl(site_map, served.site.url))
    counts: dict[str, int] = {}
    for url, _ in probe.fetches:
        counts[url] = counts.get(url, 0) + 1
    again = sorted(url for url, n in counts.items() if n > 1)
    if again:
        _fail(errors.WrongResult,
              f"crawl fetched {again[0]} {counts[again[0]]} times ({len(again)} URLs more than once). The site's "
              "links loop back; remember every URL you have queued (a set) and skip those you have seen.")
    assert_no_leaked_tasks(report)
    print(f"passed: crawl finds {len(report.result[0])} pages and {len(report.result[1])} failures, "
          f"each fetched once ({report.loop_time:g} s of loop time)")


@student_facing
def check_crawl_keeps_to_the_limit(crawl: Callable, *, pages: int = 30, seed: int = 0, limit: int = 4) -> None:
    """At most `limit` fetches at once (counted by the server), and always `limit` while URLs wait."""
    report, served, probe, site_map = _crawl_run(crawl, pages, seed, limit)
    assert_no_leaked_tasks(report)
    if served.site.peak_in_flight > limit:
        _fail(errors.TooManyInFlight,
              f"crawl had {served.site.peak_in_flight} requests in flight at once (the server counted them); the limit "
              f"is {limit}. Hold a slot while each fetch runs: `async with semaphore:` with "
              f"`asyncio.Semaphore(limit)`, or exactly `limit` worker tasks taking URLs from a queue.")
    started = {url: when for url, when in reversed(probe.fetches)}  # first fetch of each URL
    for url, known in sorted(probe.discovered.items(), key=lambda item: item[1]):
        if url not in started:
            continue
        idle = [when for when, _ in probe.in_flight if known - _SLACK <= when < started[url] - _SLACK
                and probe.running_at(when) < limit]
        if started[url] > known + _SLACK and (probe.running_at(known) < limit or idle):
            moment = known if probe.running_at(known) < limit else idle[0]
            _fail(errors.NotConcurrent,
                  f"crawl let {url} wait from {known:.2f} s to {started[url]:.2f} s of loop time although only "
                  f"{probe.running_at(moment)} of its {limit} fetches were running at {moment:.2f} s. Start a "
                  "URL's fetch as soon as it is known and a slot is free (one task per URL under a semaphore, "
                  "or workers that take URLs from a queue), not level by level.")
    total = sum(r.end - r.start for r in served.requests if r.end is not None)
    longest = max(page.latency for page in site_map.values())
    bound = total / limit + _depth(site_map) * longest
    if report.loop_time > bound + _SLACK:
        _fail(errors.TookTooLong,
              f"crawl took {report.loop_time:.2f} s of loop time; {total:g} s of requests shared by {limit} "
              f"fetches at a time take at most {bound:g} s. Wait only for fetches, never for a fixed time.")
    print(f"passed: crawl keeps at most {limit} requests in flight and uses all {limit}: "
          f"{report.loop_time:g} s of loop time for {total:g} s of requests")


def _depth(site_map: SiteMap) -> int:
    """The number of link levels of the site, counted from "/" (1 for the root alone)."""
    level, seen, depth = ["/"], {"/"}, 0
    while level:
        depth += 1
        following = []
        for path in level:
            page = site_map.get(path)
            for link in page.links if page and page.status == 200 and not page.fail_first else ():
                if link not in seen:
                    seen.add(link)
                    following.append(link)
        level = following
    return depth


# --------------------------------------------------------------------------- exercise 4


@dataclass
class _ProgressRecord:
    """Every call a crawl made on its progress bars, with the loop time."""

    updates: list[tuple[float, str, float]] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)


def _recording_bars():
    """A `course.widgets.ProgressBars` that displays nothing and records every call."""
    from course.widgets import ProgressBars

    record = _ProgressRecord()

    class RecordingBars(ProgressBars):
        def update(self, label, fraction):  # type: ignore[override]
            super().update(label, fraction)
            record.updates.append((asyncio.get_running_loop().time(), label, float(fraction)))
            record.states[label] = "running"

        def done(self, label):  # type: ignore[override]
            super().done(label)
            record.states[label] = "done"

        def cancelled(self, label):  # type: ignore[override]
            super().cancelled(label)
            record.states[label] = "cancelled"

        def fail(self, label, error=None):  # type: ignore[override]
            super().fail(label, error)
            record.states[label] = "failed"

    return RecordingBars(display=False), record


def _pool_processes() -> set[int]:
    return {process.pid for process in multiprocessing.active_children()}


def _site_run(crawl_site: Callable, site_map: SiteMap, limit: int, **run_options: Any):
    bars, record = _recording_bars()
    before = _pool_processes()
    left: set[int] = set()

    async def call(site: RunningSite) -> Any:
        try:
            return await crawl_site(site.url + "/", limit, bars)
        finally:
            left.update(_pool_processes() - before)

    report, served = _run_on_site("crawl_site", site_map, call, **run_options)
    return report, served, record, left


def _assert_closed(report: Report, served: _Served, processes: set[int], when: str) -> None:
    """No pool process, client session, connection or request of the crawl outlived it."""
    if processes:
        _fail(errors.ResourceLeaked,
              f"crawl_site {when} while {len(processes)} worker process(es) of its pool were still running. "
              "Create the ProcessPoolExecutor in a `with` block around the crawl: leaving the block shuts the pool "
              "down and waits for its processes.")
    unclosed = [text for text in report.open_resources if text.startswith(("Unclosed client session", "Unclosed connector"))]
    if unclosed or served.open_connections:
        what = "left its aiohttp.ClientSession unclosed" if unclosed \
            else f"left {served.open_connections} connection(s) to the site open"
        _fail(errors.ResourceLeaked,
              f"crawl_site {when} but {what}. Create the session in an `async with aiohttp.ClientSession() as "
              "session:` block around the whole crawl, so it closes its connections however the crawl ends.")
    if served.in_flight:
        _fail(errors.TaskLeaked,
              f"crawl_site {when} while the server was still answering {served.in_flight} of its requests: "
              "cancel every fetch still running and wait for it before returning (a TaskGroup does both).")


@student_facing
def check_crawl_site(crawl_site: Callable, *, pages: int = 20, seed: int = 0, limit: int = 4) -> None:
    """crawl_site finds the pages, moves its bar after each page, ends it done, and closes everything."""
    site_map = generate_site(pages, seed=seed, flaky=0, stalled=0)
    report, served, record, processes = _site_run(crawl_site, site_map, limit)
    _assert_ran(report)
    if report.exception is not None:
        assert_no_exception(report)
    result = report.result
    if not (isinstance(result, tuple) and len(result) == 2 and all(isinstance(part, set) for part in result)):
        _fail(errors.WrongResult, f"crawl_site returned {result!r:.150}; return what crawl returns, the pair of "
                                  "sets `(found, failed)`.")
    assert_no_leaked_tasks(report)
    _assert_closed(report, served, processes, "returned")
    assert_no_exception(report)
    fetched = len(result[0]) + len(result[1])
    moves = [u for u in record.updates if u[1] == "pages"]
    if len(moves) < fetched:
        _fail(errors.WrongResult,
              f"crawl_site updated the bar \"pages\" {len(moves)} time(s) for {fetched} pages fetched or failed; "
              "call `bars.update(\"pages\", fetched / known)` after every page, so the bar moves as the crawl goes.")
    if record.states.get("pages") != "done":
        _fail(errors.WrongResult,
              f"crawl_site left the bar \"pages\" {record.states.get('pages', 'untouched')}; call "
              "`bars.done(\"pages\")` when the crawl has finished.")
    print(f"passed: crawl_site finds {len(result[0])} pages, moves its bar {len(moves)} times, "
          "and closes its connections and its pool")


@student_facing
def check_crawl_site_cancels(crawl_site: Callable, *, pages: int = 20, seed: int = 0, limit: int = 4,
                             cancel_after: float = 2.5) -> None:
    """Cancelled mid-crawl, crawl_site lets CancelledError through, marks its bar cancelled, closes everything."""
    site_map = generate_site(pages, seed=seed, flaky=0, stalled=0)
    report, served, record, processes = _site_run(crawl_site, site_map, limit, cancel_after=cancel_after)
    assert_not_tampered(report)
    assert_finished(report)
    assert_no_blocking(report)
    assert_all_awaited(report)
    if report.exception is not None and not report.was_cancelled:
        _fail(errors.StudentCodeRaised,
              f"crawl_site raised an exception when it was cancelled:\n{report.student_traceback()}")
    assert_cancelled_cleanly(report)
    assert_no_leaked_tasks(report)
    _assert_closed(report, served, processes, "was cancelled")
    if record.states.get("pages") != "cancelled":
        _fail(errors.WrongResult,
              f"crawl_site was cancelled but left the bar \"pages\" {record.states.get('pages', 'untouched')}: "
              "catch asyncio.CancelledError, call `bars.cancelled(\"pages\")`, then `raise` it again.")
    print(f"passed: crawl_site cancelled at {cancel_after:g} s of loop time stops every fetch, marks its bar "
          "cancelled, and leaves no task, connection or process behind")

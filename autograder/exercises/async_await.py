"""Checks for notebook 03, async and await: the student's coroutines run through `check` on
the autograder's private loop (virtual clock), named as the student wrote them.

A case of URLs is a list of URLs (each download takes the default 1 s) or a list of
`(url, latency)` pairs. A URL that contains "missing" fails with LookupError.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from autograder import errors
from autograder.checks import (
    assert_all_awaited,
    assert_finished,
    assert_finishes_within,
    assert_no_blocking,
    assert_no_exception,
    assert_no_leaked_tasks,
    assert_not_tampered,
    assert_peak_in_flight,
    check,
)
from autograder.errors import student_facing
from autograder.exercises.callbacks import Urls, _split, page
from autograder.report import Report
from autograder.runner import run
from course.handmade import Archive


def _requested(report: Report) -> list:
    return [call.key for call in report.calls if call.name == "download"]


def _ran(func: Callable, *args: Any, name: str) -> Report:
    """Run the student's coroutine and apply the checks every exercise shares (genuine
    libraries, finished, nothing blocked, nothing left unawaited); the result is left to the caller."""
    report = run(func, *args, name=name)
    assert_not_tampered(report)
    assert_finished(report)
    assert_no_blocking(report)
    assert_all_awaited(report)
    return report


def _first_difference(got: Any, expected: list, labels: list) -> str:
    """The first wrong entry of a returned list, for a message."""
    if not isinstance(got, list):
        return f"it returned {type(got).__name__} {got!r:.80}, not a list"
    if len(got) != len(expected):
        return f"it returned {len(got)} pages for {len(expected)} URLs"
    index = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
    where = f"urls[{index}] is {labels[index]!r}"
    if sorted(map(str, got)) == sorted(map(str, expected)):
        return (f"the pages are all there, but in the wrong order: entry {index} is {got[index]!r:.60} where {where}. "
                "Return them in the order of urls, not in the order they arrived")
    return f"entry {index} is {got[index]!r:.60} where {where}; expected {expected[index]!r}"


def _with_latencies(urls: list[str], latencies: list[float] | None) -> tuple:
    return (urls,) if latencies is None else (urls, latencies)


# --- Exercise 1: fetch_in_order ------------------------------------------------------------

@student_facing
def check_fetch_in_order(fetch_in_order: Callable, *cases: list[str]) -> None:
    """fetch_in_order downloads one URL at a time, in order, and returns the pages in order
    after len(urls) seconds of loop time, without blocking."""
    for urls in cases:
        report = check(fetch_in_order, list(urls), expected=[page(url) for url in urls], max_in_flight=1,
                       name="fetch_in_order")
        if _requested(report) != list(urls):
            raise errors.WrongResult(
                f"fetch_in_order requested {_requested(report)} for {list(urls)}: request each entry once, in order "
                "(a URL that appears twice is downloaded twice).")
        assert_finishes_within(report, len(urls), not_before=len(urls))
    print(f"passed: fetch_in_order awaits each page before the next ({len(cases)} cases)")


@student_facing
def check_fetch_in_order_failure(fetch_in_order: Callable, *cases: list[str]) -> None:
    """When a download fails, fetch_in_order lets its LookupError propagate at once and
    requests nothing more."""
    for urls in cases:
        report = check(fetch_in_order, list(urls), raises=LookupError, name="fetch_in_order")
        failing = next(i for i, url in enumerate(urls) if "missing" in url)
        if _requested(report) != list(urls[:failing + 1]):
            raise errors.WrongResult(
                f"fetch_in_order requested {_requested(report)} for {list(urls)}; after {urls[failing]!r} failed, "
                f"nothing more may be requested (expected {list(urls[:failing + 1])}): let the exception propagate.")
        if report.loop_time != failing + 1:
            raise errors.TookTooLong(
                f"fetch_in_order raised after {report.loop_time:g} s of loop time; the failing download ends at "
                f"{failing + 1} s.")
    print(f"passed: fetch_in_order stops at the first failure and raises it ({len(cases)} cases)")


# --- Exercise 2: fetch_all -----------------------------------------------------------------

@student_facing
def check_fetch_all(fetch_all: Callable, *cases: Urls) -> None:
    """fetch_all downloads every URL at once and returns the pages in the order of urls (not
    the order of arrival), in the time of the slowest download."""
    for case in cases:
        urls, latencies = _split(case)
        longest = max(latencies or [1.0]) if urls else 0.0
        report = _ran(fetch_all, *_with_latencies(urls, latencies), name="fetch_all")
        assert_no_exception(report)
        expected = [page(url) for url in urls]
        if report.result != expected:
            raise errors.WrongResult(f"fetch_all returned the wrong pages for {case!r:.100}: "
                                     f"{_first_difference(report.result, expected, urls)}.")
        assert_no_leaked_tasks(report)
        if sorted(_requested(report)) != sorted(urls):
            raise errors.WrongResult(
                f"fetch_all requested {sorted(_requested(report))} for {urls}: download each entry once per "
                "time it appears (the same URL twice is downloaded twice).")
        assert_peak_in_flight(report, at_least=len(urls))
        assert_finishes_within(report, longest)
    print(f"passed: fetch_all downloads everything at once, pages in URL order ({len(cases)} cases)")


# --- Exercise 3: fastest_pages -------------------------------------------------------------

@student_facing
def check_fastest_pages(fastest_pages: Callable, *cases: tuple[Sequence[tuple[str, float]], int]) -> None:
    """fastest_pages(requests, n) starts every download at once, returns the first n pages in
    the order they arrived as soon as the n-th arrives, and has cancelled and awaited the rest."""
    for requests, n in cases:
        requests = list(requests)
        by_arrival = sorted(requests, key=lambda request: request[1])[:n]
        nth = by_arrival[-1][1] if by_arrival else 0.0
        report = _ran(fastest_pages, requests, n, name="fastest_pages")
        assert_no_exception(report)
        expected = [page(url) for url, _ in by_arrival]
        if report.result != expected:
            raise errors.WrongResult(
                f"fastest_pages({requests}, n={n}) returned {report.result!r:.200}; expected the first {n} pages in "
                f"the order they arrived: {expected}.")
        if report.leaked_tasks and report.leaked_cancelled < len(report.leaked_tasks):
            raise errors.TaskLeaked(
                f"fastest_pages returned while {len(report.leaked_tasks)} downloads it no longer needed were still "
                "running. Cancel each of them (task.cancel()), then await them, for example with "
                "`await asyncio.gather(*tasks, return_exceptions=True)`, before you return.")
        assert_no_leaked_tasks(report)
        assert_finishes_within(report, nth, not_before=nth)
        if n:
            assert_peak_in_flight(report, at_least=len(requests))
    print(f"passed: fastest_pages returns the first pages in arrival order and stops the rest ({len(cases)} cases)")


# --- Exercise 4: download_report -----------------------------------------------------------

def _first_wrong(got: Any, expected: dict, what: str) -> str | None:
    if not isinstance(got, dict):
        return f"{what} is {type(got).__name__} {got!r:.80}; expected a dict"
    for url in sorted(set(got) | set(expected)):
        if url not in got:
            return f"{what} has no entry for {url!r}"
        if url not in expected:
            return f"{what} has an entry for {url!r}, which belongs in the other dict"
        if not expected[url](got[url]):
            return f"{what}[{url!r}] is {got[url]!r:.80}"
    return None


@student_facing
def check_download_report(download_report: Callable, *cases: Urls) -> None:
    """download_report downloads everything at once and returns (pages, failures): each URL's
    page, and each failed URL's exception object; one failure stops or hides nothing."""
    for case in cases:
        urls, latencies = _split(case)
        longest = max(latencies or [1.0]) if urls else 0.0
        report = _ran(download_report, *_with_latencies(urls, latencies), name="download_report")
        if isinstance(report.exception, LookupError):
            raise errors.StudentCodeRaised(
                f"download_report let the LookupError of a failed download escape (for {case!r:.100}): one "
                "failure must not stop the others. Collect each download's exception instead of letting it "
                "propagate (gather can return exceptions; a try/except around each download works too).")
        assert_no_exception(report)
        result = report.result
        if not (isinstance(result, tuple) and len(result) == 2):
            raise errors.WrongResult(
                f"download_report returned {result!r:.120}; expected a pair (pages, failures).")
        pages, failures = result
        expected_pages = {url: (lambda got, url=url: got == page(url)) for url in urls if "missing" not in url}
        expected_failures = {url: (lambda got: isinstance(got, LookupError)) for url in urls if "missing" in url}
        wrong = _first_wrong(pages, expected_pages, "pages") or _first_wrong(failures, expected_failures, "failures")
        if wrong:
            raise errors.WrongResult(
                f"download_report({case!r:.120}) returned a wrong report: {wrong}. pages maps each URL that "
                "downloaded to its page; failures maps each failed URL to the exception object its download "
                "raised (not a string); a slow download must not be cancelled or lost because another failed.")
        assert_no_leaked_tasks(report)
        assert_finishes_within(report, longest)
        assert_peak_in_flight(report, at_least=len(urls))
    print(f"passed: download_report sorts every outcome into pages and failures ({len(cases)} cases)")


# --- Exercise 5: archive_pages -------------------------------------------------------------

@student_facing
def check_archive_pages(archive_pages: Callable, *cases: tuple[list[str], float]) -> None:
    """archive_pages downloads and saves every page, everything overlapping, awaiting every
    save: 1 s plus one save's latency in all; it returns the number of pages saved."""
    for urls, save_latency in cases:
        archive = Archive(latency=save_latency)
        check(archive_pages, list(urls), archive, expected=len(urls), within=1.0 + save_latency if urls else 0.0,
              min_in_flight=len(urls), name="archive_pages")
        expected = {url: page(url) for url in urls}
        if archive.saved != expected:
            missing = [url for url in urls if url not in archive.saved]
            raise errors.WrongResult(
                f"archive_pages did not save every page: {missing[:5]} missing from archive.saved. Await each "
                "archive.save(url, page).")
    print(f"passed: archive_pages downloads and saves everything at once ({len(cases)} cases)")

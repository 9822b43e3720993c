"""Simulated services with latency, each with a blocking twin and a callback twin.

Every call is recorded (see `course.recording`) by the recorder of the event loop it runs
on, so lessons can draw timelines and the autograder can measure overlap.
The latency is scheduled with `loop.call_later`, never with `asyncio.sleep`, so it
follows whichever clock the loop keeps (the autograder's loop keeps a virtual one).
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable

from course.recording import (  # noqa: F401 (re-exported: lessons import them from here)
    BLOCKING_TWINS,
    CallRecord,
    Recorder,
    attach_recorder,
    blocking_recorder,
    blocking_twin,
    recorder_for,
)

DEFAULT_LATENCY = 1.0


def _page(url: str) -> str:
    return f"<html>{url}</html>"


def _page_or_error(url: str) -> str:
    """The simulated web: a URL containing "missing" is a 404, any other one a page."""
    if "missing" in url:
        raise LookupError(f"404 not found: {url}")
    return _page(url)


async def download(url: str, latency: float = DEFAULT_LATENCY) -> str:
    """Fetch `url` from the simulated web: `latency` seconds of loop time, never blocks.

    A URL that contains "missing" raises LookupError (a 404), after the same latency.
    """
    loop = asyncio.get_running_loop()
    recorder = recorder_for(loop)
    record = recorder.begin("download", url)
    ready = loop.create_future()
    timer = loop.call_later(latency, _resolve, ready)
    try:
        await ready
    finally:
        timer.cancel()
        recorder.end(record)
    return _page_or_error(url)


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


@blocking_twin("course.download_blocking()", "use `await course.download(url)`, its asyncio twin")
def download_blocking(url: str, latency: float = DEFAULT_LATENCY) -> str:
    """The blocking twin of `download`: holds the calling thread for `latency` seconds."""
    recorder = blocking_recorder()
    record = recorder.begin("download_blocking", url)
    try:
        time.sleep(latency)
    finally:
        recorder.end(record)
    return _page_or_error(url)


def download_with_callback(
    url: str,
    on_done: Callable[[str | None, Exception | None], None],
    latency: float = DEFAULT_LATENCY,
) -> None:
    """The callback twin of `download`: returns at once, later calls `on_done(page, None)`.

    A URL that contains "missing" fails: `on_done(None, LookupError(...))`.
    Must be called from code running on an event loop.
    """
    loop = asyncio.get_running_loop()
    recorder = recorder_for(loop)
    record = recorder.begin("download_with_callback", url)

    def finish() -> None:
        recorder.end(record)
        try:
            page = _page_or_error(url)
        except LookupError as error:
            on_done(None, error)
        else:
            on_done(page, None)

    loop.call_later(latency, finish)

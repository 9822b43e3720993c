"""Corpus cases for the checks of assignments 04 to 06 (`autograder.exercises`): good idioms and mistakes.

Registered into `autograder_cases.CASES` when that module loads (it imports every `*_cases.py`).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import zlib
from typing import Callable

import course
import course.cpu
from autograder.exercises import blocking as checks_05
from autograder.exercises import executors as checks_06
from autograder.exercises import timeouts_cancellation_limits as checks_04
from autograder_cases import case

SITE = {"home": ["news", "blog", "shop"], "news": ["today", "archive", "home"], "today": ["news"],
        "blog": ["archive", "post-1", "missing-post"], "shop": ["cart", "news", "faq"]}


def quietly(check_function: Callable, *args, **kwargs) -> None:
    """Run an assignment's check without its one-line "passed:" report (the corpus prints nothing)."""
    with contextlib.redirect_stdout(io.StringIO()):
        check_function(*args, **kwargs)


async def archive_connect_then_try(urls, db):
    conn = await db.connect()
    try:
        pages = await asyncio.gather(*(course.download(u) for u in urls))
        for url, page in zip(urls, pages):
            await conn.insert(url, page)
        return len(urls)
    finally:
        await conn.close()


@case()
def archive_cleans_up_whenever_cancelled():
    quietly(checks_04.check_archive_cancelled, archive_connect_then_try, ["a", "b", "c"], [0.05, 0.5])


async def archive_connect_inside_try(urls, db):
    try:
        conn = await db.connect()
        await asyncio.gather(*(course.download(u) for u in urls))
        return len(urls)
    finally:
        await conn.close()


@case("StudentCodeRaised", "UnboundLocalError")
def archive_unbound_connection_when_cancelled_while_connecting():
    quietly(checks_04.check_archive_cancelled, archive_connect_inside_try, ["a", "b"], [0.05])


async def crawl_with_stop_markers(start, links, workers):
    queue = asyncio.Queue()
    queued, pages = {start}, {}

    async def worker():
        while (url := await queue.get()) is not None:
            try:
                pages[url] = await course.download(url)
                for link in links.get(url, []):
                    if link not in queued:
                        queued.add(link)
                        queue.put_nowait(link)
            except LookupError:
                pass
            finally:
                queue.task_done()

    queue.put_nowait(start)
    async with asyncio.TaskGroup() as group:
        for _ in range(workers):
            group.create_task(worker())
        await queue.join()
        for _ in range(workers):
            queue.put_nowait(None)
    return pages


@case()
def crawl_stopped_with_markers():
    quietly(checks_04.check_crawl, crawl_with_stop_markers, "home", SITE, 3)


async def crawl_seen_after_download(start, links, workers):
    queue = asyncio.Queue()
    done, pages = set(), {}

    async def worker():
        while True:
            url = await queue.get()
            try:
                if url not in done:
                    pages[url] = await course.download(url)
                    done.add(url)
                    for link in links.get(url, []):
                        if link not in done:
                            queue.put_nowait(link)
            except LookupError:
                pass
            finally:
                queue.task_done()

    queue.put_nowait(start)
    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    await queue.join()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return pages


@case("WrongResult", "more than once")
def crawl_downloads_a_page_twice():
    quietly(checks_04.check_crawl, crawl_seen_after_download, "home", SITE, 3)


async def download_or_default_without_cancel(url, timeout, default):
    task = asyncio.create_task(course.download(url))
    done, _ = await asyncio.wait({task}, timeout=timeout)
    return task.result() if done else default


@case("TaskLeaked", "still running")
def timeout_leaves_the_download_running():
    quietly(checks_04.check_download_or_default, download_or_default_without_cancel, [("a", 0.5, "fallback")])


def _adler_step(a: int, b: int, byte: int) -> tuple[int, int]:
    a = (a + byte) % 65521
    return a, (b + a) % 65521


async def adler32_with_a_helper_per_byte(data):
    a, b = 1, 0
    for index, byte in enumerate(data):
        a, b = _adler_step(a, b, byte)
        if index % 10_000 == 9_999:
            await asyncio.sleep(0)
    return (b << 16) | a


@case()
def adler32_helper_function_yields_by_bytes():
    quietly(checks_05.check_adler32_cooperative, adler32_with_a_helper_per_byte, bytes(range(256)) * 400)


async def adler32_over_memoryview(data):
    view, checksum = memoryview(data), 1
    for start in range(0, len(view), 10_000):
        checksum = zlib.adler32(view[start:start + 10_000], checksum)
        await asyncio.sleep(0)
    return checksum


@case()
def adler32_memoryview_slices_yield():
    quietly(checks_05.check_adler32_cooperative, adler32_over_memoryview, bytes(range(256)) * 400)


async def adler32_every_50000_bytes(data):
    a, b = 1, 0
    for start in range(0, len(data), 50_000):
        for byte in data[start:start + 50_000]:
            a, b = _adler_step(a, b, byte)
        await asyncio.sleep(0)
    return (b << 16) | a


@case("LoopHeldTooLong", "50,000 bytes")
def adler32_yields_too_rarely():
    quietly(checks_05.check_adler32_cooperative, adler32_every_50000_bytes, bytes(range(256)) * 400)


def _append_line(path, line):
    with open(path, "a") as file:
        file.write(line + "\n")


async def save_pages_blocking_insert_in_thread(urls, db, log_path):
    async def save(url):
        page = await course.download(url, latency=0.2)
        await asyncio.sleep(0.1)
        await asyncio.to_thread(db.insert_blocking, url, page)
        await asyncio.to_thread(_append_line, log_path, url)
        return len(page)
    return await asyncio.gather(*(save(u) for u in urls))


@case("WrongResult", "blocking twin moved into a thread")
def blocking_twin_moved_into_a_thread():
    quietly(checks_05.check_save_pages, save_pages_blocking_insert_in_thread, _append_line, ["a", "b"])


async def fetch_with_pool_wrap_future(fetch, urls, workers):
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    try:
        return await asyncio.gather(*(asyncio.wrap_future(pool.submit(fetch, u)) for u in urls))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


@case()
def wrap_future_of_pool_submit():
    quietly(checks_06.check_fetch_with_pool, fetch_with_pool_wrap_future, ["a", "b", "c", "d"], 2)


async def fetch_with_pool_never_shut_down(fetch, urls, workers):
    loop = asyncio.get_running_loop()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    return await asyncio.gather(*(loop.run_in_executor(pool, fetch, u) for u in urls))


@case("ResourceLeaked", "without shutting its thread pool down")
def thread_pool_never_shut_down():
    quietly(checks_06.check_fetch_with_pool, fetch_with_pool_never_shut_down, ["a", "b", "c"], 3)


async def fetch_all_in_threads_task_group(fetch, urls):
    async def one(url):
        try:
            return await asyncio.to_thread(fetch, url)
        except LookupError as error:
            return error

    async with asyncio.TaskGroup() as group:
        tasks = {url: group.create_task(one(url)) for url in dict.fromkeys(urls)}
    return [tasks[url].result() for url in urls]


@case()
def threads_in_a_task_group_errors_as_objects():
    quietly(checks_06.check_fetch_all_in_threads, fetch_all_in_threads_task_group, ["a", "missing", "a", "b"])


async def fetch_all_in_threads_error_names(fetch, urls):
    distinct = list(dict.fromkeys(urls))
    results = await asyncio.gather(*(asyncio.to_thread(fetch, u) for u in distinct), return_exceptions=True)
    names = {u: type(r).__name__ if isinstance(r, Exception) else r for u, r in zip(distinct, results)}
    return [names[u] for u in urls]


@case("WrongResult", "exception object itself")
def errors_kept_as_type_names():
    quietly(checks_06.check_fetch_all_in_threads, fetch_all_in_threads_error_names, ["a", "missing"])


async def primes_wrap_future(count, limit, parts):
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        futures = [asyncio.wrap_future(pool.submit(count, piece)) for piece in course.cpu.chunks(limit, parts)]
        return sum(await asyncio.gather(*futures))


@case()
def process_pool_through_wrap_future():
    quietly(checks_06.check_count_primes_in_processes, primes_wrap_future, 30_001, 3)


async def primes_one_piece_at_a_time(count, limit, parts):
    loop = asyncio.get_running_loop()
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        pending = (loop.run_in_executor(pool, count, piece) for piece in course.cpu.chunks(limit, parts))
        return sum([await job for job in pending])


@case("RanSequentially", "one after another")
def processes_awaited_one_by_one():
    quietly(checks_06.check_count_primes_in_processes, primes_one_piece_at_a_time, 30_000, 2)


async def primes_pieces_by_hand(count, limit, parts):
    loop = asyncio.get_running_loop()
    size = limit // parts
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        return sum(await asyncio.gather(*(loop.run_in_executor(pool, count, range(i * size, (i + 1) * size))
                                          for i in range(parts))))


@case("WrongResult", "lose the last numbers")
def uneven_pieces_drop_the_remainder():
    quietly(checks_06.check_count_primes_in_processes, primes_pieces_by_hand, 100_004, 3)

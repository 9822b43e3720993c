"""Corpus cases for 09 Capstone: a crawler (`autograder.exercises.capstone_crawler`): other
correct designs of each exercise, and one case for each class of mistake the checks diagnose.

Registered into `autograder_cases.CASES` (loaded from there), graded the same ways.
"""
from __future__ import annotations

import asyncio
import urllib.parse

import aiohttp

import course.site
from autograder.exercises.capstone_crawler import (
    check_crawl_finds_every_page,
    check_crawl_keeps_to_the_limit,
    check_crawl_site,
    check_crawl_site_cancels,
    check_fetch_page_retries,
    check_fetch_page_timeouts,
)
from autograder_cases import case


async def crawl_with_workers(root, fetch, extract, limit):
    """`limit` workers take URLs from a queue; the queue's join says when the crawl is over."""
    found, failed, seen = set(), set(), {root}
    frontier: asyncio.Queue = asyncio.Queue()
    frontier.put_nowait(root)

    async def worker():
        while True:
            url = await frontier.get()
            try:
                page = await fetch(url)
                found.add(url)
                for link in await extract(url, page) - seen:
                    seen.add(link)
                    frontier.put_nowait(link)
            except Exception:
                failed.add(url)
            finally:
                frontier.task_done()

    workers = [asyncio.create_task(worker()) for _ in range(limit)]
    try:
        await frontier.join()
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return found, failed


@case()
def crawl_with_a_pool_of_workers():
    check_crawl_keeps_to_the_limit(crawl_with_workers, pages=30, seed=0, limit=4)


async def crawl_waiting_for_the_first(root, fetch, extract, limit):
    """The classic loop: start fetches up to the limit, wait for the first to finish, repeat."""
    found, failed, seen, frontier, running = set(), set(), {root}, [root], {}
    try:
        while frontier or running:
            while frontier and len(running) < limit:
                url = frontier.pop(0)
                running[asyncio.ensure_future(fetch(url))] = url
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                url = running.pop(task)
                if task.exception() is not None:
                    failed.add(url)
                    continue
                found.add(url)
                for link in await extract(url, task.result()) - seen:
                    seen.add(link)
                    frontier.append(link)
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    return found, failed


@case()
def crawl_with_asyncio_wait():
    check_crawl_finds_every_page(crawl_waiting_for_the_first, pages=30, seed=0, limit=4)
    check_crawl_keeps_to_the_limit(crawl_waiting_for_the_first, pages=25, seed=2, limit=2)


async def crawl_unlimited(root, fetch, extract, limit):
    found, failed, seen = set(), set(), {root}

    async def visit(url):
        try:
            page = await fetch(url)
        except Exception:
            failed.add(url)
            return
        found.add(url)
        for link in await extract(url, page) - seen:
            seen.add(link)
            group.create_task(visit(link))

    async with asyncio.TaskGroup() as group:
        group.create_task(visit(root))
    return found, failed


@case("TooManyInFlight", "requests in flight at once (the server counted them)")
def crawl_ignoring_the_limit():
    check_crawl_keeps_to_the_limit(crawl_unlimited, pages=30, seed=0, limit=4)


async def crawl_by_levels(root, fetch, extract, limit):
    found, failed, seen, level = set(), set(), {root}, [root]
    slots = asyncio.Semaphore(limit)

    async def visit(url):
        async with slots:
            try:
                page = await fetch(url)
            except Exception:
                failed.add(url)
                return set()
        found.add(url)
        return await extract(url, page)

    while level:
        following = []
        for links in await asyncio.gather(*(visit(url) for url in level)):
            following += [link for link in links - seen if not (link in seen or seen.add(link))]
        level = following
    return found, failed


@case("NotConcurrent", "as soon as it is known and a slot is free")
def crawl_level_by_level():
    check_crawl_keeps_to_the_limit(crawl_by_levels, pages=30, seed=0, limit=4)


async def crawl_forgetting_queued_urls(root, fetch, extract, limit):
    found, failed = set(), set()
    slots = asyncio.Semaphore(limit)

    async def visit(url):
        async with slots:
            try:
                page = await fetch(url)
            except Exception:
                failed.add(url)
                return
        found.add(url)
        for link in await extract(url, page) - found - failed:
            group.create_task(visit(link))

    async with asyncio.TaskGroup() as group:
        group.create_task(visit(root))
    return found, failed


@case("WrongResult", "skip those you have seen")
def crawl_fetching_pages_twice():
    check_crawl_finds_every_page(crawl_forgetting_queued_urls, pages=30, seed=0, limit=4)


async def fetch_page_without_timeout(session, url, *, timeout, retries, backoff):
    for attempt in range(retries + 1):
        async with session.get(url) as response:
            if response.status < 500 or attempt == retries:
                response.raise_for_status()
                return await response.text()
        await asyncio.sleep(backoff * 2 ** attempt)


@case("TookTooLong", "each attempt must give up after")
def fetch_page_ignoring_its_timeout():
    check_fetch_page_timeouts(fetch_page_without_timeout, timeout=2.0, retries=2, backoff=0.5)


async def fetch_page_with_aiohttp_timeout(session, url, *, timeout, retries, backoff):
    """aiohttp's own per-request timeout and a while loop: as good as asyncio.timeout."""
    attempt = 0
    while True:
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                response.raise_for_status()
                return await response.text()
        except aiohttp.ClientResponseError as error:
            if error.status < 500 or attempt == retries:
                raise
        except TimeoutError:
            if attempt == retries:
                raise
        await asyncio.sleep(backoff * 2 ** attempt)
        attempt += 1


@case()
def fetch_page_with_client_timeout():
    check_fetch_page_retries(fetch_page_with_aiohttp_timeout, retries=2, backoff=0.5)
    check_fetch_page_timeouts(fetch_page_with_aiohttp_timeout, timeout=2.0, retries=2, backoff=0.5)


async def fetch_page_retrying_at_once(session, url, *, timeout, retries, backoff):
    for attempt in range(retries + 1):
        async with asyncio.timeout(timeout):
            async with session.get(url) as response:
                if response.status < 500 or attempt == retries:
                    response.raise_for_status()
                    return await response.text()


@case("WrongResult", "the back-off asks for")
def fetch_page_without_back_off():
    check_fetch_page_retries(fetch_page_retrying_at_once, retries=2, backoff=0.5)


def _crawl_site_with(crawl, *, close_session: bool = True, mark_cancelled: bool = True):
    """A crawl_site around `crawl`: a plain fetch, links by the course's parser, a bar."""
    async def crawl_site(root, limit, bars):
        session = aiohttp.ClientSession()
        known, fetched = {root}, 0

        async def fetch(url):
            nonlocal fetched
            try:
                async with session.get(url) as response:
                    response.raise_for_status()
                    return await response.text()
            finally:
                fetched += 1
                bars.update("pages", fetched / len(known))

        async def extract(url, html):
            links = {urllib.parse.urldefrag(urllib.parse.urljoin(url, href)).url
                     for href in await asyncio.to_thread(course.site.find_links, html)}
            links = {link for link in links if link.startswith(root)}
            known.update(links)
            return links

        try:
            result = await crawl(root, fetch, extract, limit)
        except asyncio.CancelledError:
            if mark_cancelled:
                bars.cancelled("pages")
                raise
            return set(), set()
        finally:
            if close_session:
                await session.close()
        bars.done("pages")
        return result

    return crawl_site


@case()
def crawl_site_closing_its_session_in_finally():
    check_crawl_site(_crawl_site_with(crawl_with_workers), pages=20, seed=0, limit=4)
    check_crawl_site_cancels(_crawl_site_with(crawl_with_workers), pages=20, seed=0, limit=4)


@case("ResourceLeaked", "left its aiohttp.ClientSession unclosed")
def crawl_site_leaving_its_session_open():
    check_crawl_site(_crawl_site_with(crawl_with_workers, close_session=False), pages=20, seed=0, limit=4)


@case("CancelledErrorSwallowed", "caught CancelledError and carried on")
def crawl_site_swallowing_cancellation():
    check_crawl_site_cancels(_crawl_site_with(crawl_with_workers, mark_cancelled=False), pages=20, seed=0, limit=4)

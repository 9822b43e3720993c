"""A small web site to crawl, served on 127.0.0.1: generated pages, some slow, some failing.

The site is a map of paths to `Page`s, each with links (some looping back, some to pages that
do not exist, some to other sites), a latency, and a way to fail. `generate_site` makes one
from a seed; `serve_site` serves it with aiohttp on a free port of 127.0.0.1 for as long as its
`async with` block runs, on the running loop::

    site_map = generate_site(pages=30, seed=1)
    async with serve_site(site_map) as site:
        async with aiohttp.ClientSession() as session:
            async with session.get(site.url + "/") as response:
                html = await response.text()
    site.peak_in_flight, site.requests_for("/")      # what the server saw

Every wait on the server is an `asyncio.sleep`, so on the autograder's virtual clock a crawl of
the site costs simulated latency only. In a lesson, `SiteInThread` serves the same map from a
thread with its own event loop, started and stopped by a `with` block.

`expected_crawl` says which pages a correct crawler finds and which it cannot fetch.
"""
from __future__ import annotations

import asyncio
import contextlib
import html.parser
import random
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from course.services import CallRecord

HOST = "127.0.0.1"
#: How long a stalled request waits before it answers, in multiples of the site's latency.
STALL_FACTOR = 60.0
#: Links to other sites, which a crawler of this site must not follow. They name a host that is
#: not the site's ("localhost" is another name than "127.0.0.1") and a port where nothing listens,
#: so a crawler that follows one by mistake fails at once, without reaching any network.
EXTERNAL_LINKS = ("http://localhost:1/", "https://localhost:1/docs/asyncio.html",
                  "mailto:webmaster@localhost", "//localhost:1/style.css")


@dataclass(frozen=True)
class Page:
    """One page of the site, and how the server behaves when it is requested.

    `status` is what the page always answers once it answers (200, or 500 for a broken page);
    the first `fail_first` requests get a 503 instead (a flaky page), and the first
    `stall_first` requests wait `STALL_FACTOR` times the latency before answering (a stalled
    page: a client with a timeout gives up and tries again).
    """

    path: str
    links: tuple[str, ...] = ()
    latency: float = 1.0
    status: int = 200
    fail_first: int = 0
    stall_first: int = 0
    kind: str = "normal"  # normal, slow, broken, flaky or stalled (for pictures and messages)


SiteMap = dict[str, Page]


def generate_site(pages: int = 30, *, seed: int = 0, latency: float = 1.0, slow: int = 3, broken: int = 2,
                  flaky: int = 2, stalled: int = 1, missing: int = 2) -> SiteMap:
    """A site of `pages` pages ("/" and "/page/1"...), every one reachable from "/".

    Each page links to 1 to 4 others (back to "/" and to itself too: loops), plus external
    links; `slow` pages take 3x the `latency`, `broken` pages always answer 500, `flaky` ones
    answer 503 twice before working, `stalled` ones make their first request wait a long time,
    and `missing` links point to pages that do not exist (404). Same seed, same site.
    """
    rng = random.Random(seed)
    paths = ["/"] + [f"/page/{n}" for n in range(1, pages)]
    links: dict[str, list[str]] = {path: [] for path in paths}
    for index, path in enumerate(paths[1:], start=1):
        links[paths[rng.randrange(index)]].append(path)  # a parent before it: reachable from "/"
    for path in paths:
        for _ in range(rng.randint(0, 3)):
            links[path].append(rng.choice(paths))  # loops: back links, self links, repeats
    for number in range(missing):
        links[rng.choice(paths)].append(f"/gone/{number}")
    special = rng.sample(paths[1:], min(pages - 1, slow + broken + flaky + stalled))
    kinds = ["slow"] * slow + ["broken"] * broken + ["flaky"] * flaky + ["stalled"] * stalled
    kind_of = dict(zip(special, kinds))
    site = {}
    for path in paths:
        kind = kind_of.get(path, "normal")
        site[path] = Page(
            path=path,
            links=tuple(links[path]),
            latency=latency * (3 if kind == "slow" else 1),
            status=500 if kind == "broken" else 200,
            fail_first=2 if kind == "flaky" else 0,
            stall_first=1 if kind == "stalled" else 0,
            kind=kind,
        )
    return site


def render(page: Page, origin: str) -> str:
    """The HTML of `page` as served from `origin` ("http://127.0.0.1:PORT").

    Links are written the many ways real pages write them: absolute paths, paths relative to
    the page, full URLs, with fragments, and links to other sites.
    """
    rng = random.Random(page.path)
    anchors = []
    for number, target in enumerate(page.links):
        style = rng.randrange(4)
        if style == 1:
            href = f"{target}#part{number}"
        elif style == 2:
            href = origin + target
        elif style == 3 and page.path.startswith("/page/") and target.startswith("/page/"):
            href = target.removeprefix("/page/")  # relative to /page/N
        else:
            href = target
        anchors.append(f'<li><a href="{href}">link {number}</a></li>')
    for external in rng.sample(EXTERNAL_LINKS, 2):
        anchors.append(f'<li><a href="{external}">elsewhere</a></li>')
    return (f"<!doctype html>\n<html><head><title>{page.path}</title></head>\n<body><h1>{page.path}</h1>\n"
            f"<p>Some text, <a name=\"top\">an anchor without a link</a>.</p>\n<ul>\n" + "\n".join(anchors)
            + "\n</ul></body></html>\n")


class _LinkParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def find_links(page_html: str) -> list[str]:
    """Every `href` of the page's `<a>` tags, as written (relative, absolute, with fragments...).

    CPU work in pure Python: a crawler runs it in a process pool, away from its event loop.
    """
    parser = _LinkParser()
    parser.feed(page_html)
    parser.close()
    return parser.hrefs


@dataclass(frozen=True)
class Crawl:
    """What a crawl of a site finds: the URLs it fetched, and those it could not fetch."""

    found: frozenset[str]
    failed: frozenset[str]


def expected_crawl(site_map: SiteMap, origin: str, *, retries: int = 0, timeout: float | None = None) -> Crawl:
    """The pages a correct crawler starting at `origin + "/"` fetches, and those it cannot.

    A fetch that makes `retries` more attempts after a failure (503, 500, a timeout) gets flaky
    pages whose failures it outlasts, and stalled pages when it has a `timeout` shorter than the
    stall and a retry left; broken and missing pages fail whatever it does.
    """
    found, failed = set(), set()
    seen, queue = {"/"}, ["/"]
    while queue:
        path = queue.pop()
        page = site_map.get(path)
        if page is None or not _fetchable(page, retries, timeout):
            failed.add(origin + path)
            continue
        found.add(origin + path)
        for link in page.links:
            if link not in seen:
                seen.add(link)
                queue.append(link)
    return Crawl(frozenset(found), frozenset(failed))


def _fetchable(page: Page, retries: int, timeout: float | None) -> bool:
    if page.status != 200 or page.fail_first > retries:
        return False
    if timeout is not None and page.latency >= timeout:
        return False  # every attempt times out
    if page.stall_first and timeout is not None and timeout <= page.latency * STALL_FACTOR:
        return page.stall_first <= retries  # the stalled attempts time out, a later one works
    return True


@dataclass
class RequestRecord:
    """One request as the server saw it, in the serving loop's time."""

    path: str
    start: float
    end: float | None = None
    status: int | None = None  # None: the client went away before the answer


@dataclass
class RunningSite:
    """A site being served: its URL, and what the server has seen so far."""

    site_map: SiteMap
    port: int = 0
    requests: list[RequestRecord] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0
    _server: web.Server | None = None
    _handlers: set[asyncio.Task] = field(default_factory=set)

    @property
    def url(self) -> str:
        """The site's origin, "http://127.0.0.1:PORT" (the root page is `url + "/"`)."""
        return f"http://{HOST}:{self.port}"

    @property
    def open_connections(self) -> int:
        """Client connections the server still holds open."""
        return len(self._server.connections) if self._server is not None else 0

    def requests_for(self, path: str) -> list[RequestRecord]:
        """The requests made for `path`, in order."""
        return [record for record in self.requests if record.path == path]

    def calls(self) -> list[CallRecord]:
        """The requests as call records named by their outcome ("200", "404", "gave up"...), keyed
        by path: `course.plots.timeline(site.calls())` draws what the server saw."""
        return [CallRecord(str(r.status) if r.status else "client gave up", r.path, r.start, r.end)
                for r in self.requests]

    async def settle(self, rounds: int = 20) -> None:
        """Let the loop run a few rounds, so connections the clients closed are seen as closed."""
        for _ in range(rounds):
            if not self.open_connections and not self.in_flight:
                return
            await asyncio.sleep(0)

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        path = request.path
        attempt = len(self.requests_for(path)) + 1
        record = RequestRecord(path, loop.time())
        self.requests.append(record)
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            page = self.site_map.get(path)
            latency = page.latency if page else _default_latency(self.site_map)
            if page is not None and attempt <= page.stall_first:
                latency *= STALL_FACTOR
            await asyncio.sleep(latency)
            if page is None:
                record.status = 404
            elif attempt <= page.fail_first:
                record.status = 503
            else:
                record.status = page.status
            if record.status != 200:
                return web.Response(status=record.status, text=f"{record.status} for {path}\n")
            return web.Response(text=render(page, self.url), content_type="text/html")
        finally:
            record.end = loop.time()
            self.in_flight -= 1
            self._handlers.discard(handler)  # type: ignore[arg-type]


def _default_latency(site_map: SiteMap) -> float:
    return min((page.latency for page in site_map.values()), default=0.0)


@contextlib.asynccontextmanager
async def serve_site(site_map: SiteMap) -> AsyncIterator[RunningSite]:
    """Serve `site_map` on a free port of 127.0.0.1, on the running loop, until the block ends.

    A request whose client goes away (a timeout, a cancelled crawl) stops being served at once.
    On leaving the block the server stops answering the requests still in progress (their
    clients left them behind), then closes every connection.
    """
    site = RunningSite(site_map)
    server = web.Server(site._handle, handler_cancellation=True, access_log=None)
    site._server = server
    listener = await asyncio.get_running_loop().create_server(server, HOST, 0)
    site.port = listener.sockets[0].getsockname()[1]
    try:
        yield site
    finally:
        listener.close()
        unanswered = list(site._handlers)
        for handler in unanswered:
            handler.cancel()
        await asyncio.gather(*unanswered, return_exceptions=True)
        await server.shutdown(timeout=1.0)
        await listener.wait_closed()


async def until_idle(site: RunningSite, timeout: float = 2.0) -> bool:
    """From another thread's loop: wait until `site` holds no connection and no request.

    The server sees closed connections on its own loop, in its own time; this polls (real time)
    up to `timeout` seconds and says whether the site became idle.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while site.open_connections or site.in_flight:
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


class SiteInThread:
    """Serve a site from a thread of its own, with its own event loop (for lessons)::

        with SiteInThread(generate_site(latency=0.05)) as site:
            ... crawl site.url + "/" from the notebook's loop ...

    The server runs on real time; the block's end stops it and joins its thread.
    """

    def __init__(self, site_map: SiteMap) -> None:
        self.site_map = site_map
        self.site: RunningSite | None = None
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="course-site", daemon=True)

    def __enter__(self) -> RunningSite:
        self._thread.start()
        self._ready.wait()
        if self.site is None:
            self._thread.join()
            raise RuntimeError("the site could not start serving")
        return self.site

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)  # type: ignore[union-attr]
        self._thread.join()

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()
            self._ready.set()  # never leave __enter__ waiting, even if serving failed

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with serve_site(self.site_map) as site:
            self.site = site
            self._ready.set()
            await self._stop.wait()


# loses: crawl_site_reports_progress_and_closes_everything crawl_site_cancels_cleanly
async def crawl_site(root: str, limit: int, bars) -> tuple[set[str], set[str]]:
    """Never shuts its process pool down: its worker processes outlive the crawl."""
    known, done = {root}, 0
    pool = ProcessPoolExecutor(max_workers=2)
    try:
        async with aiohttp.ClientSession() as session:

            async def fetch(url):
                nonlocal done
                try:
                    return await fetch_page(session, url, timeout=TIMEOUT, retries=RETRIES, backoff=BACKOFF)
                finally:
                    done += 1
                    bars.update("pages", done / len(known))

            async def extract(url, html):
                links = await extract_links(pool, course.site.find_links, url, html)
                known.update(links)
                return links

            result = await crawl(root, fetch, extract, limit)
    except asyncio.CancelledError:
        bars.cancelled("pages")
        raise
    bars.done("pages")
    return result

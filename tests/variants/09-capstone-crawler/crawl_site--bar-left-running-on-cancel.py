# loses: crawl_site_cancels_cleanly
async def crawl_site(root: str, limit: int, bars) -> tuple[set[str], set[str]]:
    """Closes everything, but a cancelled crawl leaves its bar looking busy forever."""
    known, done = {root}, 0
    async with aiohttp.ClientSession() as session:
        with ProcessPoolExecutor(max_workers=2) as pool:

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
    bars.done("pages")
    return result

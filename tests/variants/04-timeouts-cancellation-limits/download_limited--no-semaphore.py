# loses: download_limited_respects_limit download_limited_stops_at_deadline
async def download_limited(urls: list[str], limit: int, deadline: float) -> list:
    """Starts every download at once: the limit is never applied."""
    pages = [None] * len(urls)

    async def one(index, url):
        pages[index] = await course.download(url)

    try:
        async with asyncio.timeout(deadline):
            await asyncio.gather(*(one(i, u) for i, u in enumerate(urls)))
    except TimeoutError:
        pass
    return pages

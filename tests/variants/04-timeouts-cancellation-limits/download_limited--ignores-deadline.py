# loses: download_limited_stops_at_deadline
async def download_limited(urls: list[str], limit: int, deadline: float) -> list:
    """Respects the limit but gives each download its own timeout, not the whole job."""
    semaphore = asyncio.Semaphore(limit)

    async def one(url):
        async with semaphore:
            try:
                return await asyncio.wait_for(course.download(url), deadline)
            except TimeoutError:
                return None

    return await asyncio.gather(*(one(u) for u in urls))

# loses: download_limited_respects_limit download_limited_stops_at_deadline
async def download_limited(urls: list[str], limit: int, deadline: float) -> list:
    semaphore = asyncio.Semaphore(limit)
    pages = [None] * len(urls)

    async def one(index, url):
        async with semaphore:
            pages[index] = course.download(url)

    try:
        async with asyncio.timeout(deadline):
            async with asyncio.TaskGroup() as group:
                for index, url in enumerate(urls):
                    group.create_task(one(index, url))
    except TimeoutError:
        pass
    return pages

# loses: fastest_pages_leaves_nothing_running
async def fastest_pages(requests: list[tuple[str, float]], n: int) -> list[str]:
    """Checks the count only after taking a page, so n=0 still waits for the first page and returns it."""
    tasks = [asyncio.create_task(course.download(url, latency=latency)) for url, latency in requests]
    pages = []
    try:
        for next_done in asyncio.as_completed(tasks):
            pages.append(await next_done)
            if len(pages) >= n:
                break
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return pages

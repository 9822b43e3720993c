# loses: fastest_pages_leaves_nothing_running
async def fastest_pages(requests: list[tuple[str, float]], n: int) -> list[str]:
    """Returns after the n-th page but never cancels the other downloads: they outlive the function."""
    tasks = [asyncio.create_task(course.download(url, latency=latency)) for url, latency in requests]
    pages = []
    if n > 0:
        for next_done in asyncio.as_completed(tasks):
            pages.append(await next_done)
            if len(pages) == n:
                break
    return pages

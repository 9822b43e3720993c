# loses: fetch_all_in_threads_runs_off_the_loop
async def fetch_all_in_threads(fetch, urls: list[str]) -> list[str]:
    """Each call in a thread, but each awaited before the next one starts."""
    pages = []
    for url in urls:
        pages.append(await asyncio.to_thread(fetch, url))
    return pages

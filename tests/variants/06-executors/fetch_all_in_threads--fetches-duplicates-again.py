# loses: fetch_all_in_threads_runs_off_the_loop
async def fetch_all_in_threads(fetch, urls: list[str]) -> list:
    """One call per entry of urls: a URL that appears twice is fetched twice."""
    return await asyncio.gather(*(asyncio.to_thread(fetch, url) for url in urls), return_exceptions=True)

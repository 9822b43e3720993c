# loses: fetch_all_in_threads_runs_off_the_loop
async def fetch_all_in_threads(fetch, urls: list[str]) -> list[str]:
    """Calls the blocking client directly, on the loop's thread."""
    async def one(url):
        return fetch(url)

    return await asyncio.gather(*(one(url) for url in urls))

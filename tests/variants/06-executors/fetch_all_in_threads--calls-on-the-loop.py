# loses: fetch_all_in_threads_runs_off_the_loop
async def fetch_all_in_threads(fetch, urls: list[str]) -> list:
    """Calls the blocking client directly, on the loop's thread."""
    async def one(url):
        return fetch(url)

    distinct = list(dict.fromkeys(urls))
    results = await asyncio.gather(*(one(url) for url in distinct), return_exceptions=True)
    by_url = dict(zip(distinct, results))
    return [by_url[url] for url in urls]

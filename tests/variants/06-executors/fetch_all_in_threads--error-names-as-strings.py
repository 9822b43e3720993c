# loses: fetch_all_in_threads_runs_off_the_loop
async def fetch_all_in_threads(fetch, urls: list[str]) -> list:
    """Keeps the name of each error instead of the exception itself."""
    distinct = list(dict.fromkeys(urls))
    results = await asyncio.gather(*(asyncio.to_thread(fetch, url) for url in distinct), return_exceptions=True)
    by_url = {url: type(r).__name__ if isinstance(r, Exception) else r for url, r in zip(distinct, results)}
    return [by_url[url] for url in urls]

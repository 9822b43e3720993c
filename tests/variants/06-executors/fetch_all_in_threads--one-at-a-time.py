# loses: fetch_all_in_threads_runs_off_the_loop
async def fetch_all_in_threads(fetch, urls: list[str]) -> list:
    """Each call in a thread, but each awaited before the next one starts."""
    by_url = {}
    for url in dict.fromkeys(urls):
        try:
            by_url[url] = await asyncio.to_thread(fetch, url)
        except LookupError as error:
            by_url[url] = error
    return [by_url[url] for url in urls]

# loses: fetch_all_in_threads_runs_off_the_loop
async def fetch_all_in_threads(fetch, urls: list[str]) -> list:
    """Collects the results in the order the calls finish, one per distinct URL."""
    async def one(url):
        try:
            return url, await asyncio.to_thread(fetch, url)
        except LookupError as error:
            return url, error

    finished = {}
    for next_done in asyncio.as_completed([one(url) for url in dict.fromkeys(urls)]):
        url, result = await next_done
        finished[url] = result
    return list(finished.values())

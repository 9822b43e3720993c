# loses: fetch_pages_reuses_one_session_within_limits
async def fetch_pages(base_url: str, paths: list[str], limit: int, timeout: float) -> dict:
    """A new session (and connection) for every request, the limit kept with a semaphore."""
    gate = asyncio.Semaphore(limit)

    async def fetch(path):
        async with gate, aiohttp.ClientSession() as session:
            try:
                async with session.get(base_url + path, timeout=aiohttp.ClientTimeout(sock_read=timeout)) as response:
                    response.raise_for_status()
                    return await response.text()
            except (TimeoutError, aiohttp.ClientResponseError) as error:
                return error

    distinct = list(dict.fromkeys(paths))
    return dict(zip(distinct, await asyncio.gather(*(fetch(path) for path in distinct))))

# loses: fetch_pages_reuses_one_session_within_limits
async def fetch_pages(base_url: str, paths: list[str], limit: int, timeout: float) -> dict:
    """A total timeout: requests queued for a connection run out of time before they are sent."""
    async def fetch(session, path):
        try:
            async with session.get(base_url + path, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                response.raise_for_status()
                return await response.text()
        except (TimeoutError, aiohttp.ClientResponseError) as error:
            return error

    distinct = list(dict.fromkeys(paths))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)) as session:
        return dict(zip(distinct, await asyncio.gather(*(fetch(session, path) for path in distinct))))

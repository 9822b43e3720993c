# loses: fetch_pages_reuses_one_session_within_limits
async def fetch_pages(base_url: str, paths: list[str], limit: int, timeout: float) -> dict:
    """One session, but with the default connector: up to 100 connections, not `limit`."""
    async def fetch(session, path):
        try:
            async with session.get(base_url + path, timeout=aiohttp.ClientTimeout(sock_read=timeout)) as response:
                response.raise_for_status()
                return await response.text()
        except (TimeoutError, aiohttp.ClientResponseError) as error:
            return error

    distinct = list(dict.fromkeys(paths))
    async with aiohttp.ClientSession() as session:
        return dict(zip(distinct, await asyncio.gather(*(fetch(session, path) for path in distinct))))

# loses: fetch_pages_reuses_one_session_within_limits
async def fetch_pages(base_url: str, paths: list[str], limit: int, timeout: float) -> dict:
    """Returns the body of error responses too: never checks the status."""
    async def fetch(session, path):
        try:
            async with session.get(base_url + path, timeout=aiohttp.ClientTimeout(sock_read=timeout)) as response:
                return await response.text()
        except TimeoutError as error:
            return error

    distinct = list(dict.fromkeys(paths))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)) as session:
        return dict(zip(distinct, await asyncio.gather(*(fetch(session, path) for path in distinct))))

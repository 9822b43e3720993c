# loses: fetch_page_retries_with_back_off
async def fetch_page(session, url: str, *, timeout: float, retries: int, backoff: float) -> str:
    """Retries every failure, a 404 too, although asking again gives the same answer."""
    for attempt in range(retries + 1):
        try:
            async with asyncio.timeout(timeout):
                async with session.get(url) as response:
                    response.raise_for_status()
                    return await response.text()
        except (TimeoutError, aiohttp.ClientError):
            if attempt == retries:
                raise
        await asyncio.sleep(backoff * 2 ** attempt)

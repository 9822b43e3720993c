# loses: fetch_page_retries_with_back_off
async def fetch_page(session, url: str, *, timeout: float, retries: int, backoff: float) -> str:
    """Retries at once, hammering a server that is already failing."""
    for attempt in range(retries + 1):
        try:
            async with asyncio.timeout(timeout):
                async with session.get(url) as response:
                    if response.status < 500 or attempt == retries:
                        response.raise_for_status()
                        return await response.text()
        except TimeoutError:
            if attempt == retries:
                raise

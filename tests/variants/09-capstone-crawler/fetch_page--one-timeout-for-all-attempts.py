# loses: fetch_page_times_out_each_attempt
async def fetch_page(session, url: str, *, timeout: float, retries: int, backoff: float) -> str:
    """One timeout around every attempt together: a stalled first attempt uses it all up."""
    async with asyncio.timeout(timeout):
        for attempt in range(retries + 1):
            async with session.get(url) as response:
                if response.status < 500 or attempt == retries:
                    response.raise_for_status()
                    return await response.text()
            await asyncio.sleep(backoff * 2 ** attempt)

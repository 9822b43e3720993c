# loses: fetch_page_times_out_each_attempt
async def fetch_page(session, url: str, *, timeout: float, retries: int, backoff: float) -> str:
    """Retries error answers but waits as long as the server likes for each one."""
    for attempt in range(retries + 1):
        async with session.get(url) as response:
            if response.status < 500 or attempt == retries:
                response.raise_for_status()
                return await response.text()
        await asyncio.sleep(backoff * 2 ** attempt)

# loses: fetch_with_pool_keeps_to_its_size
async def fetch_with_pool(fetch, urls: list[str], workers: int) -> list[str]:
    """Ignores `workers`: the loop's default pool runs as many calls at once as it has threads."""
    return await asyncio.gather(*(asyncio.to_thread(fetch, url) for url in urls))

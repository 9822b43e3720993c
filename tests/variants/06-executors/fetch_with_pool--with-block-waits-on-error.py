# loses: fetch_with_pool_keeps_to_its_size
async def fetch_with_pool(fetch, urls: list[str], workers: int) -> list[str]:
    """A `with` block: when a call fails, leaving it waits on the loop's thread for the calls still in the pool."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return await asyncio.gather(*(loop.run_in_executor(pool, fetch, url) for url in urls))

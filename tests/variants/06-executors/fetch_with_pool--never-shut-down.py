# loses: fetch_with_pool_keeps_to_its_size
async def fetch_with_pool(fetch, urls: list[str], workers: int) -> list[str]:
    """The right pool, but it is never shut down: its threads outlive the function."""
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=workers)
    return await asyncio.gather(*(loop.run_in_executor(pool, fetch, url) for url in urls))

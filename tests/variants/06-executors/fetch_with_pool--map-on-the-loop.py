# loses: fetch_with_pool_keeps_to_its_size
async def fetch_with_pool(fetch, urls: list[str], workers: int) -> list[str]:
    """pool.map submits every call, but reading its results waits on the loop's thread."""
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        return list(pool.map(fetch, urls))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)

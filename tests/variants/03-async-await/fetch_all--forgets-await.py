# loses: fetch_all_is_concurrent
async def fetch_all(urls: list[str]) -> list[str]:
    """Calls the coroutine function without awaiting: returns coroutine objects, downloads nothing."""
    return [course.download(url) for url in urls]

# loses: fetch_all_is_concurrent
async def fetch_all(urls: list[str], latencies: list[float] | None = None) -> list[str]:
    """Calls the coroutine function without awaiting: returns coroutine objects, downloads nothing."""
    latencies = latencies or [1.0] * len(urls)
    return [course.download(url, latency=latency) for url, latency in zip(urls, latencies)]

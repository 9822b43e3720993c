# loses: fetch_all_is_concurrent
async def fetch_all(urls: list[str], latencies: list[float] | None = None) -> list[str]:
    """Collects the pages with as_completed: all at once, but in the order they arrive, not in URL order."""
    latencies = latencies or [1.0] * len(urls)
    tasks = [asyncio.create_task(course.download(url, latency=latency)) for url, latency in zip(urls, latencies)]
    return [await next_done for next_done in asyncio.as_completed(tasks)]

# loses: fetch_all_is_concurrent
async def fetch_all(urls: list[str], latencies: list[float] | None = None) -> list[str]:
    """Awaits each download before starting the next: correct pages, ten times too slow."""
    latencies = latencies or [1.0] * len(urls)
    pages = []
    for url, latency in zip(urls, latencies):
        pages.append(await course.download(url, latency=latency))
    return pages

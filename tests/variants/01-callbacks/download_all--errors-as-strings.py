# loses: download_all_keeps_errors_in_place
def download_all(urls: list[str], on_all_done, latencies: list[float] | None = None) -> None:
    """Puts the name of a failed download's exception in its slot, a string, instead of the exception object."""
    results = [None] * len(urls)
    remaining = len(urls)
    if remaining == 0:
        asyncio.get_running_loop().call_soon(on_all_done, results)
        return

    def collect(index):
        def on_done(page, error):
            nonlocal remaining
            results[index] = page if error is None else type(error).__name__
            remaining -= 1
            if remaining == 0:
                on_all_done(results)
        return on_done

    for index, url in enumerate(urls):
        course.download_with_callback(url, collect(index), latency=1.0 if latencies is None else latencies[index])

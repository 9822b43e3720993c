# loses: download_all_calls_back_once download_all_keeps_errors_in_place
def download_all(urls: list[str], on_all_done, latencies: list[float] | None = None) -> None:
    """Starts each download from the callback of the previous one: sequential, not all at once."""
    results = []

    def start_next():
        if len(results) == len(urls):
            on_all_done(results)
            return
        index = len(results)
        latency = 1.0 if latencies is None else latencies[index]
        course.download_with_callback(urls[index], on_done, latency=latency)

    def on_done(page, error):
        results.append(page if error is None else error)
        start_next()

    asyncio.get_running_loop().call_soon(start_next)

# loses: download_all_calls_back_once download_all_keeps_errors_in_place
def download_all(urls: list[str], on_all_done, latencies: list[float] | None = None) -> None:
    """Never passes the latencies on: every download takes the default 1 s."""
    results = [None] * len(urls)
    remaining = len(urls)
    if remaining == 0:
        asyncio.get_running_loop().call_soon(on_all_done, results)
        return

    def collect(index):
        def on_done(page, error):
            nonlocal remaining
            results[index] = page if error is None else error
            remaining -= 1
            if remaining == 0:
                on_all_done(results)
        return on_done

    for index, url in enumerate(urls):
        course.download_with_callback(url, collect(index))

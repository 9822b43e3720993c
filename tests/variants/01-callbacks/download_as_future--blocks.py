# loses: download_as_future_resolves download_as_future_survives_cancellation
def download_as_future(url: str, latency: float = 1.0) -> asyncio.Future:
    """Waits for the page with the blocking twin, then returns a future that is already done."""
    future = asyncio.get_running_loop().create_future()
    try:
        future.set_result(course.download_blocking(url, latency=latency))
    except LookupError as error:
        future.set_exception(error)
    return future

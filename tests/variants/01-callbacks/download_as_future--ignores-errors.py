# loses: download_as_future_resolves
def download_as_future(url: str) -> asyncio.Future:
    """Never passes the error on: a missing page leaves the future with None."""
    future = asyncio.get_running_loop().create_future()
    course.download_with_callback(url, lambda page, error: future.set_result(page))
    return future

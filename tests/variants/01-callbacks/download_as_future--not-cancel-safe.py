# loses: download_as_future_survives_cancellation
def download_as_future(url: str, latency: float = 1.0) -> asyncio.Future:
    """Sets the result even when the caller has cancelled the future: InvalidStateError in the loop."""
    future = asyncio.get_running_loop().create_future()

    def on_done(page, error):
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(page)

    course.download_with_callback(url, on_done, latency=latency)
    return future

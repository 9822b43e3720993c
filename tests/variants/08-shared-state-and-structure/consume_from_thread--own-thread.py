# loses: consume_from_thread_hands_items_over_safely consume_from_thread_reports_the_producers_error
async def consume_from_thread(produce, handle) -> int:
    """Run produce(emit) in a thread of its own; handle every emitted item on the loop, in order."""
    loop = asyncio.get_running_loop()
    items = asyncio.Queue()
    finished = object()

    def emit(item):
        loop.call_soon_threadsafe(items.put_nowait, item)

    def run():
        try:
            produce(emit)
        finally:
            loop.call_soon_threadsafe(items.put_nowait, finished)

    threading.Thread(target=run).start()
    count = 0
    while (item := await items.get()) is not finished:
        await handle(item)
        count += 1
    return count

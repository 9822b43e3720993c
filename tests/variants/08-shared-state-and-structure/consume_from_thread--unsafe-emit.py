# loses: consume_from_thread_hands_items_over_safely consume_from_thread_reports_the_producers_error
async def consume_from_thread(produce, handle) -> int:
    """Run produce(emit) in a worker thread; handle every emitted item on the loop, in order."""
    loop = asyncio.get_running_loop()
    items = asyncio.Queue()
    finished = object()
    producing = loop.run_in_executor(None, produce, items.put_nowait)  # called from the thread
    producing.add_done_callback(lambda _: items.put_nowait(finished))
    count = 0
    while (item := await items.get()) is not finished:
        await handle(item)
        count += 1
    await producing
    return count

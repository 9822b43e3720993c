# loses: serve_until_stopped_drains_then_cancels
async def serve_until_stopped(handler, stop, ready, grace):
    """Drains and cancels right, but closes the server only at the very end: it keeps accepting."""
    running = set()
    finished = 0

    async def tracked(reader, writer):
        nonlocal finished
        running.add(asyncio.current_task())
        try:
            await handler(reader, writer)
            finished += 1
        finally:
            running.discard(asyncio.current_task())
            writer.close()

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    ready.set_result(server.sockets[0].getsockname()[1])
    await stop.wait()
    cancelled = 0
    if running:
        _done, pending = await asyncio.wait(set(running), timeout=grace)
        for task in pending:
            task.cancel()
        cancelled = len(pending)
        if pending:
            await asyncio.wait(pending)
    server.close()
    await server.wait_closed()
    return finished, cancelled

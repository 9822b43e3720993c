# loses: serve_until_stopped_drains_then_cancels
async def serve_until_stopped(handler, stop, ready, grace):
    """Cancels every running handler the moment stop is set: no grace period."""
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
    server.close()
    pending = set(running)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    await server.wait_closed()
    return finished, len(pending)

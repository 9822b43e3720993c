# loses: serve_until_stopped_drains_then_cancels
async def serve_until_stopped(handler, stop, ready, grace):
    """Waits for every handler however long it takes: the grace period is ignored."""
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
    if running:
        await asyncio.wait(set(running))
    await server.wait_closed()
    return finished, 0

# loses: handle_lookup_serves_clients_side_by_side
LOCK = None
async def handle_lookup(db, reader, writer) -> None:
    global LOCK
    if LOCK is None or LOCK._get_loop() is not asyncio.get_running_loop():
        LOCK = asyncio.Lock()
    name = await course.servers.read_request(reader)
    async with LOCK:
        profile = await db.get(name)
    await course.servers.send_reply(writer, f"{name}: {profile if profile is not None else 'unknown'}")

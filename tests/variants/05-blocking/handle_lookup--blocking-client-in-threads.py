# loses: handle_lookup_serves_clients_side_by_side
async def handle_lookup(db, reader, writer) -> None:
    """Moves the blocking twin into threads instead of using the asyncio client."""
    names = (await course.servers.read_request(reader)).split()
    profiles = await asyncio.gather(*(asyncio.to_thread(db.get_blocking, name) for name in names))
    await course.servers.send_reply(writer, "; ".join(
        f"{name}: {profile if profile is not None else 'unknown'}" for name, profile in zip(names, profiles)))

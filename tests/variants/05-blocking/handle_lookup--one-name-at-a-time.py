# loses: handle_lookup_serves_clients_side_by_side
async def handle_lookup(db, reader, writer) -> None:
    """Awaits each name's query before starting the next one."""
    names = (await course.servers.read_request(reader)).split()
    parts = []
    for name in names:
        profile = await db.get(name)
        parts.append(f"{name}: {profile if profile is not None else 'unknown'}")
    await course.servers.send_reply(writer, "; ".join(parts))
